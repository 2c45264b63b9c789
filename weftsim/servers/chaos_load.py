#!/usr/bin/python3
"""Bounded mixed load for the chaos soak (bench/run.sh chaos, issue 23), run inside a client
pod's netns. Every request's record goes to a file as it ends, so a 30-minute run keeps no
figures in memory that matter.

  chaos_load.py --seconds S --records FILE [--timeout T]
      [--http1 HOST:PORT --http1-rate R --http1-conns N]
      [--h2 HOST:PORT --h2-rate R --h2-concurrency C]
      [--grpc HOST:PORT --grpc-rate R --grpc-concurrency C]
      [--newconn HOST:PORT --newconn-rate R --newconn-workers W]
      [--bulk HOST:PORT --bulk-rate R --bulk-workers W --bulk-bytes B --bulk-timeout T]

Every kind runs at the same time, open loop (request i is due at start + i/R; never more than
the kind's connections, streams or workers in flight), for S seconds or until SIGUSR1:

  http1    HTTP/1.1 keep-alive GETs, N connections        } rollout_load.py's clients (its
  h2       HTTP/2 GETs, h2c, C streams on one connection  } docstring says what each retries
  grpc     gRPC unary calls (grpcio), C in flight          } and what counts as failed)
  newconn  HTTP/1.1 GET with `Connection: close` on a new TCP connection each: 200 with a JSON
           body naming the pod, read to the end, or failed
  bulk     a new TCP connection each to a server that speaks first (pod_server.py --mode
           banner: "hello from POD\\n"), then B bytes (1 MiB) sent while their echo is read and
           checked byte for byte, our half-close, the server's EOF. The banner names the pod
           the stream reached; a failure before it means no app was reached

None is retried (only what rollout_load.py's h2 and grpc clients allow: streams a GOAWAY did
not cover, grpc's transparent retry of the same). Each ended request appends one line to
--records, tab-separated:

  kind  start  end  ok(1|0)  pod (bulk: the banner's, else empty)  error (empty when ok)

start and end are CLOCK_MONOTONIC seconds (one clock for every netns of the machine, so the
harness compares them with its own event times). Prints "ready <t>" once each kind has ended
a first request (or after 15 s), and at the end one JSON object:
  {"started", "ended", "kinds": {kind: {"target", "rate", "sent", "ok", "failed"}},
   "hung": [kinds whose threads had not finished 30 s after every bound]}
"""
import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rollout_load  # noqa: E402  (sibling script: the HTTP/1.1, HTTP/2 and gRPC clients)
from stall_wire import get_request  # noqa: E402

KINDS = ("http1", "h2", "grpc", "newconn", "bulk")
CHUNK = 65536


class Recorder:
    """Appends one line per ended request to the records file (thread-safe)."""

    def __init__(self, path):
        self.f = open(path, "w", buffering=1 << 16)
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()

    def write(self, kind, start, end, ok, pod, error):
        error = (error or "").replace("\t", " ").replace("\n", " ")[:300]
        line = f"{kind}\t{start:.4f}\t{end:.4f}\t{1 if ok else 0}\t{pod or ''}\t{error}\n"
        with self.lock:
            self.f.write(line)
            if end - self.last_flush > 2:
                self.f.flush()
                self.last_flush = end

    def close(self):
        with self.lock:
            self.f.flush()
            self.f.close()


class Kind(rollout_load.Kind):
    """rollout_load's counters, each ended request also written to the records file."""

    def __init__(self, name, target, rate, recorder):
        super().__init__(name, target, rate)
        self.recorder = recorder

    def done(self, start, error=None, pod=None):
        end = time.monotonic()
        super().done(start, error)
        self.samples.clear()  # the records file keeps them; a long run must not grow here
        self.recorder.write(self.name, start, end, error is None, pod, error)

    def counts(self):
        with self.lock:
            return {"target": self.target, "rate": self.rate, "sent": self.sent, "ok": self.ok,
                    "failed": self.failed}


def _describe(e):
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return f"{type(e).__name__}: {e}"


# -- newconn ---------------------------------------------------------------------------------

def newconn_request(target, timeout):
    """One GET with Connection: close on a new connection; returns (pod, error)."""
    start = time.monotonic()
    deadline = start + timeout
    stage = "connect"
    try:
        sock = socket.create_connection(target, timeout=timeout)
    except OSError as e:
        return None, f"connect: {_describe(e)}"
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = rollout_load.Http1Conn(sock)
        stage = "request"
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.sendall(get_request(f"{target[0]}:{target[1]}", "chaos-load", close=True))
        stage = "response"
        status_line = conn._line(deadline)
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            return None, f"bad status line {status_line[:80]!r}"
        status = int(parts[1])
        length = 0
        while True:
            line = conn._line(deadline)
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = conn._exact(length, deadline)
        if status != 200:
            return None, f"status {status}: {body[:60].decode(errors='replace').strip()}"
        try:
            pod = json.loads(body).get("pod")
        except ValueError:
            pod = None
        if not pod:
            return None, f"bad body {body[:80]!r}"
        return pod, None
    except (OSError, EOFError, ValueError) as e:
        return None, f"{stage}: {_describe(e)}"
    finally:
        sock.close()


def run_newconn(kind, target, args, pacer):
    def worker():
        while pacer.take():
            start = time.monotonic()
            kind.issued()
            pod, error = newconn_request(target, args.timeout)
            kind.done(start, error, pod)
    return _start_threads(worker, args.newconn_workers)


