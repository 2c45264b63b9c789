#!/usr/bin/python3
"""Clients run inside a pod's netns by the e2e tests; each prints one JSON object.

  echo  HOST PORT --connections N --size B [--pause S]: N sequential connections, each
        stays idle S seconds after connect(), sends B bytes, half-closes, reads the echo until EOF; {"ok": n, "failed": n, "errors": [...],
        "sent": bytes, "received": bytes}
  sha   HOST PORT --bytes N: streams N bytes of pseudo-random data (a 16 MiB urandom pool
        read at moving offsets), half-closes, reads "<sha256> <count>" back;
        {"sentSha256", "sentBytes", "reply", "seconds"}
  push  HOST PORT --bytes N: sends up to N bytes and never reads, until a send fails (a peer
        that stops reading and a mesh that gives up on it); {"sent", "error", "seconds": from
        connect() to the failure or the last byte}
  knock HOST PORT: connects, sends "knock", reads until EOF or an error (a port nobody
        listens on, reached through the mesh); {"received", "error", "seconds": from connect()}
  churn HOST PORT --interval-ms MS --seconds S: a new connection every MS ms for S seconds,
        each echoing 16 bytes (pod_server.py --mode echo) and closing;
        {"attempts", "ok", "failures": [[wall-clock time, error], ...]}
  udp   HOST PORT: one datagram, waits 3 s for the reply; {"reply": <decoded JSON>}
  banner HOST PORT: for a server that speaks first: connects, sends nothing, times the
        greeting, then sends "ping" and reads the echo; {"banner", "waited": seconds from
        connect() to the greeting, "echo"}
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time

from echo_wire import recv_to_eof


def _send_and_half_close(sock, payload):
    try:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the reader sees the short echo and reports it


def _echo(args):
    ok = failed = sent = received = 0
    errors = []
    payload = os.urandom(args.size)
    for _ in range(args.connections):
        try:
            with socket.create_connection((args.host, args.port), timeout=10) as s:
                time.sleep(args.pause)
                # Send from a thread while reading here: the echo comes back while we still
                # send, and large payloads would otherwise fill every buffer and stall.
                sender = threading.Thread(target=_send_and_half_close, args=(s, payload))
                sender.start()
                got = recv_to_eof(s)
                sender.join()
            sent += len(payload)
            received += len(got)
            if got == payload:
                ok += 1
            else:
                failed += 1
                errors.append(f"echo mismatch: sent {len(payload)} got {len(got)}")
        except OSError as e:
            failed += 1
            errors.append(repr(e))
    return {"ok": ok, "failed": failed, "errors": errors[:5], "sent": sent,
            "received": received}


def _sha(args):
    pool = os.urandom(16 << 20)
    pool_view = memoryview(pool)
    chunk = 1 << 20
    digest = hashlib.sha256()
    left = args.bytes
    k = 0
    start = time.monotonic()
    with socket.create_connection((args.host, args.port), timeout=60) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        while left > 0:
            n = min(chunk, left)
            # An offset that moves by a prime so no two consecutive chunks repeat.
            off = (k * 1_048_573) % (len(pool) - chunk)
            piece = pool_view[off:off + n]
            digest.update(piece)
            s.sendall(piece)
            left -= n
            k += 1
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            data = s.recv(4096)
            if not data:
                break
            reply += data
    return {"sentSha256": digest.hexdigest(), "sentBytes": args.bytes,
            "reply": reply.decode(errors="replace").strip(),
            "seconds": round(time.monotonic() - start, 3)}


def _push(args):
    chunk = os.urandom(64 << 10)
    sent = 0
    error = None
    start = time.monotonic()
    with socket.create_connection((args.host, args.port), timeout=10) as s:
        s.settimeout(120)
        try:
            while sent < args.bytes:
                sent += s.send(chunk[:args.bytes - sent])
        except OSError as e:
            error = repr(e)
    return {"sent": sent, "error": error, "seconds": round(time.monotonic() - start, 3)}


def _knock(args):
    start = time.monotonic()
    received = b""
    error = None
    try:
        with socket.create_connection((args.host, args.port), timeout=20) as s:
            s.sendall(b"knock")
            received = recv_to_eof(s)
    except OSError as e:
        error = repr(e)
    return {"received": received.decode(errors="replace"), "error": error,
            "seconds": round(time.monotonic() - start, 3)}


def _churn(args):
    attempts = ok = 0
    failures = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        attempts += 1
        at = time.time()
        payload = os.urandom(16)
        try:
            with socket.create_connection((args.host, args.port), timeout=2) as s:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                got = recv_to_eof(s)
            if got != payload:
                raise ValueError(f"echo mismatch: {len(got)} bytes")
            ok += 1
        except (OSError, ValueError) as e:
            failures.append([at, repr(e)])
        time.sleep(args.interval_ms / 1000)
    return {"attempts": attempts, "ok": ok, "failures": failures}


def _udp(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00weft-e2e-query", (args.host,
                                                                               args.port))
    data, _ = s.recvfrom(65535)
    return {"reply": json.loads(data)}


def _banner(args):
    start = time.monotonic()
    with socket.create_connection((args.host, args.port), timeout=10) as s:
        banner = s.recv(100)
        waited = time.monotonic() - start
        s.sendall(b"ping")
        echo = s.recv(100)
    return {"banner": banner.decode(), "waited": waited, "echo": echo.decode()}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode",
                        choices=["echo", "sha", "push", "knock", "churn", "udp", "banner"])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--bytes", type=int, default=1 << 20)
    parser.add_argument("--pause", type=float, default=0)
    parser.add_argument("--interval-ms", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    result = {"echo": _echo, "sha": _sha, "push": _push, "knock": _knock, "churn": _churn,
              "udp": _udp, "banner": _banner}[args.mode](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
