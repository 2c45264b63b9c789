#!/usr/bin/python3
"""A soak client run inside a pod by the e2e tests: one long-lived echo connection streaming
data for --seconds, while a new short echo connection is made every --interval seconds.

  soak_client.py HOST PORT --seconds S --interval I --rate BYTES_PER_S
Every byte sent on every connection must come back identical (the server is pod_server.py
--mode echo). Prints one JSON object:
  {"long": {"sent", "received", "exact": bool, "error"},
   "short": {"ok", "failed", "errors": [...]}, "seconds"}
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


def _long_stream(host, port, seconds, rate, out):
    sent_digest, got_digest = hashlib.sha256(), hashlib.sha256()
    sent = received = 0
    error = None
    try:
        with socket.create_connection((host, port), timeout=30) as s:
            def reader():
                nonlocal received
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    got_digest.update(chunk)
                    received += len(chunk)
            t = threading.Thread(target=reader)
            t.start()
            chunk = max(1, rate // 10)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                piece = os.urandom(chunk)
                sent_digest.update(piece)
                s.sendall(piece)
                sent += len(piece)
                time.sleep(0.1)
            s.shutdown(socket.SHUT_WR)
            t.join(timeout=30)
            if t.is_alive():
                error = "echo did not finish within 30 s of the half-close"
    except OSError as e:
        error = repr(e)
    out["long"] = {"sent": sent, "received": received,
                   "exact": error is None and sent == received
                   and sent_digest.digest() == got_digest.digest(), "error": error}


def _one_short(host, port):
    payload = os.urandom(4096)
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = recv_to_eof(s)
    if got != payload:
        raise ValueError(f"echo mismatch: sent {len(payload)} got {len(got)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--rate", type=int, default=256 << 10, help="long stream bytes/s")
    args = parser.parse_args()
    start = time.monotonic()
    out = {}
    long_thread = threading.Thread(target=_long_stream,
                                   args=(args.host, args.port, args.seconds, args.rate, out))
    long_thread.start()
    ok = failed = 0
    errors = []
    deadline = start + args.seconds
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            _one_short(args.host, args.port)
            ok += 1
        except (OSError, ValueError) as e:
            failed += 1
            errors.append(f"{round(t0 - start, 1)}s: {e!r}")
        time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    long_thread.join()
    out["short"] = {"ok": ok, "failed": failed, "errors": errors[:10]}
    out["seconds"] = round(time.monotonic() - start, 1)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
