#!/usr/bin/python3
"""The clients of the hardening bench (issue 23), run inside a pod's netns. Each raises its
RLIMIT_NOFILE soft limit to the hard one. Times are CLOCK_MONOTONIC seconds (one clock for
every netns, so the harness compares them with its own).

  hardening_client.py idle HOST PORT --mode tcp|http --connections N [--deadline S]
      Prints "ready", then on each SIGUSR1 alternately opens N connections and closes them.
      Open: N non-blocking connects (at most --in-flight at once), then on each either "ping\\n"
      echoed back (tcp; hardening_server.py --echo) or one HTTP/1.1 GET answered in full on a
      keep-alive connection (http); then the connection stays idle. Prints one JSON line:
        {"step": "open", "cycle", "opened", "ok", "failed", "errors": {reason: n}, "seconds"}
      Close: first counts the connections the other side already ended (readable: EOF, a reset
      or unexpected bytes), then closes every one (FIN). Prints:
        {"step": "close", "cycle", "closed", "ended_by_peer", "ended_how": {how: n}}
      SIGTERM ends it.

  hardening_client.py slow HOST PORT --connections C [--interval 5] [--seconds T] [--prefix N]
      Slowloris: C connections, each sending an HTTP/1.1 request head that never ends
      ("GET / HTTP/1.1\\r\\nHost: slow\\r\\n" then "X-Slow: a\\r\\n" lines, never the blank
      line) one byte every --interval seconds, the first one as soon as it is connected (with
      --prefix N, its first N bytes at once, e.g. 16: the request line).
      Prints "ready <connected>" once every connect finished, then runs T seconds
      (or until SIGUSR1) watching each connection: the other side's FIN, reset or bytes (e.g. a
      408) end it. Prints one JSON line:
        {"started", "connections", "connected", "connect_failed": {reason: n},
         "conns": [{"opened", "ended" (or null), "how", "response" (first line, if any),
                    "sent"}, ...], "open_at_end", "bytes_sent"}

  hardening_client.py probe [--http1 HOST:PORT] [--newconn HOST:PORT] [--tcp HOST:PORT]
                            [--rate R] [--timeout T] [--workers W] [--seconds S]
      Requests at a fixed rate per kind (open loop: request i of a kind is due at start + i/R
      and starts then, or as soon as one of the kind's W workers is free), each bounded by T
      seconds from its start, never retried:
        http1    HTTP/1.1 GET on the worker's keep-alive connection (opened when it has none;
                 one the server closed while idle is replaced before sending; any failure
                 closes it, so the next request opens a new one)
        newconn  a new TCP connection per request: GET with Connection: close, then close
        tcp      a new TCP connection per request: "ping\\n", its echo, then close
      Prints "ready" once each kind answered once (or after 10 s), then runs until SIGUSR1 or
      S seconds and prints one JSON line:
        {"started", "ended", "kinds": {kind: {"target", "rate", "sent", "ok", "failed",
                                              "outcomes": {outcome: n}, "connections"}},
         "samples": {kind: [[start, seconds, outcome], ...]}}
      Outcomes: ok, connect_timeout, timeout (connected, no full answer in time), refused,
      reset, eof (closed before a full answer), unreachable, status_N, error_<errno name>.
"""
import argparse
import errno
import json
import math
import resource
import select
import selectors
import signal
import socket
import sys
import threading
import time

from stall_wire import errno_reason, get_request, reason, response_done

PING = b"ping\n"


def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def _request(host, close=False):
    return get_request(host, "weft-hardening", close)


# -- idle ----------------------------------------------------------------------------------------

