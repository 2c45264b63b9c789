#!/usr/bin/python3
"""A tiny server run inside a pod's netns by the e2e tests, the demo and the bench.

Modes:
  http  HTTP/1.1 GET -> 200 with JSON {"pod": NAME, "peer": client IP, "peerPort": port}
  echo  raw TCP: echoes every byte; on EOF from the client, shuts down its write side
        (echo and sha log "accept <peer ip> <port>" on stderr per connection)
  sha   raw TCP: reads until EOF, then replies "<sha256 hex> <byte count>\\n" and closes
        (the client has half-closed, so this proves the reverse direction still works)
  udp   UDP: answers each datagram with JSON {"pod", "peer", "bytes"}
  banner raw TCP, server speaks first: "hello from NAME\n" on accept, then echoes
  hold  raw TCP: accepts and never reads (a peer that stopped reading), until killed
  reset raw TCP: resets every connection as it accepts it, before any byte (SO_LINGER 0): an
        app that dies or sheds load just as a connection arrives
Prints "ready <port>" on stdout once listening, then serves until killed.
"""
import argparse
import hashlib
import http.server
import json
import socket
import socketserver
import struct
import sys
import threading


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


def _http_handler(pod_name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's naming
            body = json.dumps({"pod": pod_name, "peer": self.client_address[0],
                               "peerPort": self.client_address[1],
                               "path": self.path}).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write(f"{self.client_address[0]} {fmt % args}\n")

    return Handler


def _log_accept(peer):
    # Tests read these lines to learn which endpoint a raw TCP connection reached and from
    # which source address.
    sys.stderr.write(f"accept {peer[0]} {peer[1]}\n")
    sys.stderr.flush()


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        _log_accept(self.client_address)
        while True:
            data = sock.recv(65536)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)


class _ShaHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        _log_accept(self.client_address)
        digest = hashlib.sha256()
        count = 0
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while True:
            n = sock.recv_into(buf)
            if n == 0:
                break
            digest.update(view[:n])
            count += n
        sock.sendall(f"{digest.hexdigest()} {count}\n".encode())
        sock.shutdown(socket.SHUT_WR)


class _HoldHandler(socketserver.BaseRequestHandler):
    def handle(self):
        _log_accept(self.client_address)
        threading.Event().wait()  # holds the socket, unread, for the server's life


class _ResetHandler(socketserver.BaseRequestHandler):
    def handle(self):
        _log_accept(self.client_address)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def finish(self):
        self.request.close()  # with SO_LINGER 0: RST, not FIN


def _serve_udp(port, pod_name):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    print(f"ready {sock.getsockname()[1]}", flush=True)
    while True:
        data, peer = sock.recvfrom(65535)
        reply = json.dumps({"pod": pod_name, "peer": peer[0], "bytes": len(data)}).encode()
        sock.sendto(reply, peer)


def _banner_handler(pod_name):
    class Handler(_EchoHandler):
        def handle(self):
            self.request.sendall(f"hello from {pod_name}\n".encode())
            super().handle()

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["http", "echo", "sha", "udp", "banner", "hold", "reset"],
                        required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True, help="pod name reported to clients")
    args = parser.parse_args()

    if args.mode == "udp":
        _serve_udp(args.port, args.name)
        return
    handler = {"http": _http_handler(args.name), "echo": _EchoHandler,
               "sha": _ShaHandler, "banner": _banner_handler(args.name),
               "hold": _HoldHandler, "reset": _ResetHandler}[args.mode]
    server = _ThreadingTCPServer(("0.0.0.0", args.port), handler)
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
