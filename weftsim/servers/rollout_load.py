#!/usr/bin/python3
"""Bounded request load for the rollout test and bench (issue 22), run inside a pod's netns.

  rollout_load.py --seconds S
      [--http1 HOST:PORT [--http1-rate R] [--http1-conns N] [--http1-path /]]
      [--h2 HOST:PORT [--h2-rate R] [--h2-concurrency C] [--h2-path /]]
      [--grpc HOST:PORT [--grpc-rate R] [--grpc-concurrency C] [--grpc-no-transparent-retry]]
      [--stream HOST:PORT:SECONDS]... [--timeout T]

Every kind runs at the same time, for S seconds or until SIGUSR1 (whichever comes first), at a
bounded rate (R requests per second, open loop: request i is due at start + i/R, never more than
the kind's connections/concurrency in flight):

  http1  HTTP/1.1 keep-alive GETs (http_app.py) over N connections of our own sockets. A
         response with `Connection: close` ends its connection after that response; the next
         request opens a new one. Before reusing an idle connection it is checked (a peek): one
         the server closed while idle is replaced without sending anything on it ("idle_closes",
         as every HTTP client does). A failed request is never retried: it counts.
  h2     HTTP/2 GETs, h2c with prior knowledge (python3-h2), C streams in flight on one
         connection (grpc_echo_server.py --http-status 200). On GOAWAY no new stream goes on
         that connection: the next request opens a new one; streams the GOAWAY's
         last_stream_id covers go on where they are; only those it does not cover (never
         processed, RFC 9113 section 6.8) are sent again on a new connection ("resent", their
         latency counted from the first send). Everything else that goes wrong (RST_STREAM of
         any code, the connection closing with a covered stream unanswered, a status other
         than 200, a timeout) is a failed request. h2 4.1 ends its connection state machine at
         the first GOAWAY; the connection class here keeps the connection open for the streams
         still covered.
  grpc   gRPC unary calls of weft.test.Echo/Say (grpc_echo_server.py) on one grpcio channel,
         C in flight, each with a deadline of T. No retry policy; grpc's transparent retry
         (on by default in grpcio: it re-sends only a call that never left the client or that
         the server's GOAWAY or REFUSED_STREAM says it never processed, i.e. what RFC 9113
         allows) stays on unless --grpc-no-transparent-retry. Channel changes into
         TRANSIENT_FAILURE (a connect that failed) are counted as "refused".
  stream one long-lived TCP connection per --stream (pod_server.py --mode echo): 64 bytes
         every 100 ms for SECONDS, each byte checked against the echo; then it half-closes and
         reads until EOF. Its "fate": "completed" (every byte echoed, then the peer's EOF),
         "fin" (the peer's EOF came before SECONDS were up; the bytes echoed until then were
         exact), "reset" (ECONNRESET, a RST with no FIN before it), "refused", "stopped"
         (SIGUSR1 came first: it half-closed early and got every byte back) or "error"
         (anything else, e.g. a byte that differs or an EOF before every byte came back after
         our half-close). A send failing with EPIPE before our half-close means the kernel
         had the peer's FIN and then a RST (tcp_reset in CLOSE_WAIT): "fin". After a "fin"
         the stream sends nothing, waits 0.3 s and reads SO_ERROR: "rst_after_fin" is its
         name (e.g. "EPIPE") when a RST followed the FIN, else false.

A connection attempt answered ECONNREFUSED counts as "refused" (and the request that needed it
as failed). Prints "ready" once every kind has finished its first request and every stream is
connected (or after 10 s), then, at the end, one JSON object:

  {"started": monotonic s, "ended": monotonic s,
   "kinds": {kind: {"target", "rate", "sent", "ok", "failed", "refused", "connections",
                    "errors": [[t, text], ...first 50], and per kind: http1 "server_closes"
                    (Connection: close answers), "idle_closes"; h2 "resent", "goaways",
                    "goaway_errors" (GOAWAYs with a code other than NO_ERROR); grpc
                    "transient_failures", "transparent_retry"}},
   "samples": {kind: [[t, latency ms, 1 ok | 0 failed], ...]},
   "streams": [{"target", "seconds", "fate", "started", "ended", "sent", "echoed", "exact",
                "detail", "rst_after_fin"}, ... in the order of the --stream options],
   "hung": [the kinds and streams whose thread had not finished 30 s after every bound]}

t is the request's start on CLOCK_MONOTONIC (time.monotonic(), the same clock in every process
of the machine: the harness compares it with the times of its hand-overs).
"""
import argparse
import errno
import json
import os
import select
import signal
import socket
import sys
import threading
import time