# -- bulk ------------------------------------------------------------------------------------

def _pattern(size):
    block = bytes((i * 31 + (i >> 8) * 7) & 0xFF for i in range(65536))
    return (block * (size // len(block) + 1))[:size]


def bulk_transfer(target, payload, timeout):
    """One banner + echo transfer on a new connection; returns (pod, error)."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection(target, timeout=timeout)
    except OSError as e:
        return None, f"connect: {_describe(e)}"
    pod = None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        banner = b""
        while b"\n" not in banner:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                data = sock.recv(256)
            except OSError as e:
                return None, f"before the banner (no app reached): {_describe(e)}"
            if not data:
                return None, "before the banner (no app reached): EOF"
            banner += data
        line, _, rest = banner.partition(b"\n")
        if not line.startswith(b"hello from "):
            return None, f"bad banner {line[:80]!r}"
        pod = line[len(b"hello from "):].decode(errors="replace")
        view = memoryview(payload)
        sent = 0
        echoed = len(rest)
        if rest and rest != payload[:len(rest)]:
            return pod, "echo differs"
        half_closed = False
        sock.setblocking(False)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return pod, f"timeout ({sent} sent, {echoed} echoed)"
            want_write = sent < len(payload)
            r, w, _ = select.select([sock], [sock] if want_write else [], [], min(left, 1.0))
            if w:
                try:
                    sent += sock.send(view[sent:sent + CHUNK])
                except BlockingIOError:
                    pass
                except OSError as e:
                    return pod, f"send: {_describe(e)} ({sent} sent, {echoed} echoed)"
                if sent == len(payload) and not half_closed:
                    sock.shutdown(socket.SHUT_WR)
                    half_closed = True
            if r:
                try:
                    data = sock.recv(CHUNK * 4)
                except BlockingIOError:
                    continue
                except OSError as e:
                    return pod, f"recv: {_describe(e)} ({sent} sent, {echoed} echoed)"
                if not data:
                    if echoed == len(payload) and half_closed:
                        return pod, None
                    return pod, f"EOF with {echoed} of {len(payload)} echoed ({sent} sent)"
                if data != payload[echoed:echoed + len(data)] or echoed + len(data) > sent:
                    return pod, "echo differs"
                echoed += len(data)
    finally:
        sock.close()


def run_bulk(kind, target, args, pacer):
    payload = _pattern(args.bulk_bytes)

    def worker():
        while pacer.take():
            start = time.monotonic()
            kind.issued()
            pod, error = bulk_transfer(target, payload, args.bulk_timeout)
            kind.done(start, error, pod)
    return _start_threads(worker, args.bulk_workers)


def _start_threads(fn, n):
    threads = [threading.Thread(target=fn, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--timeout", type=float, default=10.0, help="per request (s)")
    for kind in KINDS:
        p.add_argument(f"--{kind}", type=rollout_load._addr)
        p.add_argument(f"--{kind}-rate", type=float, default=20)
    p.add_argument("--http1-conns", type=int, default=4)
    p.add_argument("--http1-path", default="/")
    p.add_argument("--h2-concurrency", type=int, default=4)
    p.add_argument("--h2-path", default="/")
    p.add_argument("--grpc-concurrency", type=int, default=4)
    p.add_argument("--grpc-no-transparent-retry", action="store_true")
    p.add_argument("--newconn-workers", type=int, default=4)
    p.add_argument("--bulk-workers", type=int, default=2)
    p.add_argument("--bulk-bytes", type=int, default=1 << 20)
    p.add_argument("--bulk-timeout", type=float, default=30.0)
    args = p.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    recorder = Recorder(args.records)
    started = time.monotonic()
    deadline = started + args.seconds
    kinds, threads = {}, []
    for name in KINDS:
        target = getattr(args, name)
        if target is None:
            continue
        rate = getattr(args, f"{name}_rate")
        if rate <= 0:
            p.error(f"--{name}-rate must be positive")
        kind = kinds[name] = Kind(name, target, rate, recorder)
        pacer = rollout_load.Pacer(rate, started, deadline, stop)
        if name == "http1":
            new = rollout_load.run_http1(kind, target, args, pacer)
        elif name == "h2":
            t = threading.Thread(target=rollout_load.run_h2,
                                 args=(kind, target, args, pacer, stop), daemon=True)
            t.start()
            new = [t]
        elif name == "grpc":
            new = rollout_load.run_grpc(kind, target, args, pacer)
        elif name == "newconn":
            new = run_newconn(kind, target, args, pacer)
        else:
            new = run_bulk(kind, target, args, pacer)
        threads += [(name, t) for t in new]

    ready_by = time.monotonic() + 15
    for k in kinds.values():
        k.first_done.wait(max(0.0, ready_by - time.monotonic()))
    print(f"ready {time.monotonic():.4f}", flush=True)

    stop.wait(max(0.0, deadline - time.monotonic()))
    limit = time.monotonic() + max(args.timeout, args.bulk_timeout) + 30
    for _, t in threads:
        t.join(max(0.0, limit - time.monotonic()))
    recorder.close()
    out = {"started": round(started, 4), "ended": round(time.monotonic(), 4),
           "kinds": {name: k.counts() for name, k in kinds.items()},
           "hung": sorted({name for name, t in threads if t.is_alive()})}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # a hung thread (daemon or grpc's own) must not keep the process


if __name__ == "__main__":
    main()