def _open_batch(host, port, mode, n, in_flight, deadline_s):
    """Opens n connections and completes one exchange on each; (open sockets, errors)."""
    sel = selectors.DefaultSelector()
    request = PING if mode == "tcp" else _request(host)
    done, errors, pending = [], {}, 0
    started = 0
    deadline = time.monotonic() + deadline_s

    def fail(sock, why):
        errors[why] = errors.get(why, 0) + 1
        try:
            sel.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    while len(done) + sum(errors.values()) < n:
        while started < n and pending < in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            started += 1
            if err not in (0, errno.EINPROGRESS):
                errors[errno_reason(err)] = errors.get(errno_reason(err), 0) + 1
                s.close()
                continue
            sel.register(s, selectors.EVENT_WRITE, {"state": "connect", "buf": b""})
            pending += 1
        if time.monotonic() > deadline:
            for key in list(sel.get_map().values()):
                fail(key.fileobj, "timeout")
            break
        for key, _mask in sel.select(timeout=0.5):
            s, st = key.fileobj, key.data
            if st["state"] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    pending -= 1
                    fail(s, errno_reason(err))
                    continue
                try:
                    s.send(request)
                except OSError as e:
                    pending -= 1
                    fail(s, reason(e))
                    continue
                st["state"] = "reply"
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                data = s.recv(65536)
            except OSError as e:
                pending -= 1
                fail(s, reason(e))
                continue
            if not data:
                pending -= 1
                fail(s, "eof")
                continue
            st["buf"] += data
            if mode == "tcp":
                complete, ok = len(st["buf"]) >= len(PING), st["buf"][:len(PING)] == PING
            else:
                complete, status, _close = response_done(st["buf"])
                ok = status == 200
            if complete:
                pending -= 1
                sel.unregister(s)
                if ok:
                    done.append(s)
                else:
                    fail(s, "bad_answer")
    sel.close()
    return done, errors


def _ended_by_peer(socks):
    """How many of socks the other side ended while idle: {how: n}."""
    out = {}
    for i in range(0, len(socks), 500):
        chunk = socks[i:i + 500]
        p = select.poll()
        for s in chunk:
            p.register(s, select.POLLIN | select.POLLERR | select.POLLHUP)
        for fd, _ev in p.poll(0):
            s = next(x for x in chunk if x.fileno() == fd)
            try:
                data = s.recv(4096, socket.MSG_DONTWAIT)
                how = "fin" if not data else "bytes"
            except BlockingIOError:
                continue
            except OSError as e:
                how = reason(e)
            out[how] = out.get(how, 0) + 1
    return out


def cmd_idle(args):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print("ready", flush=True)
    cycle = 0
    while True:
        signal.sigwait({signal.SIGUSR1})
        cycle += 1
        t0 = time.monotonic()
        socks, errors = _open_batch(args.host, args.port, args.mode, args.connections,
                                    args.in_flight, args.deadline)
        print(json.dumps({"step": "open", "cycle": cycle, "opened": args.connections,
                          "ok": len(socks), "failed": sum(errors.values()), "errors": errors,
                          "seconds": round(time.monotonic() - t0, 3)}), flush=True)
        signal.sigwait({signal.SIGUSR1})
        ended = _ended_by_peer(socks)
        for s in socks:
            s.close()
        print(json.dumps({"step": "close", "cycle": cycle, "closed": len(socks),
                          "ended_by_peer": sum(ended.values()), "ended_how": ended}),
              flush=True)


# -- slow ----------------------------------------------------------------------------------------

def _slow_head(prefix):
    """The head's chunks: its first `prefix` bytes at once, then one byte at a time."""
    def chars():
        yield from b"GET / HTTP/1.1\r\nHost: slow\r\n"
        while True:
            yield from b"X-Slow: a\r\n"
    it = chars()
    if prefix:
        yield bytes(next(it) for _ in range(prefix))
    for b in it:
        yield bytes([b])


