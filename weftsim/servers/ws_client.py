#!/usr/bin/python3
"""A WebSocket (RFC 6455) client for http_app.py's /ws echo, run inside a pod by the e2e tests.

  ws_client.py HOST PORT [--messages N] [--sizes 10,1000,65536] [--binary] [--path /ws]
               [--timeout S]
Opens one TCP connection, does the handshake (checks 101 and Sec-WebSocket-Accept), sends N
masked messages one at a time (message i is text of sizes[i % len(sizes)] random
characters, or random bytes with --binary), checks that each echo is identical, then sends a
close frame (1000) and waits for the server's. Prints one JSON object and exits 0 even when
something failed (the test asserts on it):
  {"ok": echoed messages, "messages": N, "pod": the X-Pod response header, "closed": the
   server returned the close frame, "errors": [first few]}
"""
import argparse
import base64
import hashlib
import json
import os
import random
import socket
import string

from http_app import WS_GUID, unmask, ws_frame

MAX_ERRORS = 5


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def read_exact(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed with {len(self.buf)} of {n} bytes read")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed during the handshake: {bytes(self.buf)!r}")
            self.buf += data
        i = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:i]).decode("latin-1")
        del self.buf[:i]
        return head

    def frame(self):
        b0, b1 = self.read_exact(2)
        fin, op, masked, n = b0 >> 7, b0 & 0x0F, b1 >> 7, b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self.read_exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self.read_exact(8), "big")
        mask = self.read_exact(4) if masked else None
        payload = self.read_exact(n)
        return fin, op, (unmask(payload, mask) if mask else payload)

    def message(self):
        """(opcode, payload) of the next data or close message (pings answered)."""
        data, first_op = bytearray(), None
        while True:
            fin, op, payload = self.frame()
            if op == 0x9:
                self.sock.sendall(ws_frame(0xA, payload, os.urandom(4)))
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                return op, payload
            if op != 0:
                first_op = op
            data += payload
            if fin:
                return first_op, bytes(data)


def handshake(conn, host, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                       f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = conn.read_head()
    lines = head.split("\r\n")
    status = lines[0].split(" ")
    if len(status) < 2 or status[1] != "101":
        raise RuntimeError(f"handshake answered {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    if headers.get("sec-websocket-accept") != want:
        raise RuntimeError(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, "
                           f"want {want!r}")
    return headers.get("x-pod")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--sizes", default="10,1000,65536",
                        help="comma-separated message sizes, used in turn")
    parser.add_argument("--binary", action="store_true")
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    out = {"ok": 0, "messages": args.messages, "pod": None, "closed": False, "errors": []}
    try:
        sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock)
        out["pod"] = handshake(conn, args.host, args.port, args.path)
        alphabet = (string.ascii_letters + string.digits).encode()
        for i in range(args.messages):
            size = sizes[i % len(sizes)]
            if args.binary:
                op, payload = 0x2, os.urandom(size)
            else:
                op, payload = 0x1, bytes(random.choices(alphabet, k=size))
            sock.sendall(ws_frame(op, payload, os.urandom(4)))
            got_op, got = conn.message()
            if got_op != op or got != payload:
                if len(out["errors"]) < MAX_ERRORS:
                    out["errors"].append(f"message {i} ({size} bytes): echo opcode {got_op}, "
                                         f"{len(got)} bytes, equal={got == payload}")
                continue
            out["ok"] += 1
        sock.sendall(ws_frame(0x8, (1000).to_bytes(2, "big"), os.urandom(4)))
        op, payload = conn.message()
        out["closed"] = op == 0x8 and payload[:2] == (1000).to_bytes(2, "big")
        sock.close()
    except (OSError, EOFError, RuntimeError, ValueError) as e:
        out["errors"].append(repr(e))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