MAX_ERRORS = 50
STREAM_CHUNK = 64
STREAM_INTERVAL = 0.1


def _addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"want HOST:PORT, got {text!r}")
    return host, int(port)


def _stream_spec(text):
    parts = text.rsplit(":", 1)
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"want HOST:PORT:SECONDS, got {text!r}")
    host, port = _addr(parts[0])
    return host, port, float(parts[1])


def _refused(e):
    return isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED


class Kind:
    """Counters and samples of one kind of request (thread-safe)."""

    def __init__(self, name, target, rate):
        self.name = name
        self.target = f"{target[0]}:{target[1]}"
        self.rate = rate
        self.lock = threading.Lock()
        self.sent = self.ok = self.failed = self.refused = self.connections = 0
        self.errors = []
        self.samples = []
        self.extra = {}
        self.first_done = threading.Event()

    def count(self, key, n=1):
        with self.lock:
            self.extra[key] = self.extra.get(key, 0) + n

    def connected(self):
        with self.lock:
            self.connections += 1

    def refused_connect(self):
        with self.lock:
            self.refused += 1

    def issued(self):
        with self.lock:
            self.sent += 1

    def done(self, start, error=None):
        latency_ms = (time.monotonic() - start) * 1000.0
        with self.lock:
            if error is None:
                self.ok += 1
            else:
                self.failed += 1
                if len(self.errors) < MAX_ERRORS:
                    self.errors.append([round(start, 4), error])
            self.samples.append([round(start, 4), round(latency_ms, 3), 0 if error else 1])
        self.first_done.set()

    def summary(self):
        with self.lock:
            out = {"target": self.target, "rate": self.rate, "sent": self.sent, "ok": self.ok,
                   "failed": self.failed, "refused": self.refused,
                   "connections": self.connections, "errors": list(self.errors)}
            out.update(self.extra)
            return out


class Pacer:
    """Open-loop schedule: slot i is due at start + i/rate; take() blocks until the next slot
    is due and returns False once the load is over."""

    def __init__(self, rate, start, deadline, stop):
        self.interval = 1.0 / rate
        self.start = start
        self.deadline = deadline
        self.stop = stop
        self.next = 0
        self.lock = threading.Lock()

    def due(self):
        """The next slot's due time, or None when the load is over (does not take it)."""
        with self.lock:
            due = self.start + self.next * self.interval
        if self.stop.is_set() or due >= self.deadline:
            return None
        return due

    def take(self):
        with self.lock:
            due = self.start + self.next * self.interval
            self.next += 1
        if self.stop.is_set() or due >= self.deadline:
            return False
        while True:
            left = due - time.monotonic()
            if left <= 0:
                return True
            if self.stop.wait(min(left, 0.2)):
                return False


# -- HTTP/1.1 --------------------------------------------------------------------------------

