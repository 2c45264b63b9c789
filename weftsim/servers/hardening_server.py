#!/usr/bin/python3
"""The backend of the hardening bench (issue 23), run inside a pod's netns: one thread, one
epoll, thousands of connections (its RLIMIT_NOFILE soft limit raised to the hard one).

  hardening_server.py --http PORT [--echo PORT] [--name NAME]

  --http  HTTP/1.1 keep-alive: every complete request head (GET/HEAD, no body expected) is
          answered 200 with a short text body naming the pod; pipelined heads are answered in
          order; a head without its blank line is kept (no timeout of its own: what a slow
          client costs is the agent's business); a head over 64 KiB is answered 431 and closed
  --echo  raw TCP: every byte echoed back; EOF from the client ends the connection

Prints "ready <http port>" once listening. On SIGUSR1 prints one JSON line of counters:
  {"open": connections now open, "accepted": total, "requests": answered,
   "partial": open HTTP connections holding part of a head (bytes but no blank line yet),
   "idle_http": open HTTP connections holding nothing, "echo_open": open echo connections}
"""
import argparse
import json
import os
import resource
import selectors
import signal
import socket
import sys

MAX_HEAD = 64 * 1024


class Conn:
    __slots__ = ("sock", "kind", "inbuf", "outbuf")

    def __init__(self, sock, kind):
        self.sock = sock
        self.kind = kind
        self.inbuf = b""
        self.outbuf = b""


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--http", type=int, required=True)
    p.add_argument("--echo", type=int)
    p.add_argument("--name", default=os.uname().nodename)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    body = f"hello from {args.name}\n".encode()
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
    sel = selectors.DefaultSelector()
    listeners = {}
    for kind, port in (("http", args.http), ("echo", args.echo)):
        if port is None:
            continue
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", port))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, kind)
        listeners[ls] = kind
    conns = {}
    stats = {"accepted": 0, "requests": 0}
    report = []
    signal.signal(signal.SIGUSR1, lambda *_: report.append(1))

    def close(c):
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        conns.pop(c.sock.fileno(), None)
        c.sock.close()

    def want(c):
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.outbuf else 0)
        sel.modify(c.sock, events, c)

    def flush(c):
        while c.outbuf:
            try:
                n = c.sock.send(c.outbuf)
            except BlockingIOError:
                break
            except OSError:
                close(c)
                return False
            c.outbuf = c.outbuf[n:]
        want(c)
        return True

    def on_http(c, data):
        c.inbuf += data
        while True:
            end = c.inbuf.find(b"\r\n\r\n")
            if end < 0:
                if len(c.inbuf) > MAX_HEAD:
                    c.outbuf += b"HTTP/1.1 431 Request Header Fields Too Large\r\n" \
                                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                    flush(c)
                    close(c)
                    return
                break
            head, c.inbuf = c.inbuf[:end], c.inbuf[end + 4:]
            stats["requests"] += 1
            c.outbuf += response
            if b"\r\nconnection: close" in head.lower():
                flush(c)
                close(c)
                return
        flush(c)

    print(f"ready {args.http}", flush=True)
    while True:
        if report:
            report.clear()
            http_conns = [c for c in conns.values() if c.kind == "http"]
            print(json.dumps({"open": len(conns), "accepted": stats["accepted"],
                              "requests": stats["requests"],
                              "partial": sum(1 for c in http_conns if c.inbuf),
                              "idle_http": sum(1 for c in http_conns if not c.inbuf),
                              "echo_open": sum(1 for c in conns.values()
                                               if c.kind == "echo")}), flush=True)
        try:
            events = sel.select(timeout=1.0)
        except InterruptedError:
            continue
        for key, mask in events:
            if key.fileobj in listeners:
                for _ in range(256):
                    try:
                        s, _peer = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:  # EMFILE and the like: report, retry later
                        sys.stderr.write(f"accept: {e}\n")
                        break
                    s.setblocking(False)
                    c = Conn(s, key.data)
                    conns[s.fileno()] = c
                    sel.register(s, selectors.EVENT_READ, c)
                    stats["accepted"] += 1
                continue
            c = key.data
            if mask & selectors.EVENT_WRITE:
                if not flush(c):
                    continue
            if mask & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    close(c)
                    continue
                if not data:
                    close(c)
                    continue
                if c.kind == "echo":
                    c.outbuf += data
                    flush(c)
                else:
                    on_http(c, data)


if __name__ == "__main__":
    main()
