#!/usr/bin/python3
"""Clients that stall a proxy, and an echo server that says how each connection ended: run
inside a pod's (or node's) netns by tests/e2e/test_time_limits.py (issue 23's time limits).
Stdlib only. Every mode prints "ready ..." on stdout once it is under way, then one JSON line
at its end. Times are CLOCK_MONOTONIC seconds (time.monotonic(): one clock for every netns, so
the harness compares them with its own).

  slowloris.py slow HOST PORT --connections N [--interval 1] [--seconds 20] [--prefix 0]
      N connections (connected at once), each sending an HTTP/1.1 request head that never
      ends ("GET / HTTP/1.1\\r\\nHost: slow\\r\\n" then "X-Slow-<i>: a\\r\\n" lines, never the
      blank line), one byte every --interval seconds, the first as soon as it is connected
      (--prefix P: its first P bytes at once). "ready <connected>", then it watches each
      connection until the other side answers (e.g. a 408) or closes it (FIN or reset), or
      --seconds pass. JSON:
        {"connections", "connected", "connect_failed": {reason: n}, "open_at_end",
         "conns": [{"opened", "closed_after" (seconds from opened to the first answer byte or
                    close; null while open), "answered_after", "ended_after", "how" (eof |
                    reset | null), "response" (first line of what arrived, or null),
                    "sent" (bytes of the head sent)}]}

  slowloris.py h2-preface HOST PORT [--seconds 15] [--bare]
      One h2c connection (prior knowledge) that sends the client connection preface (the
      magic + an empty SETTINGS; --bare: the magic only) and never a request; the server's
      SETTINGS and PINGs are acknowledged. "ready", then reads until the server closes or
      --seconds pass. JSON: {"opened", "goaway_after", "goaway_error", "last_stream_id",
      "closed_after", "how" (eof | reset | null), "frames": [type names in arrival order]}

  slowloris.py idle HOST PORT --mode http|tcp|none [--seconds 15] [--use-at S]
      One connection; one exchange on it (http: a keep-alive GET / answered in full; tcp:
      "ping\\n" echoed back; none: nothing is sent), then it idles and watches for the other
      side's close. --use-at S: S seconds after the exchange (if still open) exchange again,
      then close it ourselves. "ready" after the first exchange. JSON:
        {"mode", "exchanged" (the first exchange worked), "idle_from" (time it ended),
         "closed_after" (seconds from idle_from to the other side's close, or null),
         "how" (eof | reset | data | null), "reused" (the --use-at exchange worked, or null),
         "error"}

  slowloris.py probe HOST PORT [--interval-ms 200] [--timeout 5] [--seconds 10]
      Open loop: a new connection every --interval-ms, each in its own thread: "GET /" with
      Connection: close, answered in full within --timeout seconds of its start or failed.
      "ready", then after --seconds (and the last request's end) one JSON line:
        {"sent", "ok", "failed", "outcomes": {outcome: n},
         "samples": [[start, seconds, outcome], ...]}
      Outcomes: ok, timeout, refused, reset, eof (closed before a full answer), unreachable,
      status_<N> (answered, not 200), error_<errno name>.

  slowloris.py echo-server PORT
      Threaded TCP echo ("ready <port>"); per connection on stderr: "accept <ip> <port> <t>",
      then "end <ip> <port> eof|reset <t>" when the client's FIN or reset arrives (its write
      side is then shut down too).
"""
import argparse
import json
import selectors
import socket
import socketserver
import struct
import sys
import threading
import time

from stall_wire import connect_all, get_request, reason, response_done, slow_head

PING = b"ping\n"
H2_MAGIC = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_TYPES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
            5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}
H2_ERRORS = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
             "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
             "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
             "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]


def _emit(obj):
    print(json.dumps(obj), flush=True)


def _request(host, close=False):
    return get_request(host, "weft-slowloris", close)


def _closed(out, how, since):
    """out["how"] = how, out["closed_after"] = seconds since `since`."""
    out["how"] = how
    out["closed_after"] = round(time.monotonic() - since, 3)


# -- slow ----------------------------------------------------------------------------------------