class Http1Conn:
    """One keep-alive connection: request, response (Content-Length or chunked)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.requests = 0

    def stale(self):
        """True if the server closed (or reset) the idle connection: it is readable (EOF, an
        error, or bytes nobody asked for, a protocol error too)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("response timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("header line too long")
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self, host, path, deadline):
        """Sends one GET and reads its response; returns (status, headers, body, got_bytes)
        where got_bytes says whether any byte of the response arrived (for the error text)."""
        self.requests += 1
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: rollout-load\r\n"
                          f"\r\n".encode())
        status_line = self._line(deadline)
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        headers = {}
        while True:
            line = self._line(deadline)
            if not line:
                break
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower().decode(), []).append(
                value.strip().decode(errors="replace"))
        if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            body = b""
            while True:
                size = int(self._line(deadline).split(b";")[0], 16)
                if size == 0:
                    while self._line(deadline):
                        pass
                    break
                body += self._exact(size, deadline)
                self._exact(2, deadline)
        else:
            body = self._exact(int(headers.get("content-length", ["0"])[0]), deadline)
        return status, headers, body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def run_http1(kind, target, args, pacer):
    host = f"{target[0]}:{target[1]}"

    def worker():
        conn = None
        while pacer.take():
            start = time.monotonic()
            kind.issued()
            deadline = start + args.timeout
            if conn is not None and conn.stale():
                kind.count("idle_closes")
                conn.close()
                conn = None
            reused = conn is not None
            try:
                if conn is None:
                    try:
                        sock = socket.create_connection(target, timeout=args.timeout)
                    except OSError as e:
                        if _refused(e):
                            kind.refused_connect()
                            kind.done(start, f"connect refused: {e}")
                        else:
                            kind.done(start, f"connect: {e!r}")
                        continue
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn = Http1Conn(sock)
                    kind.connected()
                n = conn.requests + 1
                status, headers, body = conn.request(host, args.http1_path, deadline)
                close = any("close" in v.lower() for v in headers.get("connection", []))
                if close:
                    kind.count("server_closes")
                    conn.close()
                    conn = None
                if status != 200:
                    kind.done(start, f"status {status} (request {n} on its connection)")
                    continue
                try:
                    if not json.loads(body).get("pod"):
                        raise ValueError("no pod")
                except ValueError:
                    kind.done(start, f"bad body {body[:80]!r}")
                    continue
                kind.done(start)
            except (OSError, EOFError, ValueError) as e:
                what = ("on a reused connection" if reused else "on a new connection")
                kind.done(start, f"{type(e).__name__}: {e} ({what}, request "
                                 f"{conn.requests if conn else '?'} on it)")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.http1_conns)]
    for t in threads:
        t.start()
    return threads


# -- HTTP/2 ----------------------------------------------------------------------------------

def _graceful_h2_class():
    import h2.connection
    import h2.errors
    import h2.events

    class GracefulH2Connection(h2.connection.H2Connection):
        """h2 4.1 moves its connection state machine to CLOSED at the first GOAWAY (every
        later frame is then a ProtocolError) and drops what it had to send. RFC 9113 section
        6.8: the streams up to last_stream_id may still complete. Here a GOAWAY only raises
        ConnectionTerminated; the caller opens no new stream on the connection."""

        def _receive_goaway_frame(self, frame):
            event = h2.events.ConnectionTerminated()
            event.error_code = h2.errors._error_code_from_int(frame.error_code)
            event.last_stream_id = frame.last_stream_id
            event.additional_data = frame.additional_data or None
            return [], [event]

    return GracefulH2Connection


class H2Request:
    __slots__ = ("start", "deadline", "status", "body", "sends")

    def __init__(self, start, timeout):
        self.start = start
        self.deadline = start + timeout
        self.status = None
        self.body = b""
        self.sends = 0


class H2Conn:
    def __init__(self, sock, h2conn, number):
        self.sock = sock
        self.h2 = h2conn
        self.number = number
        self.streams = {}          # stream id -> H2Request
        self.goaway_last = None    # lowest last_stream_id of the GOAWAYs received
        self.closed = False

    def flush(self):
        out = self.h2.data_to_send()
        if out:
            self.sock.settimeout(5)
            self.sock.sendall(out)


