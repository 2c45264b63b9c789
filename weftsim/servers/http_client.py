#!/usr/bin/python3
"""Parallel HTTP/1.1 keep-alive client for http_app.py, run inside a pod by the e2e tests.

  http_client.py HOST PORT [--connections C] [--requests R] [--path /] [--interval-ms MS]
                 [--timeout S] [--reconnect]
Opens C TCP connections (all of them before any request), then on each, in its own thread,
makes R GET requests one after the other on that same connection (never reconnecting: a
connection the server closes fails its remaining requests), MS milliseconds apart; with
--reconnect each request is made on a new connection instead. A request is ok when it answers
200 with a JSON body naming a pod. Prints one JSON object and exits 0 (the test asserts on it):
  {"connections": C, "requests": C*R, "ok", "failed", "by_pod": {pod: ok requests},
   "by_peer": {peer the app saw: ok requests}, "statuses": {code: n},
   "app_connections": distinct (pod, conn) pairs the answers named (upstream connections the
   apps saw), "errors": [first few], "elapsed_s", "max_latency_s": the slowest request}
"""
import argparse
import http.client
import json
import threading
import time

MAX_ERRORS = 5


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1)
    parser.add_argument("--path", default="/")
    parser.add_argument("--interval-ms", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--reconnect", action="store_true")
    args = parser.parse_args()
    lock = threading.Lock()
    res = {"connections": args.connections, "requests": args.connections * args.requests,
           "ok": 0, "failed": 0, "by_pod": {}, "by_peer": {}, "statuses": {}, "errors": [],
           "max_latency_s": 0.0}
    app_conns = set()

    def fail(n, msg):
        with lock:
            res["failed"] += n
            if len(res["errors"]) < MAX_ERRORS:
                res["errors"].append(msg)

    conns = []
    for i in range(args.connections):
        c = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
        try:
            c.connect()
            c.auto_open = 0  # a closed connection raises instead of silently reconnecting
            conns.append(c)
        except OSError as e:
            fail(args.requests, f"connection {i}: connect: {e!r}")
    start = threading.Barrier(len(conns) + 1) if conns else None

    def worker(i, c):
        start.wait()
        for j in range(args.requests):
            if j and args.interval_ms:
                time.sleep(args.interval_ms / 1000.0)
            sent = time.monotonic()
            try:
                if args.reconnect and j:
                    c.close()
                    c = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
                    c.connect()
                c.request("GET", args.path)
                r = c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                if args.reconnect:
                    fail(1, f"connection {i} request {j}: {e!r}")
                    continue
                fail(args.requests - j, f"connection {i} request {j}: {e!r}")
                return
            finally:
                with lock:
                    res["max_latency_s"] = max(res["max_latency_s"],
                                               round(time.monotonic() - sent, 3))
            with lock:
                res["statuses"][str(r.status)] = res["statuses"].get(str(r.status), 0) + 1
            try:
                answer = json.loads(body)
                pod, peer = answer["pod"], answer["peer"]
            except (ValueError, KeyError, TypeError):
                answer, pod = None, None
            if r.status != 200 or not pod:
                fail(1, f"connection {i} request {j}: {r.status} {body[:200]!r}")
                continue
            with lock:
                res["ok"] += 1
                res["by_pod"][pod] = res["by_pod"].get(pod, 0) + 1
                res["by_peer"][peer] = res["by_peer"].get(peer, 0) + 1
                app_conns.add((pod, answer.get("conn")))
        c.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(conns)]
    for t in threads:
        t.start()
    began = time.monotonic()
    if start:
        start.wait()
    for t in threads:
        t.join()
    res["elapsed_s"] = round(time.monotonic() - began, 3)
    res["app_connections"] = len(app_conns)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
