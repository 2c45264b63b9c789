#!/usr/bin/python3
"""Holds many connections open at once, run inside a pod by the e2e tests.

  parallel_client.py HOST PORT --connections N --release-file F
Opens N connections to an echo server (pod_server.py --mode echo), sends 1 KiB of random
data on each and reads its echo, prints "holding <n established and echoed>" on stdout and
keeps them all open until F exists (or --hold-timeout passes); then sends a second 1 KiB on
each, half-closes, reads the rest of the echo to EOF and prints one JSON object:
  {"opened", "ok", "failed", "errors": [...]}
"""
import argparse
import json
import os
import socket
import sys
import time

from echo_wire import recv_to_eof


def _read_exact(sock, n):
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--release-file", required=True)
    parser.add_argument("--hold-timeout", type=float, default=120)
    args = parser.parse_args()
    conns = []  # (socket, first payload)
    errors = []
    failed = 0
    for _ in range(args.connections):
        try:
            s = socket.create_connection((args.host, args.port), timeout=20)
            conns.append(s)
        except OSError as e:
            failed += 1
            errors.append(f"connect: {e!r}")
    # All connections exist before any data flows: the mesh has them open in parallel.
    alive = []
    for s in conns:
        payload = os.urandom(1024)
        try:
            s.sendall(payload)
            if _read_exact(s, len(payload)) != payload:
                raise ValueError("first echo mismatch")
            alive.append(s)
        except (OSError, ValueError) as e:
            failed += 1
            errors.append(f"first echo: {e!r}")
            s.close()
    print(f"holding {len(alive)}", flush=True)
    deadline = time.monotonic() + args.hold_timeout
    while not os.path.exists(args.release_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    ok = 0
    for s in alive:
        payload = os.urandom(1024)
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = recv_to_eof(s)
            if got == payload:
                ok += 1
            else:
                failed += 1
                errors.append(f"second echo mismatch: got {len(got)} bytes")
        except OSError as e:
            failed += 1
            errors.append(f"second echo: {e!r}")
        finally:
            s.close()
    json.dump({"opened": len(conns), "ok": ok, "failed": failed, "errors": errors[:10]},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
