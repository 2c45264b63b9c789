"""Rollout bench (issue 22): what replacing the agents of a running mesh costs the traffic, for
weft's hand-over and, as references, for the same replacement done the old way.

Two simulated nodes (`weftsim.rollout.rollout_topology`): on each a meshed backend pod (HTTP/1.1
http_app.py, h2c and gRPC grpc_echo_server.py, an echo server) and a meshed client pod; Services
web / h2 / rpc over both backends, so each client's requests go to its own node and across (the
agent balances per request). Both clients run servers/rollout_load.py: bounded HTTP/1.1
keep-alive, HTTP/2 (h2c) and gRPC unary load (--rate requests/s per kind and client), every
failed request counted (none retried; only HTTP/2 streams a GOAWAY says were never processed
are sent again, and grpc's transparent retry of the same), every refused connection counted,
plus one long-lived L4 stream (same node, --stream-seconds) whose fate is reported.

Per measurement: the load starts, --lead seconds later node1's agent is replaced, then node2's,
and the load goes on --tail seconds more. Ways of replacing an agent:

- handover: `Agent.hand_over` (a successor with the same settings and the other admin port;
  once it is ready, SIGTERM to the predecessor, which drains and exits). Window: successor
  started -> predecessor exited.
- restart: SIGTERM, wait for the agent to drain and exit, start a new one, wait for /ready
  (what a DaemonSet with maxUnavailable 1 does). Window: SIGTERM -> new /ready.
- kill: SIGKILL, start a new one, wait for /ready (a crash, or the agent before issue 22).
  Window: SIGKILL -> new /ready.

Reported per way (medians over --rounds, the ways' order rotating each round): requests,
failed requests and refused connections (summed over rounds), p50/p99 latency of the requests
that started inside the replacement windows and outside them, the windows' length, the L4
stream's fate, the predecessors' exit statuses.

  PYTHONPATH=$PWD /usr/bin/python3 bench/rollout_bench.py [--rounds 3] [--ways handover,kill]
  bench/run.sh rollout [same options]

Writes bench/results/<UTC date>-rollout.md (unless --no-save) and prints it. Exit status 0 when
the hand-over failed no request and refused no connection, 1 otherwise, 2 when prerequisites
are missing.
"""
import argparse
import datetime
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (sibling module)

from weftsim import paths, rollout  # noqa: E402
from weftsim.rollout import ECHO_PORT, KINDS, Load  # noqa: E402

KIND = "rollout"
WAYS = ("handover", "restart", "kill")