def cmd_slow(args):
    stop = []
    signal.signal(signal.SIGUSR1, lambda *_: stop.append(1))
    started = time.monotonic()
    conns, connect_failed = [], {}
    sel = selectors.DefaultSelector()
    connecting = {}
    for _ in range(args.connections):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((args.host, args.port))
        if err not in (0, errno.EINPROGRESS):
            why = errno_reason(err)
            connect_failed[why] = connect_failed.get(why, 0) + 1
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE)
        connecting[s] = True
    deadline = time.monotonic() + 30
    while connecting and time.monotonic() < deadline:
        for key, _mask in sel.select(timeout=0.5):
            s = key.fileobj
            connecting.pop(s)
            sel.unregister(s)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                why = errno_reason(err)
                connect_failed[why] = connect_failed.get(why, 0) + 1
                s.close()
                continue
            now = time.monotonic()
            c = {"sock": s, "opened": now, "ended": None, "how": None, "response": None,
                 "sent": 0, "head": _slow_head(args.prefix),
                 "next": now}
            conns.append(c)
            sel.register(s, selectors.EVENT_READ, c)
    for s in connecting:
        connect_failed["timeout"] = connect_failed.get("timeout", 0) + 1
        s.close()
    print(f"ready {len(conns)}", flush=True)

    def end(c, how, response=None):
        c["ended"], c["how"], c["response"] = time.monotonic(), how, response
        try:
            sel.unregister(c["sock"])
        except (KeyError, ValueError):
            pass
        c["sock"].close()

    until = started + args.seconds
    while not stop and time.monotonic() < until:
        now = time.monotonic()
        live = [c for c in conns if c["ended"] is None]
        for c in live:
            if c["next"] <= now:
                try:
                    c["sent"] += c["sock"].send(next(c["head"]))
                except OSError as e:
                    end(c, f"send_{reason(e)}")
                    continue
                c["next"] += args.interval
        wake = min([c["next"] for c in conns if c["ended"] is None] + [until])
        try:
            events = sel.select(timeout=max(0.01, min(1.0, wake - time.monotonic())))
        except InterruptedError:
            continue
        for key, _mask in events:
            c = key.data
            try:
                data = c["sock"].recv(4096)
            except OSError as e:
                end(c, reason(e))
                continue
            if not data:
                end(c, "fin")
            else:
                first = data.split(b"\r\n", 1)[0].decode("latin-1")[:80]
                # Bytes from the other side (an error status): the connection counts as ended
                # by it; whatever follows (FIN) does not matter.
                end(c, "response", first)
    out = {"started": started, "connections": args.connections, "connected": len(conns),
           "connect_failed": connect_failed,
           "conns": [{"opened": c["opened"], "ended": c["ended"], "how": c["how"],
                      "response": c["response"], "sent": c["sent"]} for c in conns],
           "open_at_end": sum(1 for c in conns if c["ended"] is None),
           "bytes_sent": sum(c["sent"] for c in conns)}
    for c in conns:
        if c["ended"] is None:
            c["sock"].close()
    print(json.dumps(out), flush=True)


# -- probe ---------------------------------------------------------------------------------------

class Kind:
    def __init__(self, name, target, rate, workers, timeout):
        self.name = name
        self.target = target
        self.host, self.port = _hostport(target)
        self.rate = rate
        self.workers = workers
        self.timeout = timeout
        self.lock = threading.Lock()
        self.next_index = 0
        self.samples = []
        self.connections = 0
        self.first_ok = threading.Event()

    def ticket(self, t0, stop):
        """Waits for this worker's next due time; False once stopped."""
        with self.lock:
            i = self.next_index
            self.next_index += 1
        due = t0 + i / self.rate
        while not stop.is_set():
            left = due - time.monotonic()
            if left <= 0:
                return True
            stop.wait(min(left, 0.5))
        return False

    def record(self, start, outcome):
        dur = time.monotonic() - start
        with self.lock:
            self.samples.append([round(start, 4), round(dur, 4), outcome])
        if outcome == "ok":
            self.first_ok.set()


def _connect(kind, deadline):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(max(0.001, deadline - time.monotonic()))
    try:
        s.connect((kind.host, kind.port))
    except (socket.timeout, TimeoutError):
        s.close()
        raise ConnectTimeout() from None
    except OSError:
        s.close()
        raise
    with kind.lock:
        kind.connections += 1
    return s


class ConnectTimeout(Exception):
    pass


def _read_answer(s, deadline, complete):
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        s.settimeout(left)
        data = s.recv(65536)
        if not data:
            raise EOFError()
        buf += data
        r = complete(buf)
        if r is not None:
            return r


def _exchange(kind, s, deadline, request, mode):
    s.settimeout(max(0.001, deadline - time.monotonic()))
    s.sendall(request)
    if mode == "tcp":
        return _read_answer(s, deadline, lambda b: (b[:len(PING)] == PING, False)
                            if len(b) >= len(PING) else None)

    def http_done(buf):
        complete, status, close = response_done(buf)
        if not complete:
            return None
        return (status, close)
    status, close = _read_answer(s, deadline, http_done)
    return status, close


def _outcome(exc):
    if isinstance(exc, ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, EOFError):
        return "eof"
    return reason(exc)


def _peer_closed(s):
    """Whether the server ended an idle keep-alive connection (a peek, never blocking: with a
    timeout set, Python's recv would first wait for data)."""
    s.setblocking(False)
    try:
        data = s.recv(1, socket.MSG_PEEK)
        return not data
    except BlockingIOError:
        return False
    except OSError:
        return True


