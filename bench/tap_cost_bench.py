#!/usr/bin/python3
"""weft tap cost bench (issue 24): what a request pays for tap when no session is open.
Requests/s through one agent built with tap compiled out (meson -Dtap=false, WEFT_TAP 0:
TapHub::active() is the constant false) against the normal agent with no tap session open, in
one run; the target is within 1 %: |tap-idle ÷ no-tap − 1| <= 0.01, on the medians.

Ways (the same node, pods, Service and backend; only the agent and the tap session differ):
  no-tap    the agent built with -Dtap=false (--notap-build-dir, or --notap-agent)
  tap-idle  the normal agent (--build-dir, or --agent), no tap session open: the target
  tap-open  the normal agent with one session open whose filter matches nothing (status=599):
            informational, what requests pay while someone taps something else
  tap-all   the normal agent with one session matching every request, at its default max_rps
            (100 events/s; the rest are dropped and counted): informational
Before every measured run the node's agent is handed over (weftsim Agent.hand_over, as a
DaemonSet rollout does) to a fresh process of the way's binary, so every run starts from a new
agent whichever way ran before it; then the way's session is opened (curl -N on the node's
loopback to the admin port's GET /tap), a call is checked to be counted as an L7 request, 2 s of
warm-up, then the measured run. The ways rotate each round (A B C D, B C D A, ...).
Layout: the L7 bench's same-node placement (l7_layout): one simulated node, a meshed client pod,
a meshed server pod running the L7 bench's backend nginx, its Service with no appProtocol (the
agent detects the protocol and balances each request). Loads: HTTP/1.1 keep-alive (wrk -t1 -c8
--latency) and HTTP/2 (h2load -c4 -m10, h2c prior knowledge). Pinning as the L7 bench: load
generator (and the tap curl) on CPU 0; backend and agent (--workers 1) on CPU 1. Agent CPU =
utime+stime (/proc/PID/stat) around each measured run.
"""
import argparse
import concurrent.futures
import hashlib
import math
import os
import statistics
import subprocess
import sys
import time

import benchlib
from benchlib import CLK_TCK, LOADGEN_CPU, SERVER_CPU, median, ms
from l7_configs import BACKEND_EXTRA
from l7_layout import APP_PORT, CLUSTER_IP, LOAD_TITLES, NAMESPACE, PORT_NAME, SERVICE_NAME, \
    SERVICE_PORT
from weftsim import manifests, netns, paths, procs
from weftsim.scenarios import deployment_pods

