#!/usr/bin/python3
"""Misbehaving clients of the chaos soak (bench/run.sh chaos, issue 23), run inside a pod's
netns: N connections at once from one thread, each watched until the other side ends it or
--seconds pass, then one JSON line on stdout. Stdlib only.

  chaos_mischief.py slow HOST PORT --connections N [--interval 1] [--seconds 30]
      slowloris: each connection sends an HTTP/1.1 request head that never ends ("GET /
      HTTP/1.1\\r\\nHost: slow\\r\\n", then "X-Slow-<i>: a\\r\\n" lines, never the blank line),
      one byte every --interval seconds, the first at once
  chaos_mischief.py junk HOST PORT --connections N [--bytes 2048] [--seconds 15] [--seed S]
      each connection sends --bytes random bytes at once (no protocol at all), then reads
      whatever comes back until the other side closes
  chaos_mischief.py idle HOST PORT --connections N [--seconds 150]
      each connection sends one keep-alive "GET /" and reads its answer, then stays idle
      until the other side closes it (an HTTP idle limit)

JSON: {"mode", "connections", "connected", "connect_failed": {reason: n},
       "ended": {"eof" | "reset" | "open": n}   (how each connection ended; open = still open
                                                  after --seconds, then closed by us),
       "answers": {first response line or "-": n}, "exchanged" (idle: answered GETs),
       "closed_after": {"min", "median", "max"} seconds from open (idle: from the answer) to
                       the other side's close, over the connections it closed}
"""
import argparse
import errno
import json
import random
import selectors
import statistics
import time

from stall_wire import connect_all, get_request, response_done, slow_head


def _reason(err):
    """An errno's name (ECONNREFUSED ...): what the soak's report shows, not stall_wire's."""
    return errno.errorcode.get(err, str(err))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["slow", "junk", "idle"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--connections", type=int, required=True)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--bytes", type=int, default=2048)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(a.seed)

    sel = selectors.DefaultSelector()
    failed = {}
    conns = []
    for s in connect_all(a.host, a.port, a.connections, failed, name=_reason):
        i = len(conns)
        c = {"sock": s, "opened": time.monotonic(), "buf": b"", "sent": 0, "ended": None,
             "how": None, "answered": None}
        if a.mode == "slow":
            c["out"] = slow_head(i, 8192)
        elif a.mode == "junk":
            c["out"] = bytes(rng.getrandbits(8) for _ in range(a.bytes))
        else:
            c["out"] = get_request(f"{a.host}:{a.port}")
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)

    def send(c, n):
        chunk = c["out"][c["sent"]:c["sent"] + n]
        if not chunk:
            return
        try:
            c["sent"] += c["sock"].send(chunk)
        except OSError:
            pass  # the end shows on the read side

    def end(c, how):
        c["ended"] = time.monotonic()
        c["how"] = how
        sel.unregister(c["sock"])

    for c in conns:
        send(c, 1 if a.mode == "slow" else len(c["out"]))
    stop_at = time.monotonic() + a.seconds
    next_byte = time.monotonic() + a.interval
    while time.monotonic() < stop_at and any(c["ended"] is None for c in conns):
        now = time.monotonic()
        wait = stop_at - now
        if a.mode == "slow":
            wait = min(wait, max(0.0, next_byte - now))
        for key, _ in sel.select(max(0.0, wait)):
            c = key.data
            try:
                data = c["sock"].recv(65536)
            except OSError as e:
                end(c, "reset" if e.errno in (errno.ECONNRESET, errno.EPIPE) else
                    _reason(e.errno or 0))
                continue
            if not data:
                end(c, "eof")
                continue
            c["buf"] += data
            if c["answered"] is None and (a.mode != "idle" or response_done(c["buf"])[0]):
                c["answered"] = time.monotonic()
        if a.mode == "slow" and time.monotonic() >= next_byte:
            next_byte += a.interval
            for c in conns:
                if c["ended"] is None:
                    send(c, 1)

    ended, answers, closed_after = {}, {}, []
    for c in conns:
        how = c["how"] or "open"
        ended[how] = ended.get(how, 0) + 1
        first = c["buf"].split(b"\r\n", 1)[0][:40].decode("latin-1") if c["buf"] else "-"
        if a.mode == "junk" and c["buf"] and not first.startswith("HTTP/"):
            first = f"{len(c['buf'])} bytes, not HTTP"
        answers[first] = answers.get(first, 0) + 1
        if c["ended"] is not None:
            since = c["answered"] if a.mode == "idle" and c["answered"] else c["opened"]
            closed_after.append(c["ended"] - since)
        c["sock"].close()
    out = {"mode": a.mode, "connections": a.connections, "connected": len(conns),
           "connect_failed": failed, "ended": ended, "answers": answers,
           "exchanged": sum(1 for c in conns if c["answered"]) if a.mode == "idle" else None,
           "closed_after": {"min": round(min(closed_after), 3),
                            "median": round(statistics.median(closed_after), 3),
                            "max": round(max(closed_after), 3)} if closed_after else None}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