def run_h2(kind, target, args, pacer, stop):
    import h2.config
    import h2.events
    conn_class = _graceful_h2_class()
    authority = f"{target[0]}:{target[1]}"
    state = {"current": None, "conns": [], "opened": 0}
    queue = []  # H2Requests waiting for a connection (new ones and those to re-send)

    def fail(req, text):
        kind.done(req.start, text)

    def open_conn():
        try:
            sock = socket.create_connection(target, timeout=args.timeout)
        except OSError as e:
            if _refused(e):
                kind.refused_connect()
                return None, f"connect refused: {e}"
            return None, f"connect: {e!r}"
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h2c = conn_class(config=h2.config.H2Configuration(client_side=True,
                                                         header_encoding="utf-8"))
        h2c.initiate_connection()
        state["opened"] += 1
        c = H2Conn(sock, h2c, state["opened"])
        try:
            c.flush()
        except OSError as e:
            sock.close()
            return None, f"preface: {e!r}"
        kind.connected()
        state["conns"].append(c)
        return c, None

    def close_conn(c, why):
        if c.closed:
            return
        c.closed = True
        try:
            c.sock.close()
        except OSError:
            pass
        if c in state["conns"]:
            state["conns"].remove(c)
        if state["current"] is c:
            state["current"] = None
        for sid, req in sorted(c.streams.items()):
            if c.goaway_last is not None and sid > c.goaway_last:
                kind.count("resent")
                queue.append(req)
            else:
                fail(req, f"{why} with stream {sid} unanswered (connection {c.number})")
        c.streams.clear()

    def send_queued():
        while queue:
            c = state["current"]
            if c is None or c.closed or c.goaway_last is not None:
                c, error = open_conn()
                if c is None:
                    fail(queue.pop(0), error)
                    continue
                state["current"] = c
            req = queue.pop(0)
            sid = c.h2.get_next_available_stream_id()
            req.sends += 1
            c.h2.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                                    (":authority", authority), (":path", args.h2_path),
                                    ("user-agent", "rollout-load")], end_stream=True)
            c.streams[sid] = req
            try:
                c.flush()
            except OSError as e:
                close_conn(c, f"send: {e!r}")

    def handle(c, events):
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived):
                req = c.streams.get(ev.stream_id)
                if req is not None:
                    req.status = int(dict(ev.headers).get(":status", "0"))
            elif isinstance(ev, h2.events.DataReceived):
                c.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                req = c.streams.get(ev.stream_id)
                if req is not None:
                    req.body += ev.data
            elif isinstance(ev, h2.events.StreamEnded):
                req = c.streams.pop(ev.stream_id, None)
                if req is None:
                    continue
                if req.status != 200:
                    fail(req, f"status {req.status} (stream {ev.stream_id}, connection "
                              f"{c.number})")
                    continue
                try:
                    if not json.loads(req.body).get("pod"):
                        raise ValueError("no pod")
                except ValueError:
                    fail(req, f"bad body {req.body[:80]!r}")
                    continue
                kind.done(req.start)
            elif isinstance(ev, h2.events.StreamReset):
                req = c.streams.pop(ev.stream_id, None)
                if req is not None:
                    fail(req, f"RST_STREAM {getattr(ev.error_code, 'name', ev.error_code)} "
                              f"(stream {ev.stream_id}, connection {c.number})")
            elif isinstance(ev, h2.events.ConnectionTerminated):
                kind.count("goaways")
                code = getattr(ev.error_code, "name", str(ev.error_code))
                if code != "NO_ERROR":
                    kind.count("goaway_errors")
                    with kind.lock:
                        if len(kind.errors) < MAX_ERRORS:
                            kind.errors.append([round(time.monotonic(), 4),
                                                f"GOAWAY {code} last_stream_id "
                                                f"{ev.last_stream_id} (connection {c.number})"])
                last = ev.last_stream_id
                c.goaway_last = last if c.goaway_last is None else min(c.goaway_last, last)
                for sid in sorted(s for s in c.streams if s > c.goaway_last):
                    kind.count("resent")
                    queue.append(c.streams.pop(sid))
                if state["current"] is c:
                    state["current"] = None

    inflight = lambda: len(queue) + sum(len(c.streams) for c in state["conns"])  # noqa: E731
    stopping = False
    while True:
        now = time.monotonic()
        if not stopping:
            due = pacer.due()
            if due is None:
                stopping = True
            elif due <= now and inflight() < args.h2_concurrency:
                pacer.take()
                kind.issued()
                queue.append(H2Request(now, args.timeout))
                continue
        send_queued()
        # Connections a GOAWAY ended are closed once their covered streams are answered.
        for c in list(state["conns"]):
            if c.goaway_last is not None and not c.streams:
                close_conn(c, "goaway")
        # Requests past their deadline fail (and their stream is reset).
        for c in list(state["conns"]):
            for sid, req in list(c.streams.items()):
                if now > req.deadline:
                    del c.streams[sid]
                    fail(req, f"timeout after {args.timeout}s (stream {sid}, connection "
                              f"{c.number})")
                    try:
                        c.h2.reset_stream(sid)
                        c.flush()
                    except Exception:  # noqa: BLE001 - the connection may be gone already
                        pass
        if stopping and inflight() == 0:
            break
        wait = 0.05
        if not stopping:
            due = pacer.due()
            if due is not None:
                wait = max(0.0, min(wait, due - now))
        socks = [c.sock for c in state["conns"]]
        if not socks:
            time.sleep(wait)
            continue
        ready, _, _ = select.select(socks, [], [], wait)
        for c in list(state["conns"]):
            if c.sock not in ready or c.closed:
                continue
            try:
                data = c.sock.recv(65536)
            except OSError as e:
                close_conn(c, f"recv: {e!r}")
                continue
            if not data:
                close_conn(c, "connection closed" + (" after GOAWAY" if c.goaway_last
                                                      is not None else " without GOAWAY"))
                continue
            try:
                events = c.h2.receive_data(data)
            except Exception as e:  # noqa: BLE001 - a protocol error ends the connection
                close_conn(c, f"h2 protocol error {e!r}")
                continue
            handle(c, events)
            try:
                c.flush()
            except OSError as e:
                close_conn(c, f"send: {e!r}")
    for c in list(state["conns"]):
        try:
            c.h2.close_connection()
            c.flush()
        except Exception:  # noqa: BLE001
            pass
        close_conn(c, "done")