class RolloutBench(benchlib.BenchBase):
    """The two-node rollout topology; rounds x ways of (load, replace node1, replace node2)."""

    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.runs = []  # {"round", "way", "results", "windows", "replacements", "stream"}

    def setup(self):
        a = self.args
        agent_args = ["--workers", str(a.workers), "--drain-seconds", str(a.drain_seconds),
                      "--log-level", "info"]
        c = self.cluster
        self.n1 = c.add_node("node1", agent_args=agent_args)
        self.n2 = c.add_node("node2", agent_args=agent_args)
        c.link(self.n1, self.n2)
        self.topo = rollout.rollout_topology(c, [self.n1, self.n2])

    def replace(self, node, way):
        """Replaces node's agent `way`; returns {"window": (start, end), ...}."""
        agent = node.agent
        if way == "handover":
            r = agent.hand_over(timeout=60, drain_timeout=self.args.drain_seconds + 30)
            return {"window": r.window, "status": r.status, "ready_s": r.ready_s,
                    "exit_s": r.drain_s, "agent_drain_ms": r.agent_drain_ms}
        start = time.monotonic()
        if way == "kill":
            status = agent.kill()
        else:
            status = agent.stop()
        stopped = time.monotonic()
        agent.start(timeout=60)
        ready = time.monotonic()
        return {"window": (start, ready), "status": status, "ready_s": ready - stopped,
                "exit_s": stopped - start, "agent_drain_ms": None}

    def measure(self, rnd, way):
        a = self.args
        c, topo = self.cluster, self.topo
        b1 = topo.backends["node1"]
        wall_start = benchlib.utc_now()
        loads = {"node1": Load.start(topo.clients["node1"], c, topo, rate=a.rate,
                                     streams=[(b1.ip, ECHO_PORT, a.stream_seconds)],
                                     tag=f"load1-{rnd}-{way}"),
                 "node2": Load.start(topo.clients["node2"], c, topo, rate=a.rate,
                                     tag=f"load2-{rnd}-{way}")}
        time.sleep(a.lead)
        replacements = [self.replace(node, way) for node in (self.n1, self.n2)]
        time.sleep(a.tail)
        results = {name: load.finish() for name, load in loads.items()}
        run = {"round": rnd, "way": way, "results": results,
               "wall": (wall_start, benchlib.utc_now()),
               "windows": [r["window"] for r in replacements], "replacements": replacements,
               "stream": results["node1"]["streams"][0]}
        self.runs.append(run)
        t = rollout.totals(results.values())
        print(f"round {rnd + 1} {way}: {t['sent']} requests, {t['failed']} failed, "
              f"{t['refused']} refused, windows "
              f"{', '.join(f'{w[1] - w[0]:.2f}s' for w in run['windows'])}, stream "
              f"{run['stream']['fate']}", file=sys.stderr, flush=True)

    def run(self):
        ways = self.args.ways
        for rnd in range(self.args.rounds):
            order = ways[rnd % len(ways):] + ways[:rnd % len(ways)]
            for way in order:
                self.measure(rnd, way)
        self.problems = agent_log_problems([self.n1, self.n2])


def agent_log_problems(nodes):
    """The warn and error lines of every agent process the nodes ran (after hand-overs each
    has its own log file; benchlib's reads only the running one's): [(UTC time, text)]."""
    out = []
    for node in nodes:
        for path in node.agent.log_paths:
            with open(path, errors="replace") as f:
                for line in f:
                    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \S+ (warn|error) ",
                                 line)
                    if m:
                        when = datetime.datetime.fromisoformat(m.group(1)).replace(
                            tzinfo=datetime.timezone.utc)
                        out.append((when, f"{node.name} ({os.path.basename(path)}): "
                                          f"{line.strip()}"))
    return sorted(out)


def problems_during(bench, way):
    """The agents' warn/error lines logged during the measurements of way."""
    spans = [r["wall"] for r in bench.runs if r["way"] == way]
    return [text for when, text in bench.problems if any(a <= when <= b for a, b in spans)]


# -- the report ------------------------------------------------------------------------------

def _pooled(run, where):
    """Latencies (ms) of the answered requests of every kind and client that started inside
    (or outside) the run's windows, and how many failed there (failures are not timed)."""
    lat, failed = [], 0
    begin = min(r["started"] for r in run["results"].values()) + 0.5
    for result in run["results"].values():
        for samples in result["samples"].values():
            for t, latency, ok in samples:
                if t < begin:
                    continue
                if rollout.in_windows(t, run["windows"]) != (where == "inside"):
                    continue
                if ok:
                    lat.append(latency)
                else:
                    failed += 1
    return lat, failed


def _stream_cell(stream):
    if stream["fate"] == "completed":
        return "completed"
    return f"{stream['fate']} at {stream['ended'] - stream['started']:.1f} s of " \
           f"{stream['seconds']:g} s"


def _pct(values, q):
    return benchlib.percentile(sorted(values), q) if values else None


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ms(v):
    return "—" if v is None else f"{v:.2f} ms"