def run_slow(a):
    sel = selectors.DefaultSelector()
    conns, failed = [], {}
    for s in connect_all(a.host, a.port, a.connections, failed):
        c = {"sock": s, "opened": time.monotonic(), "head": slow_head(len(conns), 4096), "sent": 0,
             "answered": None, "ended": None, "how": None, "buf": b""}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
        _send_slow(c, max(1, a.prefix))
    print(f"ready {len(conns)}", flush=True)
    end = time.monotonic() + a.seconds
    next_send = time.monotonic() + a.interval
    while time.monotonic() < end and any(c["ended"] is None for c in conns):
        timeout = max(0.0, min(next_send, end) - time.monotonic())
        for key, _ in sel.select(timeout):
            c = key.data
            try:
                data = c["sock"].recv(65536)
            except OSError as e:
                _end(sel, c, reason(e))
                continue
            if not data:
                _end(sel, c, "eof")
                continue
            if c["answered"] is None:
                c["answered"] = time.monotonic()
            c["buf"] += data
        if time.monotonic() >= next_send:
            next_send += a.interval
            for c in conns:
                if c["ended"] is None:
                    _send_slow(c, 1)
    out = []
    for c in conns:
        marks = [t for t in (c["answered"], c["ended"]) if t is not None]
        first = c["buf"].split(b"\r\n", 1)[0].decode("latin-1") if c["buf"] else None
        out.append({"opened": c["opened"],
                    "closed_after": round(min(marks) - c["opened"], 3) if marks else None,
                    "answered_after": None if c["answered"] is None else
                    round(c["answered"] - c["opened"], 3),
                    "ended_after": None if c["ended"] is None else
                    round(c["ended"] - c["opened"], 3),
                    "how": c["how"], "response": first, "sent": c["sent"]})
        c["sock"].close()
    _emit({"connections": a.connections, "connected": len(conns), "connect_failed": failed,
           "open_at_end": sum(1 for c in conns if c["ended"] is None), "conns": out})


def _send_slow(c, n):
    chunk = c["head"][c["sent"]:c["sent"] + n]
    try:
        c["sock"].send(chunk)
        c["sent"] += len(chunk)
    except BlockingIOError:
        pass
    except OSError:
        pass  # the close shows on the read side


def _end(sel, c, how):
    c["ended"] = time.monotonic()
    c["how"] = how
    sel.unregister(c["sock"])


# -- h2-preface ----------------------------------------------------------------------------------

def _frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id) + payload


def run_h2_preface(a):
    s = socket.create_connection((a.host, a.port), timeout=10)
    opened = time.monotonic()
    s.sendall(H2_MAGIC + (b"" if a.bare else _frame(4, 0, 0)))
    print("ready", flush=True)
    out = {"opened": opened, "goaway_after": None, "goaway_error": None,
           "last_stream_id": None, "closed_after": None, "how": None, "frames": []}
    buf = b""
    end = opened + a.seconds
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except OSError as e:
            _closed(out, reason(e), opened)
            break
        if not data:
            _closed(out, "eof", opened)
            break
        buf += data
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            ftype, flags = buf[3], buf[4]
            payload = buf[9:9 + length]
            buf = buf[9 + length:]
            out["frames"].append(H2_TYPES.get(ftype, str(ftype)))
            try:
                if ftype == 4 and not flags & 1:
                    s.sendall(_frame(4, 1, 0))
                elif ftype == 6 and not flags & 1:
                    s.sendall(_frame(6, 1, 0, payload))
            except OSError:
                pass
            if ftype == 7 and out["goaway_after"] is None:
                out["goaway_after"] = round(time.monotonic() - opened, 3)
                out["last_stream_id"] = int.from_bytes(payload[:4], "big") & 0x7fffffff
                code = int.from_bytes(payload[4:8], "big")
                out["goaway_error"] = H2_ERRORS[code] if code < len(H2_ERRORS) else str(code)
    s.close()
    _emit(out)


# -- idle ----------------------------------------------------------------------------------------

def _exchange(s, mode, host, timeout=5):
    """One request/answer on s; True when it worked."""
    if mode == "none":
        return True
    s.settimeout(timeout)
    if mode == "tcp":
        s.sendall(PING)
        got = b""
        while len(got) < len(PING):
            data = s.recv(64)
            if not data:
                return False
            got += data
        return got == PING
    s.sendall(_request(host))
    buf = b""
    while True:
        data = s.recv(65536)
        if not data:
            return False
        buf += data
        done, status, _ = response_done(buf)
        if done:
            return status == 200