# -- gRPC ------------------------------------------------------------------------------------

def run_grpc(kind, target, args, pacer):
    import grpc
    options = [("grpc.enable_http_proxy", 0)]
    if args.grpc_no_transparent_retry:
        options.append(("grpc.enable_retries", 0))
    channel = grpc.insecure_channel(f"{target[0]}:{target[1]}", options=options)
    kind.extra["transparent_retry"] = not args.grpc_no_transparent_retry
    last_state = [None]

    def on_state(s):
        if s == grpc.ChannelConnectivity.TRANSIENT_FAILURE and \
                last_state[0] != grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            kind.refused_connect()
            kind.count("transient_failures")
        if s == grpc.ChannelConnectivity.READY and last_state[0] != s:
            kind.connected()
        last_state[0] = s
    channel.subscribe(on_state, try_to_connect=True)
    say = channel.unary_unary("/weft.test.Echo/Say")
    slots = threading.Semaphore(args.grpc_concurrency)
    outstanding = [0]
    lock = threading.Lock()
    all_done = threading.Event()

    def finished(fut, start, payload):
        try:
            code = fut.code()
            if code != grpc.StatusCode.OK:
                kind.done(start, f"{code.name}: {fut.details()}")
                return
            try:
                reply = json.loads(fut.result())
                if reply.get("echo") != payload or not reply.get("pod"):
                    raise ValueError(f"reply {reply!r}")
            except ValueError as e:
                kind.done(start, f"bad reply: {e}")
                return
            kind.done(start)
        except Exception as e:  # noqa: BLE001
            kind.done(start, f"client: {e!r}")
        finally:
            slots.release()
            with lock:
                outstanding[0] -= 1
                if outstanding[0] == 0:
                    all_done.set()

    def loop():
        i = 0
        while pacer.take():
            slots.acquire()
            start = time.monotonic()
            kind.issued()
            payload = f"call {i}"
            i += 1
            with lock:
                outstanding[0] += 1
                all_done.clear()
            try:
                fut = say.future(payload.encode(), timeout=args.timeout)
            except Exception as e:  # noqa: BLE001
                kind.done(start, f"client: {e!r}")
                slots.release()
                with lock:
                    outstanding[0] -= 1
                continue
            fut.add_done_callback(lambda f, s=start, p=payload: finished(f, s, p))
        with lock:
            if outstanding[0] == 0:
                all_done.set()
        all_done.wait(args.timeout + 5)
        channel.unsubscribe(on_state)
        channel.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return [t]


