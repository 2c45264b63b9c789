#!/usr/bin/python3
"""A gRPC client for grpc_echo_server.py, run inside a pod by the e2e tests.

  grpc_client.py --target HOST:PORT [--method say|stream|collect|chat] [--calls N]
                 [--concurrency C] [--timeout S] [--messages M] [--size B]

Makes N calls of weft.test.Echo/<method> on ONE channel (grpc.insecure_channel: one HTTP/2
connection), C of them in flight at a time, each with a deadline of S seconds:
  say      unary; the request is "call <i>" padded to B bytes (--size) when B is larger;
           issued with futures
  stream   server streaming: asks for M messages
  collect  client streaming: sends M messages of B bytes (at least 1)
  chat     bidi: M round trips (sends one message, waits for its echo, sends the next)
Streaming calls run on C threads (grpc has no futures for them).

Prints one JSON object and exits 0 even when calls fail (the test asserts on it):
  {"method", "calls", "ok", "failed", "by_pod": {pod: calls}, "by_peer": {ip: calls},
   "codes": {status name: calls}, "errors": [first few], "min_ms", "p50_ms", "p99_ms",
   "max_ms", "elapsed_s"}
streaming methods add "messages_per_call": [messages received (collect: the count the server
reported) for each call, in completion order].
A call is ok when its status is OK and its reply is right: say names a pod, stream delivers M
messages in order, collect's count is M, chat echoes all M messages; every message of a call
must name the same pod. by_pod/by_peer count ok calls; codes count every call (an OK status
with a wrong reply is "OK" in codes but not ok). Latencies cover every call.
"""
import argparse
import json
import queue
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "/weft.test.Echo/"
MAX_ERRORS = 5