def run_idle(a):
    out = {"mode": a.mode, "exchanged": False, "idle_from": None, "closed_after": None,
           "how": None, "reused": None, "error": None}
    s = socket.create_connection((a.host, a.port), timeout=10)
    try:
        out["exchanged"] = _exchange(s, a.mode, a.host)
    except OSError as e:
        out["error"] = reason(e)
    idle_from = time.monotonic()
    out["idle_from"] = idle_from
    print("ready", flush=True)
    if not out["exchanged"]:
        s.close()
        return _emit(out)
    end = idle_from + a.seconds
    use_at = None if a.use_at is None else idle_from + a.use_at
    while True:
        now = time.monotonic()
        stop = min(end, use_at) if use_at is not None else end
        if now >= stop:
            break
        s.settimeout(max(0.01, stop - now))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            _closed(out, reason(e), idle_from)
            break
        _closed(out, "data" if data else "eof", idle_from)
        break
    if out["how"] is None and use_at is not None and time.monotonic() < end:
        try:
            out["reused"] = _exchange(s, a.mode, a.host)
        except OSError as e:
            out["reused"] = False
            out["error"] = reason(e)
    s.close()
    _emit(out)


# -- probe ---------------------------------------------------------------------------------------

def _one_request(host, port, timeout):
    start = time.monotonic()
    deadline = start + timeout
    try:
        s = socket.create_connection((host, port), timeout=timeout)
        try:
            s.sendall(_request(host, close=True))
            buf = b""
            while True:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                data = s.recv(65536)
                if not data:
                    outcome = "eof"
                    break
                buf += data
                done, status, _ = response_done(buf)
                if done:
                    outcome = "ok" if status == 200 else f"status_{status}"
                    break
        finally:
            s.close()
    except OSError as e:
        outcome = reason(e)
    return [round(start, 4), round(time.monotonic() - start, 4), outcome]


def run_probe(a):
    samples, lock, threads = [], threading.Lock(), []

    def worker():
        r = _one_request(a.host, a.port, a.timeout)
        with lock:
            samples.append(r)

    print("ready", flush=True)
    start = time.monotonic()
    i = 0
    while True:
        due = start + i * a.interval_ms / 1000
        if due - start >= a.seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        t = threading.Thread(target=worker, daemon=True)
        t.start()
        threads.append(t)
        i += 1
    for t in threads:
        t.join(a.timeout + 5)
    samples.sort()
    outcomes = {}
    for _, _, o in samples:
        outcomes[o] = outcomes.get(o, 0) + 1
    _emit({"sent": i, "ok": outcomes.get("ok", 0), "failed": len(samples) - outcomes.get("ok", 0)
           + (i - len(samples)), "outcomes": outcomes, "samples": samples})


# -- echo-server ---------------------------------------------------------------------------------

class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s, peer = self.request, self.client_address
        _log(f"accept {peer[0]} {peer[1]} {time.monotonic():.3f}")
        how = "eof"
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                s.sendall(data)
        except OSError as e:
            how = reason(e)
        _log(f"end {peer[0]} {peer[1]} {how} {time.monotonic():.3f}")
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


def run_echo_server(a):
    server = _Server(("0.0.0.0", a.port), _Echo)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode_name", required=True)
    slow = sub.add_parser("slow")
    slow.add_argument("host")
    slow.add_argument("port", type=int)
    slow.add_argument("--connections", type=int, required=True)
    slow.add_argument("--interval", type=float, default=1.0)
    slow.add_argument("--seconds", type=float, default=20)
    slow.add_argument("--prefix", type=int, default=0)
    h2 = sub.add_parser("h2-preface")
    h2.add_argument("host")
    h2.add_argument("port", type=int)
    h2.add_argument("--seconds", type=float, default=15)
    h2.add_argument("--bare", action="store_true")
    idle = sub.add_parser("idle")
    idle.add_argument("host")
    idle.add_argument("port", type=int)
    idle.add_argument("--mode", choices=["http", "tcp", "none"], required=True)
    idle.add_argument("--seconds", type=float, default=15)
    idle.add_argument("--use-at", type=float)
    probe = sub.add_parser("probe")
    probe.add_argument("host")
    probe.add_argument("port", type=int)
    probe.add_argument("--interval-ms", type=float, default=200)
    probe.add_argument("--timeout", type=float, default=5)
    probe.add_argument("--seconds", type=float, default=10)
    echo = sub.add_parser("echo-server")
    echo.add_argument("port", type=int)
    a = p.parse_args()
    {"slow": run_slow, "h2-preface": run_h2_preface, "idle": run_idle, "probe": run_probe,
     "echo-server": run_echo_server}[a.mode_name](a)


if __name__ == "__main__":
    main()