def _way_figures(runs):
    out = {"requests": 0, "failed": 0, "refused": 0, "failed_inside": 0, "resent": 0,
           "p50_in": [], "p99_in": [], "p50_out": [], "p99_out": [], "max_in": [],
           "window": [], "ready": [], "exit": [], "statuses": [], "streams": [], "errors": []}
    for run in runs:
        t = rollout.totals(run["results"].values())
        out["requests"] += t["sent"]
        out["failed"] += t["failed"]
        out["refused"] += t["refused"]
        out["resent"] += t["resent"]
        out["errors"] += t["errors"]
        inside, failed_in = _pooled(run, "inside")
        outside, _ = _pooled(run, "outside")
        out["failed_inside"] += failed_in
        out["p50_in"].append(_pct(inside, 50))
        out["p99_in"].append(_pct(inside, 99))
        out["max_in"].append(max(inside) if inside else None)
        out["p50_out"].append(_pct(outside, 50))
        out["p99_out"].append(_pct(outside, 99))
        for r in run["replacements"]:
            out["window"].append(r["window"][1] - r["window"][0])
            out["ready"].append(r["ready_s"])
            out["exit"].append(r["exit_s"])
            out["statuses"].append(r["status"])
        out["streams"].append(_stream_cell(run["stream"]))
    return out