# -- the long-lived L4 stream ----------------------------------------------------------------

def _pattern(offset, n):
    """Bytes offset..offset+n of a fixed byte sequence (so any displaced byte shows)."""
    return bytes((i * 7 + (i >> 8) * 13) & 0xFF for i in range(offset, offset + n))


def stream_record(spec):
    host, port, seconds = spec
    return {"target": f"{host}:{port}", "seconds": seconds, "fate": None, "started": None,
            "ended": None, "sent": 0, "echoed": 0, "exact": True, "detail": "",
            "rst_after_fin": None}


def run_stream(spec, stop, rec, connected):
    host, port, seconds = spec
    rec["started"] = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as e:
        rec["fate"] = "refused" if _refused(e) else "error"
        rec["detail"] = f"connect: {e!r}"
        rec["ended"] = time.monotonic()
        connected.set()
        return
    connected.set()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    sent = echoed = 0
    half_closed = [False]
    end_at = rec["started"] + seconds

    def read_available():
        """Reads what is there; returns False at EOF. Raises OSError on an error."""
        nonlocal echoed
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            if data != _pattern(echoed, len(data)) or echoed + len(data) > sent:
                rec["exact"] = False
            echoed += len(data)

    def finish(fate, detail=""):
        rec.update(fate=fate, detail=detail, sent=sent, echoed=echoed, ended=time.monotonic())

    try:
        next_send = time.monotonic()
        early = False
        while True:
            now = time.monotonic()
            if now >= end_at:
                break
            if stop.is_set():
                early = True
                break
            r, _, _ = select.select([sock], [], [], max(0.0, min(next_send, end_at) - now))
            if r and not read_available():
                finish("fin", f"peer EOF after {time.monotonic() - rec['started']:.2f}s of "
                              f"{seconds}s; {sent - echoed} bytes sent were not echoed")
                break
            if time.monotonic() >= next_send and time.monotonic() < end_at:
                chunk = _pattern(sent, STREAM_CHUNK)
                sock.setblocking(True)
                sock.settimeout(5)
                try:
                    sock.sendall(chunk)
                finally:
                    sock.setblocking(False)
                sent += len(chunk)
                next_send += STREAM_INTERVAL
        if rec["fate"] is None:
            # Our duration is up (or the harness stopped us): half-close, read the rest.
            half_closed[0] = True
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 10
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    finish("error", f"no EOF within 10 s of our half-close ({echoed}/{sent} "
                                    f"bytes echoed)")
                    break
                r, _, _ = select.select([sock], [], [], left)
                if r and not read_available():
                    if echoed == sent and rec["exact"]:
                        finish("stopped" if early else "completed")
                    else:
                        finish("error", f"EOF after our half-close with {echoed}/{sent} "
                                        f"bytes echoed")
                    break
        if rec["fate"] == "fin":
            # Did the peer close its socket outright (data we sent after its FIN is answered
            # with a RST)? Informational: the FIN came first.
            time.sleep(0.3)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            rec["rst_after_fin"] = errno.errorcode.get(err, str(err)) if err else False
    except OSError as e:
        if rec["fate"] is None:
            if e.errno == errno.EPIPE and not half_closed[0]:
                # Linux answers a send with EPIPE when a RST came after the peer's FIN
                # (tcp_reset in CLOSE_WAIT); a RST alone gives ECONNRESET. The FIN was first:
                # it was closed, and the RST only answered bytes we sent after its FIN.
                finish("fin", f"peer EOF, then a RST for bytes sent after it ({e!r})")
                rec["rst_after_fin"] = True
            elif e.errno in (errno.ECONNRESET, errno.EPIPE):
                finish("reset", repr(e))
            else:
                finish("error", repr(e))
    finally:
        if rec["fate"] is not None and not rec["exact"]:
            rec["fate"] = "error"
            rec["detail"] += "; echoed bytes differ from those sent"
        sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, required=True,
                        help="how long requests are issued (SIGUSR1 ends it sooner)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request (s)")
    parser.add_argument("--http1", type=_addr)
    parser.add_argument("--http1-rate", type=float, default=50)
    parser.add_argument("--http1-conns", type=int, default=4)
    parser.add_argument("--http1-path", default="/")
    parser.add_argument("--h2", type=_addr)
    parser.add_argument("--h2-rate", type=float, default=50)
    parser.add_argument("--h2-concurrency", type=int, default=4)
    parser.add_argument("--h2-path", default="/")
    parser.add_argument("--grpc", type=_addr)
    parser.add_argument("--grpc-rate", type=float, default=50)
    parser.add_argument("--grpc-concurrency", type=int, default=4)
    parser.add_argument("--grpc-no-transparent-retry", action="store_true")
    parser.add_argument("--stream", type=_stream_spec, action="append", default=[],
                        help="HOST:PORT:SECONDS (repeatable)")
    args = parser.parse_args()
    for name in ("http1_rate", "h2_rate", "grpc_rate"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")

    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    started = time.monotonic()
    deadline = started + args.seconds
    kinds = {}
    threads = []  # (what, thread)
    if args.http1:
        kinds["http1"] = Kind("http1", args.http1, args.http1_rate)
        threads += [("http1", t) for t in run_http1(kinds["http1"], args.http1, args,
                                                    Pacer(args.http1_rate, started, deadline,
                                                          stop))]
    if args.h2:
        kinds["h2"] = Kind("h2", args.h2, args.h2_rate)
        kinds["h2"].extra.update(resent=0, goaways=0)
        t = threading.Thread(target=run_h2, args=(kinds["h2"], args.h2, args,
                                                  Pacer(args.h2_rate, started, deadline, stop),
                                                  stop), daemon=True)
        t.start()
        threads.append(("h2", t))
    if args.grpc:
        kinds["grpc"] = Kind("grpc", args.grpc, args.grpc_rate)
        threads += [("grpc", t) for t in run_grpc(kinds["grpc"], args.grpc, args,
                                                  Pacer(args.grpc_rate, started, deadline,
                                                        stop))]
    streams = []
    stream_connected = []
    for spec in args.stream:
        ev = threading.Event()
        stream_connected.append(ev)
        streams.append(stream_record(spec))  # in command-line order
        t = threading.Thread(target=run_stream, args=(spec, stop, streams[-1], ev),
                             daemon=True)
        t.start()
        threads.append((f"stream {spec[0]}:{spec[1]}", t))

    ready_by = time.monotonic() + 10
    for ev in [k.first_done for k in kinds.values()] + stream_connected:
        ev.wait(max(0.0, ready_by - time.monotonic()))
    print(f"ready {time.monotonic():.4f}", flush=True)

    # Every request has its own timeout and every stream its own bounds: a thread still alive
    # well after them is stuck in a client library (seen once in grpcio's channel.close()),
    # named in "hung" rather than holding the report back. Its requests show as sent and
    # neither ok nor failed.
    stop.wait(max(0.0, deadline - time.monotonic()))
    limit = time.monotonic() + args.timeout + 30
    for what, t in threads:
        t.join(max(0.0, limit - time.monotonic()))
    out = {"started": round(started, 4), "ended": round(time.monotonic(), 4),
           "kinds": {name: k.summary() for name, k in kinds.items()},
           "samples": {name: k.samples for name, k in kinds.items()},
           "streams": streams,
           "hung": [what for what, t in threads if t.is_alive()]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # a hung thread (daemon or grpc's own) must not keep the process


if __name__ == "__main__":
    main()
