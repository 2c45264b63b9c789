#!/usr/bin/python3
"""A threaded HTTP/1.1 app server run inside a pod's netns by the e2e tests (stdlib only, its
own parser: it must see exactly what arrives on the wire).

  http_app.py --port PORT --name POD [--address 0.0.0.0] [--fail-status N] [--delay-ms N]

Routes (every JSON answer has Content-Length and ends with a newline):
  GET /                 200 {"pod", "peer", "path", "conn"}  (conn: this TCP connection's
                        sequence number in the process, from 1)
  POST|PUT /echo        reads the body (Content-Length or chunked, trailers included) and
                        answers 200 {"pod", "peer", "conn", "bytes", "sha256", "trailers":
                        {lower-case name: value}, "expect": the Expect header or null,
                        "chunked": bool}; "Expect: 100-continue" gets "HTTP/1.1 100 Continue"
                        before the body is read
  GET /status/<code>    that status with a short text body (none for 1xx, 204, 304)
  GET /delay/<ms>       sleeps, then 200 like GET /
  GET /headers          200 like GET / plus "headers": {lower-case name: [values in arrival
                        order]} (every request header field the app received)
  GET /chunked/<n>      200, Transfer-Encoding: chunked, n chunks, chunk i = "chunk <i>\\n"
                        each sent by its own send()
  GET /ws               WebSocket (RFC 6455) echo: 101 with Sec-WebSocket-Accept and
                        "X-Pod: <name>", then echoes text/binary messages (fragmented ones
                        reassembled, up to 16 MiB), answers pings, returns the close frame
  anything else         404 with a JSON body like GET /
--delay-ms N (a slow replica): every request is answered N ms after it was read.
--fail-status N (a failing replica): every request, whatever its method and target, is read
(body included) and answered N with a JSON body like GET / plus "status": N; the connection
stays open as usual (logged like any other request).
Keep-alive by default (HTTP/1.1); "Connection: close" or HTTP/1.0 without keep-alive closes
after the answer. A malformed request gets 400 (431 for a head over 1 MiB) and the connection
is closed. The server is deliberately lenient where front-ends must be strict, so that
smuggling through a proxy would show: Transfer-Encoding wins over Content-Length and the
connection stays open, differing Content-Lengths use the last one; each such case is logged
as an "anomaly" line.

Log lines on stderr (tests count them):
  conn <id> peer <ip>:<port>                   at accept
  request <id> <method> <target> <status>      per request, once answered
  anomaly <id> <what>                          a request a strict proxy should have refused
  ws <id> <text|binary> <bytes>                per WebSocket message echoed
  close <id> requests <n>                      when the connection ends
Prints "ready <port>" on stdout once listening (pod_server.py's convention).
"""
import argparse
import base64
import hashlib
import itertools
import json
import socket
import socketserver
import sys
import threading
import time

MAX_HEAD = 1 << 20
MAX_WS_MESSAGE = 16 << 20
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
           204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
           400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 413: "Content Too Large", 429: "Too Many Requests",
           431: "Request Header Fields Too Large", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

_log_lock = threading.Lock()
_conn_ids = itertools.count(1)


def log(msg):
    with _log_lock:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()


class BadRequest(Exception):
    """The request cannot be parsed: answer `status` and close."""

    def __init__(self, why, status=400):
        super().__init__(why)
        self.status = status


class Closed(Exception):
    """The peer closed (cleanly, between requests or mid-request)."""


class Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def read_until(self, marker, limit, status=400):
        """Bytes up to and including marker; BadRequest(status) past limit."""
        start = 0
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise BadRequest(f"more than {limit} bytes without {marker!r}", status)
            start = max(0, len(self.buf) - len(marker) + 1)
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_into(self, n, sink):
        """Feeds exactly n bytes to sink(chunk) without holding them all."""
        while n > 0:
            if not self.buf:
                self._fill()
            take = min(n, len(self.buf))
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(lower-case name, value)]

    def get_all(self, name):
        return [v for k, v in self.headers if k == name]

    def get(self, name):
        values = self.get_all(name)
        return values[-1] if values else None

    def tokens(self, name):
        return {t.strip().lower() for v in self.get_all(name) for t in v.split(",") if t.strip()}

    def wants_close(self):
        conn = self.tokens("connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"bad request line {lines[0][:100]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line[:100]!r}")
        headers.append((name.lower(), value.strip()))
    return Request(parts[0], parts[1], parts[2], headers)


def _status_line(code):
    return f"HTTP/1.1 {code} {REASONS.get(code, 'Status')}\r\n"


class Handler(socketserver.BaseRequestHandler):
    pod = "unknown"
    fail_status = None
    delay_s = 0.0

    def setup(self):
        self.conn = next(_conn_ids)
        self.peer = self.client_address
        self.served = 0
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        log(f"conn {self.conn} peer {self.peer[0]}:{self.peer[1]}")

    def finish(self):
        log(f"close {self.conn} requests {self.served}")

    # -- plumbing ---------------------------------------------------------------------------

    def send(self, data):
        self.request.sendall(data)

    def respond(self, req, code, body=b"", ctype="application/json", extra=(), close=False):
        head = _status_line(code)
        for name, value in extra:
            head += f"{name}: {value}\r\n"
        if code >= 200 and code not in (204, 304):
            head += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        if close:
            head += "Connection: close\r\n"
        self.send(head.encode("latin-1") + b"\r\n" + body)
        self.served += 1
        log(f"request {self.conn} {req.method if req else '-'} {req.target if req else '-'} "
            f"{code}")

    def json_body(self, obj):
        return json.dumps(obj).encode() + b"\n"

    def base(self, req):
        return {"pod": self.pod, "peer": self.peer[0], "path": req.target, "conn": self.conn}

    # -- request loop -----------------------------------------------------------------------

    def handle(self):
        reader = Reader(self.request)
        try:
            while True:
                try:
                    head = reader.read_until(b"\r\n\r\n", MAX_HEAD, status=431)
                except Closed:
                    return
                # Tolerate stray CRLFs between requests (RFC 9112 2.2).
                head = head.lstrip(b"\r\n")
                if head == b"":
                    continue
                req = parse_head(head)
                if not self.serve(req, reader):
                    return
        except BadRequest as e:
            log(f"anomaly {self.conn} rejected: {e}")
            try:
                self.respond(None, e.status, self.json_body({"pod": self.pod, "error": str(e)}),
                             close=True)
            except OSError:
                pass
        except (Closed, OSError):
            pass

    def read_body(self, req, reader, sink):
        """Reads the request body into sink; returns (trailers, chunked)."""
        te = req.get_all("transfer-encoding")
        cls = req.get_all("content-length")
        if te and cls:
            log(f"anomaly {self.conn} content-length and transfer-encoding")
        if len(set(cls)) > 1:
            log(f"anomaly {self.conn} content-lengths {cls}")
        if te:
            codings = [t.strip().lower() for v in te for t in v.split(",")]
            if codings[-1] != "chunked":
                raise BadRequest(f"transfer-encoding {te}")
            return self.read_chunked(reader, sink), True
        if cls:
            try:
                n = int(cls[-1])
            except ValueError:
                raise BadRequest(f"content-length {cls[-1]!r}") from None
            if n < 0:
                raise BadRequest(f"content-length {n}")
            reader.read_into(n, sink)
        return {}, False

    def read_chunked(self, reader, sink):
        while True:
            line = reader.read_until(b"\r\n", 4096)[:-2].decode("latin-1")
            size_text = line.split(";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(f"chunk size {size_text[:40]!r}") from None
            if size_text.startswith(("+", "-", "0x", "0X")) or size < 0:
                raise BadRequest(f"chunk size {size_text[:40]!r}")
            if size == 0:
                break
            reader.read_into(size, sink)
            if reader.read_exact(2) != b"\r\n":
                raise BadRequest("chunk data not followed by CRLF")
        trailers = {}
        while True:
            line = reader.read_until(b"\r\n", 65536)[:-2].decode("latin-1")
            if not line:
                return trailers
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(f"bad trailer line {line[:100]!r}")
            trailers[name.strip().lower()] = value.strip()

    def serve(self, req, reader):
        """Answers one request; False when the connection must end."""
        method, path = req.method, req.target.split("?", 1)[0]
        has_body = bool(req.get_all("transfer-encoding") or
                        any(v.strip() not in ("", "0") for v in req.get_all("content-length")))
        expect = req.get("expect")
        if expect and expect.lower() == "100-continue" and has_body:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        digest = hashlib.sha256()
        count = [0]

        def sink(chunk):
            digest.update(chunk)
            count[0] += len(chunk)
        trailers, chunked = self.read_body(req, reader, sink)
        close = req.wants_close()
        if self.delay_s:
            time.sleep(self.delay_s)

        if self.fail_status is not None:
            body = dict(self.base(req), status=self.fail_status)
            self.respond(req, self.fail_status, b"" if self.fail_status in (204, 304)
                         else self.json_body(body), close=close)
            return not close
        if path == "/ws" and method == "GET" and "websocket" in req.tokens("upgrade"):
            return self.websocket(req, reader)
        if path == "/echo" and method in ("POST", "PUT"):
            body = {"pod": self.pod, "peer": self.peer[0], "conn": self.conn,
                    "bytes": count[0], "sha256": digest.hexdigest(), "trailers": trailers,
                    "expect": expect, "chunked": chunked}
            self.respond(req, 200, self.json_body(body), close=close)
        elif method == "GET" and path.startswith("/status/"):
            try:
                code = int(path[len("/status/"):])
            except ValueError:
                code = 400
            if code < 200 or code > 599:
                code = 400
            self.respond(req, code, f"status {code} from {self.pod}\n".encode(),
                         ctype="text/plain", close=close)
        elif method == "GET" and path.startswith("/delay/"):
            try:
                ms = float(path[len("/delay/"):])
            except ValueError:
                ms = 0
            time.sleep(ms / 1000.0)
            self.respond(req, 200, self.json_body(self.base(req)), close=close)
        elif method == "GET" and path.startswith("/chunked/"):
            try:
                n = int(path[len("/chunked/"):])
            except ValueError:
                n = 0
            self.chunked_response(req, n, close)
        elif method == "GET" and path == "/headers":
            headers = {}
            for name, value in req.headers:
                headers.setdefault(name, []).append(value)
            body = dict(self.base(req), headers=headers)
            self.respond(req, 200, self.json_body(body), close=close)
        elif method in ("GET", "HEAD") and path == "/":
            self.respond(req, 200, self.json_body(self.base(req)), close=close)
        else:
            self.respond(req, 404, self.json_body(self.base(req)), close=close)
        return not close

    def chunked_response(self, req, n, close):
        head = _status_line(200) + "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
        if close:
            head += "Connection: close\r\n"
        self.send(head.encode() + b"\r\n")
        for i in range(n):
            data = f"chunk {i}\n".encode()
            self.send(b"%x\r\n%s\r\n" % (len(data), data))
        self.send(b"0\r\n\r\n")
        self.served += 1
        log(f"request {self.conn} {req.method} {req.target} 200")

    # -- WebSocket --------------------------------------------------------------------------

    def websocket(self, req, reader):
        key = req.get("sec-websocket-key")
        if not key or req.get("sec-websocket-version") != "13" or \
                "upgrade" not in req.tokens("connection"):
            self.respond(req, 400, self.json_body({"pod": self.pod, "error": "bad handshake"}),
                         close=True)
            return False
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send((_status_line(101) + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Accept: {accept}\r\nX-Pod: {self.pod}\r\n\r\n").encode())
        self.served += 1
        log(f"request {self.conn} GET {req.target} 101")
        message, message_op = bytearray(), None
        while True:
            fin, op, payload = self.ws_frame(reader)
            if op == 0x8:  # close: echo the status code back, then close
                self.send(ws_frame(0x8, payload[:2]))
                log(f"ws {self.conn} close")
                return False
            if op == 0x9:
                self.send(ws_frame(0xA, payload))
                continue
            if op == 0xA:
                continue
            if op in (0x1, 0x2):
                message, message_op = bytearray(payload), op
            elif op == 0x0 and message_op is not None:
                message += payload
            else:
                raise BadRequest(f"websocket opcode {op}")
            if len(message) > MAX_WS_MESSAGE:
                raise BadRequest("websocket message too large")
            if fin:
                self.send(ws_frame(message_op, bytes(message)))
                log(f"ws {self.conn} {'text' if message_op == 1 else 'binary'} {len(message)}")
                message, message_op = bytearray(), None

    def ws_frame(self, reader):
        b0, b1 = reader.read_exact(2)
        fin, op, masked, n = b0 >> 7, b0 & 0x0F, b1 >> 7, b1 & 0x7F
        if n == 126:
            n = int.from_bytes(reader.read_exact(2), "big")
        elif n == 127:
            n = int.from_bytes(reader.read_exact(8), "big")
        if n > MAX_WS_MESSAGE:
            raise BadRequest(f"websocket frame of {n} bytes")
        mask = reader.read_exact(4) if masked else None
        payload = reader.read_exact(n)
        if mask:
            payload = unmask(payload, mask)
        return fin, op, payload


def unmask(data, mask):
    """XOR with the 4-byte mask, fast enough for 64 KiB frames in pure Python."""
    n = len(data)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(n, "little")


def ws_frame(op, payload, mask=None):
    """One final frame; client frames pass a 4-byte mask."""
    n = len(payload)
    head = bytes([0x80 | op])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if mask:
        return head + mask + unmask(payload, mask)
    return head + payload


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="0 = any free port")
    parser.add_argument("--address", default="0.0.0.0")
    parser.add_argument("--name", required=True, help="pod name reported to clients")
    parser.add_argument("--fail-status", type=int, default=None,
                        help="answer every request with this status (200-599)")
    parser.add_argument("--delay-ms", type=float, default=0,
                        help="answer every request this long after it was read")
    args = parser.parse_args()
    if args.fail_status is not None and not 200 <= args.fail_status <= 599:
        parser.error(f"--fail-status: want 200-599, got {args.fail_status}")
    handler = type("PodHandler", (Handler,), {"pod": args.name,
                                             "fail_status": args.fail_status,
                                             "delay_s": args.delay_ms / 1000})
    server = Server((args.address, args.port), handler)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