def report(bench, args):
    ways = [w for w in args.ways if any(r["way"] == w for r in bench.runs)]
    figures = {w: _way_figures([r for r in bench.runs if r["way"] == w]) for w in ways}
    lines = [f"# weft rollout: replacing both agents under load, "
             f"{bench.finished:%Y-%m-%d %H:%M} UTC", "",
             benchlib.environment_line(),
             "- two simulated nodes, one backend pod and one client pod each; Services web "
             "(HTTP/1.1), h2 (h2c) and rpc (gRPC) over both backends (each request balanced "
             "by the agent: same node and across, mTLS tunnel between the agents)",
             f"- load per client (`weftsim/servers/rollout_load.py`): {args.rate} requests/s "
             f"of each of HTTP/1.1 keep-alive (4 connections), HTTP/2 (4 streams in flight on "
             f"one connection) and gRPC unary (grpcio, 4 in flight); no retries but the "
             f"RFC 9113 ones (HTTP/2 streams a GOAWAY did not cover; grpc's transparent "
             f"retry); node1's client also holds one L4 echo stream of "
             f"{args.stream_seconds:g} s (64 B every 100 ms, same node)",
             f"- agents: `--workers {args.workers} --drain-seconds {args.drain_seconds} "
             f"--log-level info`; per measurement: {args.lead:g} s of load, node1's agent "
             f"replaced, then node2's, {args.tail:g} s more; {args.rounds} rounds, ways in "
             f"rotating order",
             "- windows: handover = successor started → predecessor exited; restart = SIGTERM "
             "→ new agent's /ready (the old one drains and exits first); kill = SIGKILL → new "
             "agent's /ready. Latency: the answered requests (all kinds, both clients) that "
             "started inside a window vs the others (the first 0.5 s left out; failed requests "
             "are counted, not timed); medians over rounds",
             "", "| way | requests | failed | refused conns | failed in windows | p50 in / "
             "out | p99 in windows | p99 outside | p99 in ÷ out | max in windows | window "
             "(median) | L4 stream |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for w in ways:
        f = figures[w]
        p99_in, p99_out = _med(f["p99_in"]), _med(f["p99_out"])
        ratio = benchlib.ratio(p99_in, p99_out)
        streams = "; ".join(f"{s} ×{f['streams'].count(s)}" if f["streams"].count(s) > 1 else s
                            for s in sorted(set(f["streams"])))
        lines.append(f"| {w} | {f['requests']} | {f['failed']} | {f['refused']} | "
                     f"{f['failed_inside']} | {_ms(_med(f['p50_in']))} / "
                     f"{_ms(_med(f['p50_out']))} | {_ms(p99_in)} | {_ms(p99_out)} | {ratio} | "
                     f"{_ms(_med(f['max_in']))} | {_med(f['window']):.2f} s | {streams} |")
    lines += ["", "| way | new agent ready (median) | old agent gone after signal (median) | "
              "exit statuses | HTTP/2 streams re-sent after GOAWAY |",
              "|---|---:|---:|---|---:|"]
    for w in ways:
        f = figures[w]
        statuses = ", ".join(f"{s} ×{f['statuses'].count(s)}"
                             for s in sorted(set(f["statuses"]), key=str))
        lines.append(f"| {w} | {_med(f['ready']):.2f} s | {_med(f['exit']):.2f} s | "
                     f"{statuses} | {f['resent']} |")
    lines += ["", "Exit statuses: 0 a clean exit, -9 killed. The handover's ready time is the "
              "successor's (spawn → /ready); restart's and kill's, the new agent's after the "
              "old one was gone.", ""]
    for w in ways:
        errors = figures[w]["errors"]
        if errors:
            lines += [f"First errors, {w} (of {figures[w]['failed']} failed requests):", ""]
            lines += [f"- `{e}`" for e in errors[:8]] + [""]
    lines += ["## Every measurement", "",
              "| round | way | requests | failed | refused | p99 in | p99 out | windows | "
              "stream |", "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for run in bench.runs:
        t = rollout.totals(run["results"].values())
        inside, _ = _pooled(run, "inside")
        outside, _ = _pooled(run, "outside")
        s = run["stream"]
        lines.append(f"| {run['round'] + 1} | {run['way']} | {t['sent']} | {t['failed']} | "
                     f"{t['refused']} | {_ms(_pct(inside, 99))} | {_ms(_pct(outside, 99))} | "
                     f"{', '.join(f'{w[1] - w[0]:.2f} s' for w in run['windows'])} | "
                     f"{_stream_cell(s)} |")
    lines += ["", "Per kind (last round): requests inside / outside the windows, p99 inside / "
              "outside", ""]
    for run in bench.runs[-len(ways):]:
        for name, result in run["results"].items():
            stats = rollout.window_stats(result, run["windows"])
            cells = []
            for kind in KINDS:
                s = stats.get(kind)
                if s:
                    cells.append(f"{kind} {s['inside']['requests']}/{s['outside']['requests']} "
                                 f"{_ms(s['inside']['p99_ms'])}/{_ms(s['outside']['p99_ms'])}")
            lines.append(f"- {run['way']}, client on {name}: " + "; ".join(cells))
    lines += ["", f"Agent log warn/error lines: {len(bench.problems)} in all ("
              + ", ".join(f"{w}: {len(problems_during(bench, w))}" for w in ways)
              + " during the measurements)", ""]
    for w in ways:
        listed = problems_during(bench, w)
        if listed:
            lines += [f"First ones during {w}:", ""] + [f"- `{p}`" for p in listed[:8]] + [""]
    h = figures.get("handover")
    met = h is not None and h["failed"] == 0 and h["refused"] == 0 and all(
        s == 0 for s in h["statuses"])
    return "\n".join(lines), met


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ways", default=",".join(WAYS),
                   help=f"comma list of {', '.join(WAYS)}")
    p.add_argument("--rate", type=float, default=30, help="requests/s per kind and client")
    p.add_argument("--lead", type=float, default=3.0, help="seconds of load before")
    p.add_argument("--tail", type=float, default=3.0, help="seconds of load after")
    p.add_argument("--stream-seconds", type=float, default=7.0,
                   help="the L4 stream's length (starts with the load)")
    p.add_argument("--drain-seconds", type=int, default=8)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--build-dir", default=os.environ.get("WEFT_BUILD_DIR")
                   or os.path.join(benchlib.REPO, "build"))
    p.add_argument("--results-dir", default=os.path.join(benchlib.REPO, "bench", "results"))
    p.add_argument("--no-save", action="store_true", help="print only")
    args = p.parse_args()
    args.ways = [w for w in args.ways.split(",") if w]
    bad = [w for w in args.ways if w not in WAYS]
    if bad or not args.ways:
        p.error(f"--ways: unknown {bad}; choose from {', '.join(WAYS)}")
    missing = benchlib.prerequisites(paths.Build(args.build_dir),
                                     {"curl": "curl", "ss": "iproute2", "tc": "iproute2"})
    if missing:
        print("prerequisites missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    # Its figures are not throughput: nothing goes to history.csv.
    return benchlib.run(args, KIND, RolloutBench, report, lambda _bench, _args: [])


if __name__ == "__main__":
    sys.exit(main())