class Results:
    """Per-call outcomes, filled from grpc's callback threads and the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.by_pod = {}
        self.by_peer = {}
        self.codes = {}
        self.errors = []
        self.latencies = []
        self.messages = []

    def add(self, code, latency_s, pod=None, peer=None, error=None, messages=None):
        with self.lock:
            self.codes[code.name] = self.codes.get(code.name, 0) + 1
            self.latencies.append(latency_s * 1000.0)
            if messages is not None:
                self.messages.append(messages)
            if error is None:
                self.ok += 1
                self.by_pod[pod] = self.by_pod.get(pod, 0) + 1
                if peer is not None:
                    self.by_peer[peer] = self.by_peer.get(peer, 0) + 1
            elif len(self.errors) < MAX_ERRORS:
                self.errors.append(error)

    def summary(self, args, elapsed):
        lat = sorted(self.latencies)

        def pct(p):
            return round(lat[int(p * (len(lat) - 1))], 3) if lat else None
        out = {"method": args.method, "calls": args.calls, "ok": self.ok,
               "failed": args.calls - self.ok, "by_pod": self.by_pod, "by_peer": self.by_peer,
               "codes": self.codes, "errors": self.errors,
               "min_ms": round(lat[0], 3) if lat else None, "p50_ms": pct(0.50),
               "p99_ms": pct(0.99), "max_ms": round(lat[-1], 3) if lat else None,
               "elapsed_s": round(elapsed, 3)}
        if args.method != "say":
            out["messages_per_call"] = self.messages
        return out


def _rpc_error(e):
    code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
    details = e.details() if hasattr(e, "details") else str(e)
    return code, f"{code.name}: {details}"


def _decode(raw):
    return json.loads(raw.decode())


def _one_pod(replies):
    pods = {r.get("pod") for r in replies}
    if len(pods) != 1 or None in pods:
        raise ValueError(f"messages of one call name pods {sorted(map(str, pods))}")
    return pods.pop()


def _payload(i, size):
    base = f"call {i}".encode()
    return base + b"x" * (size - len(base)) if size > len(base) else base


def _say(channel, args, results):
    say = channel.unary_unary(SERVICE + "Say")
    slots = threading.Semaphore(args.concurrency)
    all_done = threading.Event()
    pending = [args.calls]

    def finished(fut, i, start):
        latency = time.monotonic() - start
        try:
            code = fut.code()
            if code != grpc.StatusCode.OK:
                results.add(code, latency, error=f"{code.name}: {fut.details()}")
                return
            request = _payload(i, args.size).decode()
            try:
                reply = _decode(fut.result())
                if reply.get("echo") != request or not reply.get("pod"):
                    raise ValueError(f"reply {reply!r} to {request!r}")
                results.add(code, latency, pod=reply["pod"], peer=reply.get("peer"))
            except ValueError as e:
                results.add(code, latency, error=f"bad reply: {e}")
        except Exception as e:  # noqa: BLE001 - any surprise is one failed call
            results.add(grpc.StatusCode.UNKNOWN, latency, error=f"client: {e!r}")
        finally:
            slots.release()
            with results.lock:
                pending[0] -= 1
                if pending[0] == 0:
                    all_done.set()

    for i in range(args.calls):
        slots.acquire()
        start = time.monotonic()
        try:
            fut = say.future(_payload(i, args.size), timeout=args.timeout)
        except Exception as e:  # noqa: BLE001
            results.add(grpc.StatusCode.UNKNOWN, 0, error=f"client: {e!r}")
            slots.release()
            with results.lock:
                pending[0] -= 1
                if pending[0] == 0:
                    all_done.set()
            continue
        fut.add_done_callback(lambda f, i=i, start=start: finished(f, i, start))
    if args.calls:
        all_done.wait()


def _stream_call(channel, args):
    call = channel.unary_stream(SERVICE + "Stream")
    replies = [_decode(m) for m in call(_json({"count": args.messages}), timeout=args.timeout)]
    seqs = [r.get("seq") for r in replies]
    if seqs != list(range(args.messages)):
        raise ValueError(f"got {len(replies)} messages, want {args.messages} in order")
    return _one_pod(replies), None, len(replies)


def _collect_call(channel, args):
    call = channel.stream_unary(SERVICE + "Collect")
    size = max(1, args.size)
    reply = _decode(call(iter([b"m" * size] * args.messages), timeout=args.timeout))
    if reply.get("count") != args.messages or reply.get("bytes") != size * args.messages:
        raise ValueError(f"reply {reply!r}, want count {args.messages}")
    return _one_pod([reply]), reply.get("peer"), reply["count"]


def _chat_call(channel, args):
    call = channel.stream_stream(SERVICE + "Chat")
    answered = queue.Queue()
    sent = []

    def requests():
        # One message, then wait for its echo before the next: M real round trips.
        for i in range(args.messages):
            message = _payload(i, args.size)
            sent.append(message.decode())
            yield message
            try:
                answered.get(timeout=args.timeout)
            except queue.Empty:
                return

    replies = []
    for raw in call(requests(), timeout=args.timeout):
        replies.append(_decode(raw))
        answered.put(None)
    echoes = [r.get("echo") for r in replies]
    if len(replies) != args.messages or echoes != sent:
        wrong = [i for i, (got, want) in enumerate(zip(echoes, sent)) if got != want]
        raise ValueError(f"{len(replies)} echoes of {args.messages} messages, "
                         f"wrong ones at {wrong[:5]}")
    return _one_pod(replies), None, len(replies)


def _json(obj):
    return json.dumps(obj).encode()


def _streaming(channel, args, results, one_call):
    def run(_):
        start = time.monotonic()
        try:
            pod, peer, count = one_call(channel, args)
            results.add(grpc.StatusCode.OK, time.monotonic() - start, pod=pod, peer=peer,
                        messages=count)
        except grpc.RpcError as e:
            code, error = _rpc_error(e)
            results.add(code, time.monotonic() - start, error=error, messages=0)
        except ValueError as e:
            results.add(grpc.StatusCode.OK, time.monotonic() - start,
                        error=f"bad reply: {e}", messages=0)
        except Exception as e:  # noqa: BLE001 - any surprise is one failed call
            results.add(grpc.StatusCode.UNKNOWN, time.monotonic() - start,
                        error=f"client: {e!r}", messages=0)

    with futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(run, range(args.calls)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--method", choices=["say", "stream", "collect", "chat"],
                        default="say")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline per call (s)")
    parser.add_argument("--messages", type=int, default=100,
                        help="messages per streaming call")
    parser.add_argument("--size", type=int, default=0, help="request message bytes")
    args = parser.parse_args()
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    results = Results()
    # No proxy from the environment: the call must go where the pod dials. No client-side
    # retries: the tests judge what the mesh did, which grpc's own retries would cover up (and
    # grpc-c 29's retry filter traps with SIGILL on trailers that lack grpc-status, where
    # the call should end UNKNOWN).
    channel = grpc.insecure_channel(args.target, options=[("grpc.enable_http_proxy", 0),
                                                          ("grpc.enable_retries", 0)])
    start = time.monotonic()
    try:
        if args.method == "say":
            _say(channel, args, results)
        else:
            one_call = {"stream": _stream_call, "collect": _collect_call,
                        "chat": _chat_call}[args.method]
            _streaming(channel, args, results, one_call)
    finally:
        elapsed = time.monotonic() - start
        channel.close()
    json.dump(results.summary(args, elapsed), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