def _worker(kind, t0, stop):
    conn = None
    request = _request(kind.host)
    close_request = _request(kind.host, close=True)
    while kind.ticket(t0, stop):
        start = time.monotonic()
        deadline = start + kind.timeout
        try:
            if kind.name == "http1":
                if conn is not None and _peer_closed(conn):
                    conn.close()
                    conn = None
                if conn is None:
                    conn = _connect(kind, deadline)
                status, close = _exchange(kind, conn, deadline, request, "http")
                if close:
                    conn.close()
                    conn = None
                outcome = "ok" if status == 200 else f"status_{status}"
            else:
                s = _connect(kind, deadline)
                try:
                    if kind.name == "tcp":
                        ok, _ = _exchange(kind, s, deadline, PING, "tcp")
                        outcome = "ok" if ok else "bad_echo"
                    else:
                        status, _ = _exchange(kind, s, deadline, close_request, "http")
                        outcome = "ok" if status == 200 else f"status_{status}"
                finally:
                    s.close()
        except Exception as e:  # noqa: BLE001 - every failure is an outcome
            outcome = _outcome(e)
            if conn is not None:
                conn.close()
                conn = None
        kind.record(start, outcome)
    if conn is not None:
        conn.close()


def cmd_probe(args):
    kinds = []
    for name in ("http1", "newconn", "tcp"):
        target = getattr(args, name)
        if target:
            workers = args.workers or int(math.ceil(args.rate * args.timeout)) + 2
            kinds.append(Kind(name, target, args.rate, workers, args.timeout))
    if not kinds:
        sys.exit("probe: name at least one of --http1, --newconn, --tcp")
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    t0 = time.monotonic()
    threads = []
    for k in kinds:
        for _ in range(k.workers):
            t = threading.Thread(target=_worker, args=(k, t0, stop), daemon=True)
            t.start()
            threads.append(t)
    ready_by = time.monotonic() + 10
    for k in kinds:
        k.first_ok.wait(max(0, ready_by - time.monotonic()))
    print("ready", flush=True)
    end_at = t0 + args.seconds
    while not stop.is_set() and time.monotonic() < end_at:
        stop.wait(0.2)
    stop.set()
    ended = time.monotonic()
    for t in threads:
        t.join(timeout=args.timeout + 5)
    out = {"started": t0, "ended": ended, "kinds": {}, "samples": {}}
    for k in kinds:
        with k.lock:
            samples = sorted(k.samples)
        outcomes = {}
        for _t, _d, o in samples:
            outcomes[o] = outcomes.get(o, 0) + 1
        out["kinds"][k.name] = {"target": k.target, "rate": k.rate, "sent": len(samples),
                                "ok": outcomes.get("ok", 0),
                                "failed": len(samples) - outcomes.get("ok", 0),
                                "outcomes": outcomes, "connections": k.connections,
                                "workers": k.workers}
        out["samples"][k.name] = samples
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    idle = sub.add_parser("idle")
    idle.add_argument("host")
    idle.add_argument("port", type=int)
    idle.add_argument("--mode", choices=("tcp", "http"), required=True)
    idle.add_argument("--connections", type=int, required=True)
    idle.add_argument("--in-flight", type=int, default=200)
    idle.add_argument("--deadline", type=float, default=120)
    slow = sub.add_parser("slow")
    slow.add_argument("host")
    slow.add_argument("port", type=int)
    slow.add_argument("--connections", type=int, required=True)
    slow.add_argument("--interval", type=float, default=5)
    slow.add_argument("--seconds", type=float, default=150)
    slow.add_argument("--prefix", type=int, default=0,
                      help="bytes of the head sent at once on connect")
    probe = sub.add_parser("probe")
    probe.add_argument("--http1")
    probe.add_argument("--newconn")
    probe.add_argument("--tcp")
    probe.add_argument("--rate", type=float, default=5)
    probe.add_argument("--timeout", type=float, default=2)
    probe.add_argument("--workers", type=int, default=0,
                       help="per kind (default ceil(rate x timeout) + 2)")
    probe.add_argument("--seconds", type=float, default=3600)
    args = p.parse_args()
    _raise_nofile()
    {"idle": cmd_idle, "slow": cmd_slow, "probe": cmd_probe}[args.cmd](args)


if __name__ == "__main__":
    main()
