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
import hashlib
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


class TapCostBench(benchlib.BenchBase):
    """One node, its pods, backend and Service; each run hands the agent over to the way's
    binary, opens the way's tap session and runs one load."""

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

    # ---- topology -----------------------------------------------------------------------

    def setup(self):
        """node1 (its agent the normal binary), a meshed client and server, the backend, the
        Service; then both binaries checked: the normal one streams a tapped request, the
        -Dtap=false one streams none."""
        self.node = self.cluster.add_node(
            "node1", agent_args=["--workers", "1", "--log-level", "info"],
            agent_exec_prefix=benchlib.pinned(SERVER_CPU, []), start_agent=False)
        self.node.agent.binary = self.args.agent
        self.node.agent.start()
        self.client = deployment_pods(self.node, "client", 1, NAMESPACE)[0]
        self.server = deployment_pods(self.node, "server-local", 1, NAMESPACE)[0]
        d = os.path.join(self.workdir, self.server.name)
        os.makedirs(d)
        ports = set(APP_PORT.values())
        benchlib.start_nginx(self.server, d, self.cleanup, port=APP_PORT["http1"],
                             extra=BACKEND_EXTRA,
                             ready=lambda: ports <= self.server.listening_ports())
        name = SERVICE_NAME[(PLACEMENT, "weft")]
        svc_ports = [(PORT_NAME[load], SERVICE_PORT[load], APP_PORT[load]) for load in APP_PORT]
        objects = [manifests.service(name, NAMESPACE, SERVICE_IP, svc_ports),
                   manifests.endpoint_slice(name, NAMESPACE, [self.server],
                                            [(n, target) for n, _, target in svc_ports]),
                   manifests.pod_object(self.client), manifests.pod_object(self.server)]
        self.cluster.publish_and_wait("bench-tap-cost.json", objects)
        for load in self.loads:
            procs.wait_until(lambda: self.call(load), 20, interval=0.3,
                             what=f"a {load} call through weft answered")
        # The binaries do what their names say: a session matching everything gets the
        # normal agent's requests and none of the -Dtap=false agent's.
        for label, way in (("with tap", "tap-idle"), ("tap compiled out", REFERENCE)):
            if way not in self.ways and label == "tap compiled out":
                continue
            self.fresh_agent(way)
            session = self.open_session("", f"check-{way}")
            for _ in range(5):
                self.call("http1")
            time.sleep(1.5)
            events = self.close_session(session)
            self.checks[label] = events
            if (events > 0) != (way != REFERENCE):
                raise RuntimeError(
                    f"the {label} agent ({self.binary[way]}) streamed {events} events for 5 "
                    f"tapped requests: {'expected none' if way == REFERENCE else 'expected 5'}")

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
        self.node.agent.hand_over(binary=self.binary[way])

        def counted():
            before = self.requests_counted()
            self.call("http1")
            return self.requests_counted() - before >= 1
        procs.wait_until(counted, 20, interval=0.3,
                         what=f"the {way} agent counting a call as a request")

    def tap_metric(self, name, **labels):
        return self.node.agent.metrics().sum(name, **labels)

    def open_session(self, query, tag):
        """`curl -sSN` on the node's loopback to the agent's GET /tap?query, pinned to the load
        generator's CPU, its stream into a file; waits for weft_tap_sessions 1."""
        self.tap_sessions += 1
        out = os.path.join(self.workdir, f"tap-{self.tap_sessions}-{tag}.ndjson")
        url = f"http://127.0.0.1:{self.node.agent.admin_port}/tap?{query}"
        svc = procs.Service(benchlib.pinned(LOADGEN_CPU, netns.exec_argv(
            self.node.netns, ["curl", "-sSN", "--fail-with-body", "-o", out, url])),
            out + ".stderr", f"tap session {tag}")
        self.cleanup.push(f"stop {svc.name}", svc.stop)
        svc.out_path = out
        procs.wait_until(lambda: self.tap_metric("weft_tap_sessions") == 1, 10, interval=0.1,
                         what=f"tap session {tag} open")
        return svc

    def close_session(self, svc):
        """Stops the curl; the number of events it received (non-blank NDJSON lines)."""
        svc.stop()
        if not os.path.exists(svc.out_path):
            return 0
        with open(svc.out_path, errors="replace") as f:
            return sum(1 for line in f if line.strip())

    def argv(self, load, seconds):
        url = f"http://{SERVICE_IP}:{SERVICE_PORT[load]}/"
        if load == "http1":
            return benchlib.wrk_argv(url, self.args.connections, seconds), None
        log = os.path.join(self.workdir, "h2load-requests.log")
        return benchlib.h2load_argv(url, self.args.h2_clients, self.args.h2_streams, seconds,
                                    log), log

    def run_way(self, load, way):
        """A fresh agent of the way's binary, its session, 2 s of warm-up, one measured run:
        the sample (rps, p50/p99 µs, agent CPU µs/request, tap events and drops)."""
        self.fresh_agent(way)
        session = None
        if way in TAP_QUERY:
            session = self.open_session(TAP_QUERY[way], way)
        argv, log = self.argv(load, 2)
        benchlib.run_load(self.client, argv, 60)
        if log:
            os.unlink(log)
        argv, log = self.argv(load, self.args.duration)
        dropped = self.tap_metric("weft_tap_events_dropped_total")
        sample = {"loadavg": loadavg()}
        pid = self.node.agent.pid
        before = benchlib.cpu_ticks(pid)
        out = benchlib.run_load(self.client, argv, self.args.duration + 60)
        cpu_s = (benchlib.cpu_ticks(pid) - before) / CLK_TCK
        sample["rss_kib"] = benchlib.ProcSet([pid]).rss_kib()
        sample["tap_dropped"] = self.tap_metric("weft_tap_events_dropped_total") - dropped
        sample["tap_sessions"] = self.tap_metric("weft_tap_sessions")
        if log is None:
            sample.update(benchlib.parse_wrk(out))
        else:
            sample.update(benchlib.parse_h2load(out, log))
            os.unlink(log)
        sample["cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        # Events of the whole session (warm-up included), read after it is closed.
        sample["tap_events"] = self.close_session(session) if session else None
        return sample

    def run(self):
        """Rounds of every load x way, the order of the ways rotating each round."""
        self.setup_s = time.monotonic() - self.started
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


# ---- report ---------------------------------------------------------------------------------


def round_ratios(bench, load):
    """tap-idle ÷ no-tap req/s within each round."""
    ref, tgt = bench.samples[(load, REFERENCE)], bench.samples[(load, TARGET_WAY)]
    return [t["rps"] / r["rps"] for t, r in zip(tgt, ref)]


def report(bench, args):
    s = bench.samples
    ways, loads = bench.ways, bench.loads

    def med(load, way, key):
        xs = s.get((load, way))
        return median(xs, key) if xs else None

    def vs(load, way, key):
        a, b = med(load, way, key), med(load, REFERENCE, key)
        return "n/a" if a is None or not b else f"{a / b:.4f}"

    lines = [f"# weft tap cost bench (issue 24), {bench.finished:%Y-%m-%d %H:%M} UTC\n",
             benchlib.environment_line()]
    if bench.local_changes:
        lines.append("- local changes in the tree when the run started (the agents measured "
                     "are the binaries below, not built from it): "
                     + ", ".join(f"`{x}`" for x in bench.local_changes))
    for label, info in bench.binaries.items():
        lines.append(f"- agent {label}: `{info['path']}` (sha256 {info['sha256']}…, built "
                     f"{info['mtime']} UTC, from commit "
                     f"{'`' + info['commit'] + '`' if info['commit'] else 'not recorded'})")
    checks = "; ".join(f"{label}: {n} events for 5 requests" for label, n in bench.checks.items())
    lines += [
        f"- checked before the rounds, a session matching everything on each binary: {checks}",
        "- one simulated node (the L7 bench's same-node layout): meshed client pod -> Service "
        f"`{SERVICE_IP}` (no appProtocol: L7, each request balanced) -> meshed server pod "
        "(nginx, 22-byte body); agent `--workers 1 --log-level info`",
        f"- loads: {', '.join(LOAD_TITLES[x] for x in loads)}; wrk -t1 -c{args.connections}, "
        f"h2load -c{args.h2_clients} -m{args.h2_streams}; pinned: load generator and tap curl "
        "on CPU 0, agent and backend on CPU 1",
        f"- {args.rounds} rounds of {args.duration} s per load and way, the ways' order "
        "rotating each round; before every run a fresh agent of the way's binary (hand-over), "
        f"its tap session opened, 2 s warm-up; the run took {bench.elapsed_s / 60:.1f} min "
        f"(setup {bench.setup_s:.0f} s)",
        f"- load average (1/5/15 min) before: {bench.loadavg['before']}, after: "
        f"{bench.loadavg['after']}; at the start of each measured run: "
        + ", ".join(x["loadavg"].split()[0] for load in loads for way in ways
                    for x in s[(load, way)][:1]) + " (first round), others sharing the machine "
        "count in it",
        "",
        "Ways: " + "; ".join(f"**{w}** {WAY_TITLES[w]}" for w in ways) + ".\n"]

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

    lines.append("## target\n")
    lines.append("| load | tap-idle ÷ no-tap req/s | per-round range | met |")
    lines.append("|---|---:|---:|---|")
    for load, ok, r, per in checks:
        lines.append(f"| {load} | {r:.4f} | {min(per):.4f} – {max(per):.4f} | "
                     f"{'yes' if ok else 'NO'} |")
    if not checks:
        lines.append("| (not evaluated: needs no-tap and tap-idle) | | | |")

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
    lines.append("\nload generator errors: " + ("; ".join(errors) if errors else "none"))
    problems = bench.agent_problems
    lines.append(f"\nagent logs: {len(problems)} warn/error lines")
    if problems:
        lines.append("\n```")
        lines += [line[:300] for line in problems[:20]]
        lines.append("```")
    lines.append("\n</details>\n")
    return "\n".join(lines), all(ok for _, ok, _, _ in checks)


def history(bench, args):
    """history.csv rows: per load and way, median req/s, agent CPU µs/request, p99."""
    rows = []
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
    return benchlib.run(args, "tap-cost", TapCostBench, report, history)


if __name__ == "__main__":
    sys.exit(main())
