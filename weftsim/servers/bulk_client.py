#!/usr/bin/python3
"""Many bulk transfers at once, run inside a pod by the e2e tests.

  bulk_client.py HOST PORT --connections N --bytes B [--mode echo|sha] [--deadline S]
Opens N connections together and, on all of them at the same time, sends B random bytes and
half-closes. echo: reads the echo back while still sending (both directions move at once) and
checks it byte for byte. sha: reads "<sha256> <count>" (pod_server.py --mode sha) and checks
it. One thread drives every socket (non-blocking, selectors), so N is not limited by threads.
After --deadline seconds the transfers not finished count as hung. Prints one JSON object:
  {"ok", "failed", "hung", "errors": [...], "stuck": [{"sent", "received"}, ...], "seconds"}
"""
import argparse
import hashlib
import json
import os
import selectors
import socket
import sys
import time


class Transfer:
    def __init__(self, sock, payload, mode):
        self.sock = sock
        self.payload = payload
        self.mode = mode
        self.sent = 0
        self.received = bytearray()
        self.half_closed = False
        self.done = False
        self.error = None

    def events(self):
        return selectors.EVENT_READ | (0 if self.half_closed else selectors.EVENT_WRITE)

    def on_writable(self):
        n = self.sock.send(memoryview(self.payload)[self.sent:self.sent + (256 << 10)])
        self.sent += n
        if self.sent == len(self.payload):
            self.sock.shutdown(socket.SHUT_WR)
            self.half_closed = True

    def on_readable(self):
        chunk = self.sock.recv(256 << 10)
        if chunk:
            self.received += chunk
            return
        self.done = True
        if self.mode == "echo":
            if bytes(self.received) != self.payload:
                self.error = f"echo mismatch: sent {self.sent} got {len(self.received)}"
        else:
            want = f"{hashlib.sha256(self.payload).hexdigest()} {len(self.payload)}"
            if self.received.decode(errors="replace").strip() != want:
                self.error = f"sha mismatch: {self.received[:100]!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--mode", choices=["echo", "sha"], default="echo")
    parser.add_argument("--deadline", type=float, default=60)
    args = parser.parse_args()

    start = time.monotonic()
    sel = selectors.DefaultSelector()
    transfers = []
    errors = []
    failed = 0
    for _ in range(args.connections):
        try:
            s = socket.create_connection((args.host, args.port), timeout=20)
        except OSError as e:
            failed += 1
            errors.append(f"connect: {e!r}")
            continue
        s.setblocking(False)
        t = Transfer(s, os.urandom(args.bytes), args.mode)
        transfers.append(t)
        sel.register(s, t.events(), t)
    deadline = start + args.deadline
    live = len(transfers)
    while live > 0 and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=0.5):
            t = key.data
            try:
                if mask & selectors.EVENT_WRITE and not t.half_closed:
                    t.on_writable()
                if mask & selectors.EVENT_READ:
                    t.on_readable()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                t.done = True
                t.error = repr(e)
            if t.done:
                sel.unregister(t.sock)
                t.sock.close()
                live -= 1
            elif key.events != t.events():
                sel.modify(t.sock, t.events(), t)
    ok = sum(1 for t in transfers if t.done and t.error is None)
    failed += sum(1 for t in transfers if t.done and t.error is not None)
    errors += [t.error for t in transfers if t.error is not None]
    stuck = [t for t in transfers if not t.done]
    for t in stuck:
        t.sock.close()
    json.dump({"ok": ok, "failed": failed, "hung": len(stuck), "errors": errors[:10],
               "stuck": [{"sent": t.sent, "received": len(t.received)} for t in stuck[:10]],
               "seconds": round(time.monotonic() - start, 3)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