LOADS = ("http1", "h2")
WAYS = ("no-tap", "tap-idle", "tap-open", "tap-all")
REFERENCE, TARGET_WAY = "no-tap", "tap-idle"
TARGET = 0.01  # |tap-idle ÷ no-tap − 1|
# The session each way holds open during its runs (GET /tap?<query> on the admin port).
TAP_QUERY = {"tap-open": "status=599", "tap-all": ""}
WAY_TITLES = {
    "no-tap": "agent built with `-Dtap=false` (tap compiled out)",
    "tap-idle": "normal agent, no tap session open (the target)",
    "tap-open": "normal agent, one session open matching nothing (`status=599`)",
    "tap-all": "normal agent, one session matching everything (default max_rps 100)",
}
PLACEMENT = "same-node"
SERVICE_IP = CLUSTER_IP[(PLACEMENT, "weft")]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def binary_info(path):
    """Path, sha256 (12 hex digits), mtime (UTC) and, when a `<binary>.commit` file lies beside
    it (written when the binary was copied out of its build), the commit it was built from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    commit = None
    if os.path.exists(path + ".commit"):
        with open(path + ".commit") as f:
            commit = f.read().strip()
    mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(path)))
    return {"path": path, "sha256": h.hexdigest()[:12], "mtime": mtime, "commit": commit}


class Lane:
    """One simulated node with its agent, a meshed client and server pod (the backend nginx)
    and the Service, published to that node only: the whole path of one way."""

    def __init__(self, bench, name, binary):
        self.bench = bench
        self.node = bench.cluster.add_node(
            name, agent_args=["--workers", "1", "--log-level", "info"],
            agent_exec_prefix=benchlib.pinned(SERVER_CPU, []), start_agent=False)
        self.node.agent.binary = binary
        self.node.agent.start()
        self.client = deployment_pods(self.node, "client", 1, NAMESPACE)[0]
        self.server = deployment_pods(self.node, "server-local", 1, NAMESPACE)[0]
        d = os.path.join(bench.workdir, self.server.name)
        os.makedirs(d)
        ports = set(APP_PORT.values())
        benchlib.start_nginx(self.server, d, bench.cleanup, port=APP_PORT["http1"],
                             extra=BACKEND_EXTRA,
                             ready=lambda: ports <= self.server.listening_ports())
        svc = SERVICE_NAME[(PLACEMENT, "weft")]
        svc_ports = [(PORT_NAME[load], SERVICE_PORT[load], APP_PORT[load]) for load in APP_PORT]
        objects = [manifests.service(svc, NAMESPACE, SERVICE_IP, svc_ports),
                   manifests.endpoint_slice(svc, NAMESPACE, [self.server],
                                            [(n, target) for n, _, target in svc_ports]),
                   manifests.pod_object(self.client), manifests.pod_object(self.server)]
        bench.cluster.publish_and_wait("bench-tap-cost.json", objects, nodes=[self.node])
        for load in bench.loads:
            procs.wait_until(lambda: self.call(load), 20, interval=0.3,
                             what=f"a {load} call through weft ({name}) answered")

    def call(self, load):
        """One request through the Service, the body checked (curl; h2c prior knowledge)."""
        argv = ["curl", "-sS", "--fail", "--max-time", "3"]
        if load == "h2":
            argv.append("--http2-prior-knowledge")
        return "hello from weft bench" in self.client.run(
            argv + [f"http://{SERVICE_IP}:{SERVICE_PORT[load]}/"], timeout=15).stdout

    def requests_counted(self):
        return self.node.agent.metrics().sum("weft_requests_total", reporter="source")

    def fresh_agent(self, way):
        """Hands the node over to a new agent process of the way's binary and waits until it
        counts a call as an L7 request."""
        self.node.agent.hand_over(binary=self.bench.binary[way])

        def counted():
            before = self.requests_counted()
            self.call("http1")
            return self.requests_counted() - before >= 1
        procs.wait_until(counted, 20, interval=0.3,
                         what=f"the {way} agent ({self.node.name}) counting a call as a request")

    def tap_metric(self, name, **labels):
        return self.node.agent.metrics().sum(name, **labels)

    def open_session(self, query, tag):
        """`curl -sSN` on the node's loopback to the agent's GET /tap?query, pinned to the load
        generator's CPU, its stream into a file; waits for weft_tap_sessions 1."""
        self.bench.tap_sessions += 1
        out = os.path.join(self.bench.workdir, f"tap-{self.bench.tap_sessions}-{tag}.ndjson")
        url = f"http://127.0.0.1:{self.node.agent.admin_port}/tap?{query}"
        svc = procs.Service(benchlib.pinned(LOADGEN_CPU, netns.exec_argv(
            self.node.netns, ["curl", "-sSN", "--fail-with-body", "-o", out, url])),
            out + ".stderr", f"tap session {tag}")
        self.bench.cleanup.push(f"stop {svc.name}", svc.stop)
        svc.out_path = out
        procs.wait_until(lambda: self.tap_metric("weft_tap_sessions") == 1, 10, interval=0.1,
                         what=f"tap session {tag} open")
        return svc

    @staticmethod
    def close_session(svc):
        """Stops the curl; the number of events it received (non-blank NDJSON lines)."""
        svc.stop()
        if not os.path.exists(svc.out_path):
            return 0
        with open(svc.out_path, errors="replace") as f:
            return sum(1 for line in f if line.strip())

    def argv(self, load, seconds):
        url = f"http://{SERVICE_IP}:{SERVICE_PORT[load]}/"
        if load == "http1":
            return benchlib.wrk_argv(url, self.bench.args.connections, seconds), None
        log = os.path.join(self.bench.workdir, f"h2load-{self.node.name}.log")
        return benchlib.h2load_argv(url, self.bench.args.h2_clients, self.bench.args.h2_streams,
                                    seconds, log), log

    def prepare(self, way):
        """A fresh agent of the way's binary and the way's session (None: no session)."""
        self.fresh_agent(way)
        return self.open_session(TAP_QUERY[way], way) if way in TAP_QUERY else None

    def warm_up(self, load):
        argv, log = self.argv(load, 2)
        benchlib.run_load(self.client, argv, 60)
        if log:
            os.unlink(log)

    def measure(self, load, session):
        """One measured run: the sample (rps, p50/p99 µs, agent CPU µs/request, tap events
        and drops); closes the session."""
        argv, log = self.argv(load, self.bench.args.duration)
        dropped = self.tap_metric("weft_tap_events_dropped_total")
        sample = {"loadavg": loadavg(), "node": self.node.name}
        pid = self.node.agent.pid
        before = benchlib.cpu_ticks(pid)
        out = benchlib.run_load(self.client, argv, self.bench.args.duration + 60)
        cpu_s = (benchlib.cpu_ticks(pid) - before) / CLK_TCK
        sample["rss_kib"] = benchlib.ProcSet([pid]).rss_kib()
        sample["tap_dropped"] = self.tap_metric("weft_tap_events_dropped_total") - dropped
        if log is None:
            sample.update(benchlib.parse_wrk(out))
        else:
            sample.update(benchlib.parse_h2load(out, log))
            os.unlink(log)
        sample["cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        # Events of the whole session (warm-up included), read after it is closed.
        sample["tap_events"] = self.close_session(session) if session else None
        return sample


def both(f, a, b):
    """f(a) and f(b) run at the same time (threads: the work is in child processes)."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(f, a), pool.submit(f, b)
        return fa.result(), fb.result()


class TapCostBench(benchlib.BenchBase):
    """Sequential (default): one lane (node), each run hands its agent over to the way's
    binary, opens the way's session and runs one load. --paired: two lanes (nodes) loaded at
    the same time, one running no-tap and the other a tap way, the binaries swapped between
    the nodes every other run."""

    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.ways, self.loads = args.ways, args.loads
        self.binary = {w: (args.notap_agent if w == REFERENCE else args.agent) for w in WAYS}
        self.binaries = {"with tap": binary_info(args.agent),
                         "tap compiled out": binary_info(args.notap_agent)}
        self.started = time.monotonic()
        self.loadavg = {"before": loadavg()}
        self.tap_sessions = 0
        self.local_changes = subprocess.run(
            ["git", "-C", paths.REPO_ROOT, "status", "--porcelain"], capture_output=True,
            text=True).stdout.split("\n")
        self.local_changes = [x[3:] for x in self.local_changes if x.strip()]
        self.checks = {}
        self.pairs = {}  # paired: (load, way) -> [{"round", "swap", "way": sample, "ref": sample}]

    def setup(self):
        """The lanes (node1, and node2 when paired), then both binaries checked on node1: a
        session matching everything gets the normal agent's requests and none of the
        -Dtap=false agent's."""
        self.lanes = [Lane(self, "node1", self.args.agent)]
        if self.args.paired:
            self.lanes.append(Lane(self, "node2", self.args.agent))
        lane = self.lanes[0]
        for label, way in (("with tap", "tap-idle"), ("tap compiled out", REFERENCE)):
            if way not in self.ways and label == "tap compiled out":
                continue
            lane.fresh_agent(way)
            session = lane.open_session("", f"check-{way}")
            for _ in range(5):
                lane.call("http1")
            time.sleep(1.5)
            events = lane.close_session(session)
            self.checks[label] = events
            if (events > 0) != (way != REFERENCE):
                raise RuntimeError(
                    f"the {label} agent ({self.binary[way]}) streamed {events} events for 5 "
                    f"tapped requests: {'expected none' if way == REFERENCE else 'expected 5'}")

    def run_way(self, load, way):
        """Sequential: a fresh agent of the way's binary, its session, 2 s of warm-up, one
        measured run."""
        lane = self.lanes[0]
        session = lane.prepare(way)
        lane.warm_up(load)
        return lane.measure(load, session)

    def run_pair(self, load, way, swap):
        """Paired: no-tap on node1 and `way` on node2 (swap: the other way round), fresh agents
        and sessions on both, 2 s of warm-up on both at once, then both measured at once."""
        ref_lane, way_lane = self.lanes[::-1] if swap else self.lanes
        ref_session, way_session = ref_lane.prepare(REFERENCE), way_lane.prepare(way)
        both(lambda lane: lane.warm_up(load), ref_lane, way_lane)
        ref, got = both(lambda x: x[0].measure(load, x[1]), (ref_lane, ref_session),
                        (way_lane, way_session))
        return {"swap": swap, "way": got, "ref": ref}

    def run(self):
        """Rounds of every load x way, the order of the ways rotating each round."""
        self.setup_s = time.monotonic() - self.started
        if self.args.paired:
            self.run_paired()
            return
        for rnd in range(self.args.rounds):
            k = rnd % len(self.ways)
            order = self.ways[k:] + self.ways[:k]
            for load in self.loads:
                for way in order:
                    s = self.run_way(load, way)
                    self.record(load, way, s)
                    print(f"round {rnd + 1} {load:5s} {way:9s} {s['rps']:9.0f} req/s p50 "
                          f"{s['p50_us']:.0f}us p99 {s['p99_us']:.0f}us agent "
                          f"{s['cpu_us_per_req']:.1f}us/req tap events "
                          f"{s['tap_events'] if s['tap_events'] is not None else '-'} dropped "
                          f"{s['tap_dropped']:.0f} load {s['loadavg']} {s['errors']}",
                          flush=True)
        self.loadavg["after"] = loadavg()
        self.elapsed_s = time.monotonic() - self.started
        self.agent_problems = benchlib.agent_log_problems(self.cluster.nodes)


    def run_paired(self):
        """Rounds of every load x tap way, each as two paired runs (no-tap on node1, then on
        node2; the order of the two and of the ways alternating each round)."""
        tap_ways = [w for w in self.ways if w != REFERENCE]
        for rnd in range(self.args.rounds):
            k = rnd % len(tap_ways)
            order = tap_ways[k:] + tap_ways[:k]
            swaps = (0, 1) if rnd % 2 == 0 else (1, 0)
            for load in self.loads:
                for way in order:
                    for swap in swaps:
                        pair = self.run_pair(load, way, swap)
                        pair["round"] = rnd + 1
                        self.pairs.setdefault((load, way), []).append(pair)
                        w, r = pair["way"], pair["ref"]
                        print(f"round {rnd + 1} {load:5s} {way:9s} on {w['node']} "
                              f"{w['rps']:9.0f} req/s {w['cpu_us_per_req']:.2f}us/req | no-tap "
                              f"on {r['node']} {r['rps']:9.0f} req/s "
                              f"{r['cpu_us_per_req']:.2f}us/req | ratio "
                              f"{w['rps'] / r['rps']:.4f} load {w['loadavg']} "
                              f"{w['errors']} {r['errors']}", flush=True)
        self.loadavg["after"] = loadavg()
        self.elapsed_s = time.monotonic() - self.started
        self.agent_problems = benchlib.agent_log_problems(self.cluster.nodes)


# ---- report ---------------------------------------------------------------------------------


def paired_rounds(pairs, key="rps"):
    """Per round: the geometric mean of the two runs' way ÷ no-tap (one with no-tap on each
    node, so a difference between the nodes cancels), and each run's own ratio."""
    by_round = {}
    for p in pairs:
        by_round.setdefault(p["round"], []).append(p["way"][key] / p["ref"][key])
    return [(math.sqrt(rs[0] * rs[1]) if len(rs) == 2 else rs[0], rs)
            for _, rs in sorted(by_round.items())]


def report_paired(bench, args):
    lines = [f"# weft tap cost bench (issue 24), paired, {bench.finished:%Y-%m-%d %H:%M} UTC\n"]
    lines += header_lines(bench, args)
    lines += [
        "- **paired**: two identical simulated nodes (node1, node2), each a lane of the layout "
        "above with its own agent, client, server and Service; in every run both lanes are "
        "loaded at the same time, one by no-tap and one by the tap way, both agents and both "
        "backends sharing CPU 1 and both load generators CPU 0, so whatever else the machine "
        "does hits both alike; the binaries swap nodes every other run. Per round the ratio is "
        "the geometric mean of its two runs' way ÷ no-tap (a node bias cancels). A way that "
        "costs more per request gets less of the shared CPU's throughput: its req/s ÷ no-tap's "
        "is its cost relative to no-tap's",
        ""]
    checks = []
    for load in bench.loads:
        lines.append(f"## {LOAD_TITLES[load]}\n")
        lines.append("| way | req/s ÷ no-tap (median of rounds) | rounds: min – max | agent CPU "
                     "µs/req ÷ no-tap (median) | way req/s (median run) | no-tap req/s "
                     "(median run) | node2 ÷ node1 bias | tap events streamed | met |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for way in [w for w in bench.ways if w != REFERENCE]:
            pairs = bench.pairs[(load, way)]
            rounds = [g for g, _ in paired_rounds(pairs)]
            cpu = [g for g, _ in paired_rounds(pairs, "cpu_us_per_req")]
            r = statistics.median(rounds)
            # way on node2 ÷ way on node1 ... per round: sqrt(r(swap0) / r(swap1)) is the bias
            # of node2 over node1 (swap 0: no-tap on node1, way on node2).
            bias = []
            by_round = {}
            for p in pairs:
                by_round.setdefault(p["round"], {})[p["swap"]] = p["way"]["rps"] / p["ref"]["rps"]
            for d in by_round.values():
                if len(d) == 2:
                    bias.append(math.sqrt(d[0] / d[1]))
            events = [p["way"]["tap_events"] for p in pairs if p["way"]["tap_events"] is not None]
            ok = abs(r - 1) <= TARGET
            met = ("**yes**" if ok else "**NO**") if way == TARGET_WAY else "(informational)"
            if way == TARGET_WAY:
                checks.append((load, ok, r, rounds))
            lines.append(
                f"| {way} | {r:.4f} | {min(rounds):.4f} – {max(rounds):.4f} | "
                f"{statistics.median(cpu):.4f} | "
                f"{statistics.median(p['way']['rps'] for p in pairs):,.0f} | "
                f"{statistics.median(p['ref']['rps'] for p in pairs):,.0f} | "
                f"{statistics.median(bias) if bias else float('nan'):.4f} | "
                f"{statistics.median(events) if events else '—'} | {met} |")
        lines.append("")
    lines += target_lines(checks)
    lines.append("\n<details><summary>every run</summary>\n")
    lines.append("| load | way | round | no-tap on | way req/s | no-tap req/s | ratio | way CPU "
                 "µs/req | no-tap CPU µs/req | way p99 ms | no-tap p99 ms | load avg |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for (load, way), pairs in bench.pairs.items():
        for p in pairs:
            w, r = p["way"], p["ref"]
            lines.append(f"| {load} | {way} | {p['round']} | {r['node']} | {w['rps']:,.0f} | "
                         f"{r['rps']:,.0f} | {w['rps'] / r['rps']:.4f} | "
                         f"{w['cpu_us_per_req']:.2f} | {r['cpu_us_per_req']:.2f} | "
                         f"{w['p99_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
                         f"{w['loadavg'].split()[0]} |")
    errors = [f"{load} {way} round {p['round']}: {x['errors'].strip()}"
              for (load, way), pairs in bench.pairs.items() for p in pairs
              for x in (p["way"], p["ref"]) if x.get("errors", "").strip()]
    lines += footer_lines(bench, errors)
    return "\n".join(lines), all(ok for _, ok, _, _ in checks)


def target_lines(checks):
    lines = ["## target\n", f"|tap-idle ÷ no-tap − 1| <= {TARGET:.2f}.\n",
             "| load | tap-idle ÷ no-tap req/s | per-round range | met |", "|---|---:|---:|---|"]
    for load, ok, r, per in checks:
        lines.append(f"| {load} | {r:.4f} | {min(per):.4f} – {max(per):.4f} | "
                     f"{'yes' if ok else 'NO'} |")
    if not checks:
        lines.append("| (not evaluated: needs no-tap and tap-idle) | | | |")
    return lines


def footer_lines(bench, errors):
    lines = ["\nload generator errors: " + ("; ".join(errors) if errors else "none")]
    problems = bench.agent_problems
    lines.append(f"\nagent logs: {len(problems)} warn/error lines")
    if problems:
        lines.append("\n```")
        lines += [line[:300] for line in problems[:20]]
        lines.append("```")
    lines.append("\n</details>\n")
    return lines


def round_ratios(bench, load):
    """tap-idle ÷ no-tap req/s within each round."""
    ref, tgt = bench.samples[(load, REFERENCE)], bench.samples[(load, TARGET_WAY)]
    return [t["rps"] / r["rps"] for t, r in zip(tgt, ref)]


def header_lines(bench, args):
    """The report's lines on what ran: commit, local changes, binaries, checks, layout, loads,
    load average, ways."""
    lines = [benchlib.environment_line()]
    if bench.local_changes:
        lines.append("- local changes in the tree when the run started (the agents measured "
                     "are the binaries below, not built from it): "
                     + ", ".join(f"`{x}`" for x in bench.local_changes))
    for label, info in bench.binaries.items():
        lines.append(f"- agent {label}: `{info['path']}` (sha256 {info['sha256']}…, built "
                     f"{info['mtime']} UTC, from commit "
                     f"{'`' + info['commit'] + '`' if info['commit'] else 'not recorded'})")
    checks = "; ".join(f"{label}: {n} events for 5 requests" for label, n in bench.checks.items())
    return lines + [
        f"- checked before the rounds, a session matching everything on each binary: {checks}",
        f"- layout (the L7 bench's same-node placement): {'per lane, ' if args.paired else ''}"
        "a simulated node, meshed client pod -> "
        f"Service `{SERVICE_IP}` (no appProtocol: L7, each request balanced) -> meshed server "
        "pod (nginx, 22-byte body); agent `--workers 1 --log-level info`",
        f"- loads: {', '.join(LOAD_TITLES[x] for x in bench.loads)}; wrk -t1 "
        f"-c{args.connections}, h2load -c{args.h2_clients} -m{args.h2_streams}; pinned: load "
        "generators and tap curl on CPU 0, agents and backends on CPU 1",
        f"- the run took {bench.elapsed_s / 60:.1f} min (setup {bench.setup_s:.0f} s); load "
        f"average (1/5/15 min) before: {bench.loadavg['before']}, after: "
        f"{bench.loadavg['after']} (others sharing the machine count in it)",
        "- ways: " + "; ".join(f"**{w}** {WAY_TITLES[w]}" for w in bench.ways),
        f"- rounds: {args.rounds}, {args.duration} s per measured run"]


def report(bench, args):
    s = bench.samples
    ways, loads = bench.ways, bench.loads

    def med(load, way, key):
        xs = s.get((load, way))
        return median(xs, key) if xs else None

    def vs(load, way, key):
        a, b = med(load, way, key), med(load, REFERENCE, key)
        return "n/a" if a is None or not b else f"{a / b:.4f}"

    if args.paired:
        return report_paired(bench, args)
    lines = [f"# weft tap cost bench (issue 24), {bench.finished:%Y-%m-%d %H:%M} UTC\n"]
    lines += header_lines(bench, args)
    lines += [
        f"- {args.rounds} rounds of {args.duration} s per load and way, the ways' order "
        "rotating each round; before every run a fresh agent of the way's binary (hand-over), "
        "its tap session opened, 2 s warm-up",
        "- load average (1 min) at the start of each measured run of the first round: "
        + ", ".join(x["loadavg"].split()[0] for load in loads for way in ways
                    for x in s[(load, way)][:1]) + " (every run's under the rounds)",
        ""]

    checks = []
    for load in loads:
        lines.append(f"## {LOAD_TITLES[load]}\n")
        lines.append("| way | req/s (median) | ÷ no-tap | p50 | p99 | agent CPU µs/req | "
                     "CPU ÷ no-tap | tap events streamed | tap events dropped |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for way in ways:
            xs = s[(load, way)]
            events = ("—" if xs[0]["tap_events"] is None else
                      f"{statistics.median(x['tap_events'] for x in xs):,.0f}")
            dropped = f"{statistics.median(x['tap_dropped'] for x in xs):,.0f}"
            lines.append(f"| {way} | {med(load, way, 'rps'):,.0f} | {vs(load, way, 'rps')} | "
                         f"{ms(med(load, way, 'p50_us'))} | {ms(med(load, way, 'p99_us'))} | "
                         f"{med(load, way, 'cpu_us_per_req'):.2f} | "
                         f"{vs(load, way, 'cpu_us_per_req')} | {events} | {dropped} |")
        lines.append("\n(medians over the rounds; tap events: per session, warm-up included; "
                     "dropped: weft_tap_events_dropped_total over the measured run)\n")
        if REFERENCE in ways and TARGET_WAY in ways:
            r = med(load, TARGET_WAY, "rps") / med(load, REFERENCE, "rps")
            per = round_ratios(bench, load)
            ok = abs(r - 1) <= TARGET
            cpu = med(load, TARGET_WAY, "cpu_us_per_req") / med(load, REFERENCE, "cpu_us_per_req")
            lines.append(f"**tap-idle ÷ no-tap: {r:.4f}** ({(r - 1) * 100:+.2f} %); per round "
                         + ", ".join(f"{x:.4f}" for x in per)
                         + f" (min {min(per):.4f}, max {max(per):.4f}, median "
                         f"{statistics.median(per):.4f}); agent CPU per request tap-idle ÷ "
                         f"no-tap {cpu:.4f}. Target |ratio − 1| <= {TARGET:.2f}: "
                         f"**{'met' if ok else 'MISSED'}**.\n")
            checks.append((load, ok, r, per))

    lines += target_lines(checks)
    lines.append("\n<details><summary>every round</summary>\n")
    lines.append("| load | way | req/s | p99 (ms) | agent CPU µs/req | tap events | "
                 "load avg at start |")
    lines.append("|---|---|---|---|---|---|---|")
    for load in loads:
        for way in ways:
            xs = s[(load, way)]
            lines.append(f"| {load} | {way} | " + ", ".join(f"{x['rps']:,.0f}" for x in xs)
                         + " | " + ", ".join(f"{x['p99_us'] / 1000:.2f}" for x in xs) + " | "
                         + ", ".join(f"{x['cpu_us_per_req']:.2f}" for x in xs) + " | "
                         + ", ".join("—" if x["tap_events"] is None else str(x["tap_events"])
                                     for x in xs) + " | "
                         + ", ".join(x["loadavg"].split()[0] for x in xs) + " |")
    errors = [f"{load} {way} round {i + 1}: {x['errors'].strip()}"
              for (load, way), xs in s.items() for i, x in enumerate(xs)
              if x.get("errors", "").strip()]
    lines += footer_lines(bench, errors)
    return "\n".join(lines), all(ok for _, ok, _, _ in checks)


def history(bench, args):
    """history.csv rows: per load and way, median req/s, agent CPU µs/request, p99."""
    rows = []
    if args.paired:
        # Each lane's req/s while the other lane runs too (about half of a lone run's).
        for load in bench.loads:
            ways = [w for w in bench.ways if w != REFERENCE]
            refs = [p["ref"] for w in ways for p in bench.pairs[(load, w)]]
            for way, xs in [(REFERENCE, refs)] + [
                    (w, [p["way"] for p in bench.pairs[(load, w)]]) for w in ways]:
                rows.append(benchlib.history_row(PLACEMENT, load, way, median(xs, "rps"), None,
                                                 median(xs, "cpu_us_per_req"),
                                                 median(xs, "p99_us")))
        return rows
    for load in bench.loads:
        for way in bench.ways:
            xs = bench.samples[(load, way)]
            rows.append(benchlib.history_row(PLACEMENT, load, way, median(xs, "rps"), None,
                                             median(xs, "cpu_us_per_req"), median(xs, "p99_us")))
    return rows


def _choice_list(allowed, what):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        if not items or any(x not in allowed for x in items):
            raise argparse.ArgumentTypeError(f"{what} are a comma list of {', '.join(allowed)}")
        return tuple(x for x in allowed if x in items)
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_common_args(parser)
    parser.set_defaults(connections=8, rounds=5)
    parser.add_argument("--notap-build-dir", default=os.path.join(paths.REPO_ROOT, "build-notap"),
                        help="build configured with -Dtap=false (only its agent/weft-agent is "
                             "used; default build-notap)")
    parser.add_argument("--agent", help="the normal weft-agent (default: --build-dir's)")
    parser.add_argument("--notap-agent",
                        help="the -Dtap=false weft-agent (default: --notap-build-dir's)")
    parser.add_argument("--paired", action="store_true",
                        help="two nodes loaded at once, no-tap on one and a tap way on the "
                             "other, swapped every other run (resists a busy machine)")
    parser.add_argument("--h2-clients", type=int, default=4, help="h2load -c (connections)")
    parser.add_argument("--h2-streams", type=int, default=10, help="h2load -m")
    parser.add_argument("--loads", type=_choice_list(LOADS, "loads"), default=LOADS,
                        help=f"comma list of {', '.join(LOADS)} (default both)")
    parser.add_argument("--ways", type=_choice_list(WAYS, "ways"), default=WAYS,
                        help=f"comma list of {', '.join(WAYS)} (default all; the target needs "
                             "no-tap and tap-idle)")
    args = parser.parse_args()
    build = paths.Build(args.build_dir)
    args.agent = os.path.abspath(args.agent or build.agent)
    args.notap_agent = os.path.abspath(args.notap_agent or
                                       paths.Build(args.notap_build_dir).agent)

    tools = {"wrk": "wrk", "h2load": "nghttp2-client", "curl": "curl", "taskset": "util-linux",
             "nginx": "nginx"}
    missing = benchlib.prerequisites(build, tools)
    for path, how in ((args.agent, f"ninja -C {build.dir}"),
                      (args.notap_agent, f"meson setup {args.notap_build_dir} -Dtap=false && "
                                         f"ninja -C {args.notap_build_dir} agent/weft-agent")):
        if not os.access(path, os.X_OK):
            missing.append(f"{path} is missing (build it: {how})")
    if missing:
        print("bench prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2
    return benchlib.run(args, "tap-cost-paired" if args.paired else "tap-cost", TapCostBench,
                        report, history)


if __name__ == "__main__":
    sys.exit(main())
