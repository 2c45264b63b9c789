"""Hardening bench (issue 23): what idle connections, slow clients and a cut node link cost the
agent and the traffic, measured from outside the agent (/proc, its clients, its log and
/metrics), so a build before and one after the issue's work compare.

Two simulated nodes joined by a veth link (`weftsim.hardening.hardening_topology`): on each a
meshed backend pod running servers/hardening_server.py (HTTP/1.1 keep-alive :8080, echo :9000;
one epoll thread, thousands of connections); on node1 the client pods idler, good, slow
(meshed) and plain (not meshed). Services local-http / local-tcp over node1's backend,
remote-http / remote-tcp over node2's; the HTTP ones have no appProtocol (detected), the TCP
ones declare appProtocol tcp. Agents: `--workers 2 --log-level info`.

Parts (--parts, in this order):

- idle: from idler, N (--connections, 2000) connections at once to a Service, one exchange on
  each (tcp: "ping" echoed; http: one GET answered, the connection kept alive), then idle for
  --idle-seconds (5); agent RSS and fds then vs before, per-connection KiB = ΔRSS / N; all
  closed, opened again... until --total-connections (10,000) were opened and closed; after
  --after-seconds (5) RSS and fds vs before. Same node (local-tcp, local-http: node1's agent)
  and across nodes (remote-tcp, remote-http: both agents).
- slowloris: C (--slow-connections, 300) connections sending an HTTP/1.1 request head one byte
  every --slow-interval (5) s for --slow-seconds (150) s, from (svc) the meshed pod slow to
  Service local-http, (unmeshed) the unmeshed pod plain to the backend pod's :8080 (captured by
  tc into the agent's inbound plaintext listener), (pod-ip) slow to the backend pod's IP:8080;
  (svc-line, and unmeshed-line on demand) as svc with the request line sent at once, so the
  agent's protocol detection sees HTTP before its timeout (byte by byte it does not, and
  carries the connection as TCP after --protocol-detection-timeout-ms).
  Meanwhile good sends --good-rate (10) HTTP/1.1 keep-alive requests/s to local-http (4
  connections, --good-timeout 5 s each) and records every latency; the same client alone for
  --good-baseline-seconds (30) first is the reference. Reported: slow connections the agent
  ended (and when, after their open), agent RSS and fds at the start vs peak (sampled every
  0.5 s), whether the slow heads reached the app, the good client's ok/failed and p50/p99.
- partition: good sends --probe-rate (5) requests/s of each of HTTP/1.1 keep-alive, HTTP/1.1
  on a new connection each and opaque TCP on a new connection each (ping/echo) to node2's
  backend (remote-http, remote-tcp), each bounded by --probe-timeout (2) s; after
  --partition-lead (5) s the node link is cut for each of --cuts (5,30) seconds, each of
  --cut-modes: link = node2's end goes down (`ip link set DEV down` in node2's netns; up again
  after, node2's flushed route put back; node1 loses the carrier, so its sends fail locally
  and TCP retries them every 0.5 s), drop = every packet dropped on arrival at both ends (tc
  ingress; links and routes untouched, nobody learns of it: a silent partition, TCP backs off
  exponentially); the probe runs --partition-tail (60) s more. Reported per kind: requests started during the cut, their
  outcomes and durations, after the link is back the time to the first answered request and
  to the first from which every request was answered, the agents' warn lines during the cut and
  after, and the agent metrics matching timeout|ping|dead|tunnel that changed.

  PYTHONPATH=$PWD /usr/bin/python3 bench/hardening_bench.py [--parts idle,slowloris,partition]
  bench/run.sh hardening [same options]

Writes bench/results/<UTC date>-hardening.md (unless --no-save) and prints it; nothing goes to
history.csv (no rates). Exit status 0 when it completed, 2 when prerequisites are missing (no
targets yet).
"""
import argparse
import collections
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (sibling module)

from weftsim import hardening, paths  # noqa: E402
from weftsim.hardening import (HTTP_PORT, IdleClient, LinkCut, ProcSampler, Probe,  # noqa: E402
                               SilentCut, SlowClient)

KIND = "hardening"
PARTS = ("idle", "slowloris", "partition")
IDLE_CASES = (("same-node", "tcp", "local-tcp"), ("same-node", "http", "local-http"),
              ("cross-node", "tcp", "remote-tcp"), ("cross-node", "http", "remote-http"))
SLOW_SOURCES = ("svc", "svc-line", "unmeshed", "unmeshed-line", "pod-ip")
DEFAULT_SLOW_SOURCES = ("svc", "svc-line", "unmeshed", "pod-ip")
PROBE_KINDS = ("http1", "newconn", "tcp")
CUT_MODES = ("link", "drop")
METRIC_PATTERN = r"timeout|ping|dead|tunnel"


def _log(text):
    print(text, file=sys.stderr, flush=True)


def _pct(values, q):
    return benchlib.percentile(sorted(values), q) if values else None


class HardeningBench(benchlib.BenchBase):
    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.idle = []
        self.slow = {"baseline": None, "runs": []}
        self.partition = []
        self.started = benchlib.utc_now()

    def setup(self):
        a = self.args
        agent_args = ["--workers", str(a.workers), "--log-level", "info"]
        c = self.cluster
        self.n1 = c.add_node("node1", agent_args=agent_args)
        self.n2 = c.add_node("node2", agent_args=agent_args)
        c.link(self.n1, self.n2)
        self.topo = hardening.hardening_topology(c, self.n1, self.n2)
        self.setup_done = time.monotonic()

    def run(self):
        t0 = time.monotonic()
        self.part_seconds = {}
        for part in self.args.parts:
            start = time.monotonic()
            getattr(self, f"run_{part}")()
            self.part_seconds[part] = time.monotonic() - start
        self.run_seconds = time.monotonic() - t0

    # -- idle ----------------------------------------------------------------------------------

    def _agents(self, placement):
        return [self.n1, self.n2] if placement == "cross-node" else [self.n1]

    def _figures(self, nodes):
        return {n.name: hardening.proc_figures(n.agent.pid) for n in nodes}

    def run_idle(self):
        a = self.args
        cycles = max(1, math.ceil(a.total_connections / a.connections))
        for placement, mode, service in IDLE_CASES:
            nodes = self._agents(placement)
            # Each case starts from fresh agents (the pods stay meshed: the agents' state
            # file), warmed up by one exchange of every kind through every Service, so the
            # cases' baselines do not carry each other's pools and allocator caches.
            for node in nodes:
                node.agent.restart()
            hardening.wait_until_served(self.topo)
            client = IdleClient.start(self.topo.pods["idler"], self.cluster,
                                      self.topo.target(service), mode, a.connections,
                                      tag=f"idle-{service}")
            time.sleep(2)
            case = {"placement": placement, "mode": mode, "service": service,
                    "before": self._figures(nodes), "cycles": [],
                    "wall": [benchlib.utc_now()]}
            for i in range(cycles):
                opened = client.open()
                time.sleep(a.idle_seconds)
                with_open = self._figures(nodes)
                closed = client.close()
                time.sleep(1)
                case["cycles"].append({"open": opened, "with_open": with_open,
                                       "close": closed, "after_close": self._figures(nodes)})
                _log(f"idle {placement} {mode} cycle {i + 1}/{cycles}: {opened['ok']} ok "
                     f"{opened['failed']} failed {opened['errors'] or ''} in "
                     f"{opened['seconds']:.1f}s; open: {with_open}; ended by the agent while "
                     f"idle: {closed['ended_by_peer']}")
            client.stop()
            time.sleep(a.after_seconds)
            case["after"] = self._figures(nodes)
            case["wall"].append(benchlib.utc_now())
            case["problems"] = _problems(nodes, *case["wall"])
            _log(f"idle {placement} {mode}: before {case['before']} after {case['after']}")
            self.idle.append(case)

    # -- slowloris ------------------------------------------------------------------------------

    def _good_probe(self, tag):
        a = self.args
        return Probe.start(self.topo.pods["good"], self.cluster, a.good_rate, a.good_timeout,
                           http1=self.topo.target("local-http"), workers=4, tag=tag)

    def run_slowloris(self):
        a = self.args
        pid = self.n1.agent.pid
        probe = self._good_probe("good-baseline")
        with ProcSampler([pid]) as sampler:
            time.sleep(a.good_baseline_seconds)
        result = probe.finish()
        self.slow["baseline"] = {"good": result["samples"]["http1"],
                                 "figures": (sampler.first[pid], sampler.peak[pid])}
        _log(f"slowloris baseline: good client {result['kinds']['http1']['ok']} ok "
             f"{result['kinds']['http1']['failed']} failed")
        backend = self.topo.backends[0]
        server = self.topo.servers[backend.name]
        line = hardening.REQUEST_LINE
        targets = {"svc": ("slow", self.topo.target("local-http"), 0),
                   "svc-line": ("slow", self.topo.target("local-http"), line),
                   "unmeshed": ("plain", f"{backend.ip}:{HTTP_PORT}", 0),
                   "unmeshed-line": ("plain", f"{backend.ip}:{HTTP_PORT}", line),
                   "pod-ip": ("slow", f"{backend.ip}:{HTTP_PORT}", 0)}
        for source in a.slow_sources:
            pod_name, target, prefix = targets[source]
            app_before = hardening.server_stats(server)
            wall = benchlib.utc_now()
            probe = self._good_probe(f"good-{source}")
            with ProcSampler([pid]) as sampler:
                slow = SlowClient.start(self.topo.pods[pod_name], self.cluster, target,
                                        a.slow_connections, a.slow_seconds, a.slow_interval,
                                        prefix=prefix, tag=f"slow-{source}")
                time.sleep(max(0.0, a.slow_seconds - 3))
                app_during = hardening.server_stats(server)
                slow_result = slow.result()
                good = probe.finish()
            time.sleep(3)
            after = hardening.proc_figures(pid)
            run = {"source": source, "pod": pod_name, "target": target, "slow": slow_result,
                   "good": [s for s in good["samples"]["http1"]
                            if s[0] >= slow_result["started"]],
                   "start": sampler.first[pid], "peak": sampler.peak[pid], "after": after,
                   "app_before": app_before, "app_during": app_during,
                   "problems": _problems([self.n1, self.n2], wall, benchlib.utc_now())}
            self.slow["runs"].append(run)
            ended = [c for c in slow_result["conns"] if c["ended"] is not None]
            _log(f"slowloris {source}: {slow_result['connected']} connected, {len(ended)} ended "
                 f"by the other side, agent {run['start']} -> peak {run['peak']}, app "
                 f"{app_during}; good client {good['kinds']['http1']['ok']} ok "
                 f"{good['kinds']['http1']['failed']} failed")

    # -- partition ------------------------------------------------------------------------------

    def run_partition(self):
        a = self.args
        side = self.n2 if a.cut_side == "node2" else self.n1
        nodes = [self.n1, self.n2]
        for mode in a.cut_modes:
            for seconds in a.cuts:
                probe = Probe.start(self.topo.pods["good"], self.cluster, a.probe_rate,
                                    a.probe_timeout, http1=self.topo.target("remote-http"),
                                    newconn=self.topo.target("remote-http"),
                                    tcp=self.topo.target("remote-tcp"),
                                    tag=f"probe-{mode}{seconds}")
                time.sleep(a.partition_lead)
                metrics_before = {n.name: hardening.metric_values(n.agent, METRIC_PATTERN)
                                  for n in nodes}
                if mode == "link":
                    cut = LinkCut(side, side.links[0])
                    what = f"{side.name}'s end {side.links[0]} down"
                else:
                    cut = SilentCut([(n, n.links[0]) for n in nodes])
                    what = "every packet dropped on arrival at both ends"
                cut.down()
                _log(f"partition {mode}: {what} for {seconds} s")
                time.sleep(seconds)
                cut.up()
                time.sleep(a.partition_tail)
                result = probe.finish()
                end_wall = benchlib.utc_now()
                metrics_after = {n.name: hardening.metric_values(n.agent, METRIC_PATTERN)
                                 for n in nodes}
                logs = {n.name: hardening.log_lines(n.agent, since=cut.down_wall,
                                                    until=end_wall) for n in nodes}
                run = {"mode": mode, "seconds": seconds, "cut": cut, "result": result,
                       "logs": logs, "what": what,
                       "metrics": {n.name: hardening.metric_changes(metrics_before[n.name],
                                                                    metrics_after[n.name])
                                   for n in nodes}}
                self.partition.append(run)
                for kind in PROBE_KINDS:
                    f = cut_figures(run, kind)
                    _log(f"partition {mode} {seconds}s {kind}: {f['during']} started during the "
                         f"cut {dict(f['during_outcomes'])}; first ok {_s(f['first_ok'])} after "
                         f"up, all ok from {_s(f['steady'])}")
                time.sleep(2)


def _problems(nodes, since, until):
    """The agents' warn/error lines between since and until: [(node, level, event, line)]."""
    return [(n.name, level, event, line) for n in nodes
            for _when, level, event, line in hardening.log_lines(
                n.agent, since=since, until=until, levels=("warn", "error"))]


def _problem_lines(title, problems):
    """A report paragraph: the count of warn/error lines by node and event, the first of each."""
    if not problems:
        return [f"{title}: no agent warn/error lines.", ""]
    out = [f"{title}: {len(problems)} agent warn/error lines:", ""]
    seen = collections.OrderedDict()
    for node, level, event, line in problems:
        key = (node, level, event)
        first, count = seen.get(key, (line, 0))
        seen[key] = (first, count + 1)
    for (node, level, event), (line, count) in seen.items():
        out.append(f"- {node} {level} `{event}` ×{count}: `{line[:300]}`")
    return out + [""]


# -- figures ------------------------------------------------------------------------------------

def _s(v):
    return "—" if v is None else f"{v:.1f} s"


def _ms(v):
    return "—" if v is None else f"{v:.1f} ms"


def _mib(kib):
    return f"{kib / 1024:.1f} MiB"


def cut_figures(run, kind):
    """The requests of kind around one cut: started during it (count, outcomes, durations),
    after the link came back: first answered (its end - up), first request from which every
    later one was answered (its start - up, 0 when already before up), failures after up."""
    cut = run["cut"]
    down, up = cut.down_at, cut.up_at
    samples = run["result"]["samples"][kind]
    during = [s for s in samples if down <= s[0] < up]
    ok_ends = [t + d for t, d, o in samples if o == "ok" and t + d >= up]
    first_ok = min(ok_ends) - up if ok_ends else None
    steady = None
    after = [s for s in samples if s[0] + s[1] >= down]
    for t, _d, o in reversed(after):  # the earliest start of the final run of answered ones
        if o != "ok":
            break
        steady = max(0.0, t - up)
    durations = [d for _t, d, _o in during]
    failed_after = [s for s in samples if s[0] >= up and s[2] != "ok"]
    before = [s for s in samples if s[0] < down]
    return {"during": len(during), "during_outcomes": collections.Counter(o for _, _, o in during),
            "during_ok": sum(1 for s in during if s[2] == "ok"),
            "dur_min": min(durations) if durations else None,
            "dur_med": statistics.median(durations) if durations else None,
            "dur_max": max(durations) if durations else None,
            "first_ok": first_ok, "steady": steady, "failed_after": len(failed_after),
            "failed_after_outcomes": collections.Counter(o for _, _, o in failed_after),
            "last_failed_after": max((s[0] - up for s in failed_after), default=None),
            "failed_before": sum(1 for s in before if s[2] != "ok"),
            "observed_after": (run["result"]["ended"] - up)}


def _labels_cell(labels):
    """{k=v,...} with the identity labels' long values cut short."""
    if not labels:
        return ""
    return "{" + ",".join(f"{k}={v if len(v) <= 40 else v[:37] + '...'}"
                          for k, v in labels.items()) + "}"


def _commit_of(build_dir):
    """The commit the build dir's sources are at (its parent directory's git), with -dirty."""
    src = os.path.dirname(os.path.abspath(build_dir))
    rev = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    if not rev:
        return f"unknown ({src} is no git work tree)"
    dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return f"{rev}{' (with local changes)' if dirty else ''} ({src})"


def report(bench, args):
    lines = [f"# weft hardening: idle connections, slowloris, node link cut, "
             f"{bench.finished:%Y-%m-%d %H:%M} UTC", ""]
    if args.note:
        lines += [f"**{args.note}**", ""]
    lines += [f"- agent built from `{_commit_of(args.build_dir)}`, build dir "
              f"`{os.path.abspath(args.build_dir)}`",
              benchlib.environment_line().replace("- commit", "- bench scripts at commit"),
              f"- run {bench.started:%Y-%m-%d %H:%M}–{bench.finished:%H:%M} UTC "
              f"({(bench.finished - bench.started).total_seconds() / 60:.1f} min; parts: "
              + ", ".join(f"{p} {s / 60:.1f} min" for p, s in bench.part_seconds.items()) + ")",
              f"- two simulated nodes (weftsim), agents `--workers {args.workers} --log-level "
              f"info`, no CPU pinning; the machine has {os.cpu_count()} CPUs, shared with other "
              f"work (a fuzzer may hold one): memory and fd figures hold, latencies are noisy",
              "- backends: `weftsim/servers/hardening_server.py` (HTTP/1.1 :8080, echo :9000); "
              "Services local-http / local-tcp → node1's backend, remote-http / remote-tcp → "
              "node2's; `*-http` detected (no appProtocol), `*-tcp` appProtocol tcp", ""]
    if "idle" in args.parts:
        lines += idle_report(bench, args)
    if "slowloris" in args.parts:
        lines += slow_report(bench, args)
    if "partition" in args.parts:
        lines += partition_report(bench, args)
    return "\n".join(lines), True


def idle_report(bench, args):
    n = args.connections
    cycles = max(1, math.ceil(args.total_connections / n))
    out = ["## Idle connections", "",
           f"{n} connections at once from a meshed pod (one exchange each, then idle "
           f"{args.idle_seconds:g} s), closed, {cycles} times ({cycles * n} opened and closed), "
           f"per case from freshly restarted agents (the measured ones; pods stay meshed) "
           f"warmed up by a few requests through every Service; "
           f"RSS = VmRSS of the agent, fds = /proc/PID/fd. Per connection = (RSS with all open "
           f"− before) / {n}, first cycle (and the largest over cycles). After = "
           f"{args.after_seconds:g} s after the last close.", "",
           "| placement | load | agent | RSS before | RSS all open (1st) | per conn (1st / max) "
           "| fds before → all open | RSS after close | after vs before | fds after | "
           "opened ok / failed | ended by agent while idle |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for case in bench.idle:
        ok = sum(c["open"]["ok"] for c in case["cycles"])
        failed = sum(c["open"]["failed"] for c in case["cycles"])
        ended = sum(c["close"]["ended_by_peer"] for c in case["cycles"])
        for node, before in case["before"].items():
            first = case["cycles"][0]["with_open"][node]
            per = [(c["with_open"][node]["rss_kib"] - before["rss_kib"]) / n
                   for c in case["cycles"]]
            after = case["after"][node]
            pct = 100.0 * (after["rss_kib"] - before["rss_kib"]) / before["rss_kib"]
            out.append(f"| {case['placement']} | {case['mode']} | {node} | "
                       f"{_mib(before['rss_kib'])} | {_mib(first['rss_kib'])} | "
                       f"{per[0]:.1f} / {max(per):.1f} KiB | {before['fds']} → {first['fds']} | "
                       f"{_mib(after['rss_kib'])} | {pct:+.1f}% | {after['fds']} | "
                       f"{ok} / {failed} | {ended} |")
    out += ["", "Per cycle (RSS with all open → 1 s after closing them; fds likewise):", ""]
    for case in bench.idle:
        for node in case["before"]:
            cells = [f"{_mib(c['with_open'][node]['rss_kib'])} → "
                     f"{_mib(c['after_close'][node]['rss_kib'])} "
                     f"({c['with_open'][node]['fds']} → {c['after_close'][node]['fds']} fds)"
                     for c in case["cycles"]]
            out.append(f"- {case['placement']} {case['mode']}, {node}: " + "; ".join(cells))
    out.append("")
    if not any(case.get("problems") for case in bench.idle):
        out += ["Agent warn/error lines during the idle cases: none.", ""]
    for case in bench.idle:
        if case.get("problems"):
            out += _problem_lines(f"{case['placement']} {case['mode']}", case["problems"])
    errors = collections.Counter()
    for case in bench.idle:
        for c in case["cycles"]:
            errors.update(c["open"]["errors"])
    if errors:
        out += ["Connections that failed to open: " +
                ", ".join(f"{k} ×{v}" for k, v in errors.items()), ""]
    return out


def _good_cells(samples):
    lat = [d * 1000 for _t, d, o in samples if o == "ok"]
    failed = collections.Counter(o for _t, _d, o in samples if o != "ok")
    return (len(lat), sum(failed.values()), _pct(lat, 50), _pct(lat, 99),
            max(lat) if lat else None, failed)


def slow_report(bench, args):
    out = ["## Slowloris", "",
           f"{args.slow_connections} connections per source, each sending an HTTP/1.1 request "
           f"head that never ends (`GET / HTTP/1.1`, `Host`, then `X-Slow: a` lines) one byte "
           f"every {args.slow_interval:g} s, for {args.slow_seconds:g} s; node1's agent sampled "
           f"every 0.5 s. Sources: svc = meshed pod → Service local-http (outbound, protocol "
           f"detection); unmeshed = unmeshed pod → backend pod IP:8080 (tc → the agent's inbound "
           f"plaintext listener, detection); pod-ip = meshed pod → backend pod IP:8080 (outbound "
           f"to a pod IP); `-line`: the request line (16 bytes) sent at once on connect, then "
           f"the rest one byte at a time (so detection sees HTTP). \"Ended\" = the other side "
           f"closed or answered (the slow client never does); times are after the "
           f"connection's open. Slow heads at the app: hardening_server's open connections "
           f"holding part of a head, 3 s before the end (the agent passed the bytes on).", "",
           "| source | connected | ended by the other side | how | ended after min / median / "
           "max | still open at end | agent RSS start → peak | fds start → peak | fds 3 s "
           "after | slow heads at the app (partial / open conns) |",
           "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for run in bench.slow["runs"]:
        s = run["slow"]
        ended = [c for c in s["conns"] if c["ended"] is not None]
        after = [c["ended"] - c["opened"] for c in ended]
        how = collections.Counter(c["how"] if c["how"] != "response" else
                                  f"answered `{c['response']}`" for c in ended)
        when = (f"{min(after):.1f} / {statistics.median(after):.1f} / {max(after):.1f} s"
                if after else "—")
        app = run["app_during"]
        failed = sum(s["connect_failed"].values())
        out.append(f"| {run['source']} | {s['connected']}"
                   f"{f' ({failed} failed)' if failed else ''} | {len(ended)} | "
                   f"{', '.join(f'{k} ×{v}' for k, v in how.items()) or '—'} | {when} | "
                   f"{s['open_at_end']} | {_mib(run['start']['rss_kib'])} → "
                   f"{_mib(run['peak']['rss_kib'])} | {run['start']['fds']} → "
                   f"{run['peak']['fds']} | {run['after']['fds']} | {app['partial']} / "
                   f"{app['open']} |")
    out.append("")
    if not any(run["problems"] for run in bench.slow["runs"]):
        out += ["Agent warn/error lines during the slowloris runs: none.", ""]
    for run in bench.slow["runs"]:
        if run["problems"]:
            out += _problem_lines(f"During slowloris {run['source']}", run["problems"])
    out += [f"Good client: `good` → Service local-http, {args.good_rate:g} HTTP/1.1 "
            f"keep-alive requests/s over 4 connections, {args.good_timeout:g} s timeout each; "
            f"baseline = alone for {args.good_baseline_seconds:g} s before the slowloris runs.",
            "", "| phase | ok | failed | p50 | p99 | max | failures |",
            "|---|---:|---:|---:|---:|---:|---|"]
    phases = []
    if bench.slow["baseline"]:
        phases.append(("baseline (no slowloris)", bench.slow["baseline"]["good"]))
    phases += [(f"during slowloris: {r['source']}", r["good"]) for r in bench.slow["runs"]]
    for name, samples in phases:
        ok, failed, p50, p99, mx, why = _good_cells(samples)
        out.append(f"| {name} | {ok} | {failed} | {_ms(p50)} | {_ms(p99)} | {_ms(mx)} | "
                   f"{', '.join(f'{k} ×{v}' for k, v in why.items()) or '—'} |")
    return out + [""]


def partition_report(bench, args):
    out = ["## Node link cut", "",
           f"`good` (node1) → node2's backend: {args.probe_rate:g} requests/s of each kind, "
           f"{args.probe_timeout:g} s timeout each, never retried: http1 = HTTP/1.1 keep-alive "
           f"(remote-http; a failed request closes its connection), newconn = HTTP/1.1 on a new "
           f"connection each (remote-http), tcp = a new connection each to an appProtocol tcp "
           f"Service (remote-tcp, ping/echo). Cuts: link = `ip link set DEV down` on "
           f"{args.cut_side}'s end of the node link, then up (routes put back): the other node "
           f"loses its carrier and its sends fail locally, which TCP retries every 0.5 s "
           f"without backing off; drop = every packet dropped on arrival at both ends (tc "
           f"ingress), links and routes untouched: a silent partition, TCP backs off "
           f"exponentially. Watched {args.partition_tail:g} s after. \"First ok\" = the first "
           f"answered request's end − end of the cut; \"all ok from\" = start of the first "
           f"request from which every later one was answered − end of the cut (0: already "
           f"before).", "",
           "| cut | kind | started during cut | their outcomes | their duration min / median / "
           "max | first ok after the cut | all ok from | failed after the cut (last started "
           "at) |",
           "|---|---|---:|---|---:|---:|---:|---:|"]
    for run in bench.partition:
        for kind in PROBE_KINDS:
            if kind not in run["result"]["samples"]:
                continue
            f = cut_figures(run, kind)
            outcomes = ", ".join(f"{k} ×{v}" for k, v in sorted(f["during_outcomes"].items()))
            dur = (f"{f['dur_min']:.2f} / {f['dur_med']:.2f} / {f['dur_max']:.2f} s"
                   if f["during"] else "—")
            first = _s(f["first_ok"]) if f["first_ok"] is not None else \
                f"none within {f['observed_after']:.0f} s"
            steady = _s(f["steady"]) if f["steady"] is not None else \
                f"never within {f['observed_after']:.0f} s"
            fa = f["failed_after"]
            why = ", ".join(f"{k} ×{v}" for k, v in f["failed_after_outcomes"].items())
            fa_cell = f"{fa} ({why}; last at +{f['last_failed_after']:.1f} s)" if fa else "0"
            out.append(f"| {run['mode']} {run['seconds']} s | {kind} | {f['during']} | "
                       f"{outcomes or '—'} | "
                       f"{dur} | {first} | {steady} | {fa_cell} |")
    out += ["", "Agent log during each cut and after it (until the probe stopped): warn/error "
            "lines, by event, with the first line of each:", ""]
    for run in bench.partition:
        cut = run["cut"]
        for node, entries in run["logs"].items():
            during = [e for e in entries if e[0] <= cut.up_wall and e[1] in ("warn", "error")]
            later = [e for e in entries if e[0] > cut.up_wall and e[1] in ("warn", "error")]
            info = [e for e in entries if e[1] == "info"]
            out.append(f"- {run['mode']} {run['seconds']} s, {node}: {len(during)} warn/error "
                       f"lines during the cut, {len(later)} after ({len(info)} info lines in "
                       f"all)")
            first = {}
            for e in during + later:
                first.setdefault((e[1], e[2]), (e, 0))
                first[(e[1], e[2])] = (first[(e[1], e[2])][0], first[(e[1], e[2])][1] + 1)
            for (level, event), (e, count) in first.items():
                out.append(f"  - {level} `{event}` ×{count}: `{e[3][:300]}`")
    out += ["", f"Agent metrics matching `{METRIC_PATTERN}` that changed between just before "
            f"the cut and the end of the probe:", ""]
    for run in bench.partition:
        for node, changes in run["metrics"].items():
            if not changes:
                out.append(f"- {run['mode']} {run['seconds']} s, {node}: none changed")
                continue
            out.append(f"- {run['mode']} {run['seconds']} s, {node}: " + "; ".join(
                f"`{name}{_labels_cell(labels)}` {'—' if b is None else f'{b:g}'} → "
                f"{'—' if a is None else f'{a:g}'}" for name, labels, b, a in changes[:20])
                + (f" (+{len(changes) - 20} more)" if len(changes) > 20 else ""))
    return out + [""]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma list of {', '.join(PARTS)}")
    p.add_argument("--connections", type=int, default=2000, help="idle: open at once")
    p.add_argument("--total-connections", type=int, default=10000,
                   help="idle: opened and closed in all, per case")
    p.add_argument("--idle-seconds", type=float, default=5, help="idle: all open this long")
    p.add_argument("--after-seconds", type=float, default=5, help="idle: after the last close")
    p.add_argument("--slow-connections", type=int, default=300)
    p.add_argument("--slow-seconds", type=float, default=150)
    p.add_argument("--slow-interval", type=float, default=5, help="seconds between bytes")
    p.add_argument("--slow-sources", default=",".join(DEFAULT_SLOW_SOURCES),
                   help=f"comma list of {', '.join(SLOW_SOURCES)}")
    p.add_argument("--good-rate", type=float, default=10, help="good client requests/s")
    p.add_argument("--good-timeout", type=float, default=5)
    p.add_argument("--good-baseline-seconds", type=float, default=30)
    p.add_argument("--cuts", default="5,30", help="node link cuts, seconds each")
    p.add_argument("--cut-modes", default=",".join(CUT_MODES),
                   help="link: one end of the node link down (ip link); drop: every packet "
                        "dropped on arrival at both ends (tc), a silent partition")
    p.add_argument("--cut-side", choices=("node1", "node2"), default="node2",
                   help="link mode: whose end of the node link goes down")
    p.add_argument("--probe-rate", type=float, default=5, help="partition: requests/s per kind")
    p.add_argument("--probe-timeout", type=float, default=2)
    p.add_argument("--partition-lead", type=float, default=5)
    p.add_argument("--partition-tail", type=float, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--note", default="", help="a line for the report's header")
    p.add_argument("--build-dir", default=os.environ.get("WEFT_BUILD_DIR")
                   or os.path.join(benchlib.REPO, "build"))
    p.add_argument("--results-dir", default=os.path.join(benchlib.REPO, "bench", "results"))
    p.add_argument("--no-save", action="store_true", help="print only")
    args = p.parse_args()
    args.parts = [x for x in args.parts.split(",") if x]
    bad = [x for x in args.parts if x not in PARTS]
    if bad or not args.parts:
        p.error(f"--parts: unknown {bad}; choose from {', '.join(PARTS)}")
    args.parts = [x for x in PARTS if x in args.parts]
    args.slow_sources = [x for x in args.slow_sources.split(",") if x]
    bad = [x for x in args.slow_sources if x not in SLOW_SOURCES]
    if bad or not args.slow_sources:
        p.error(f"--slow-sources: unknown {bad}; choose from {', '.join(SLOW_SOURCES)}")
    try:
        args.cuts = [float(x) for x in args.cuts.split(",") if x]
    except ValueError:
        p.error("--cuts: comma list of seconds")
    args.cuts = [int(c) if c == int(c) else c for c in args.cuts]
    args.cut_modes = [x for x in args.cut_modes.split(",") if x]
    bad = [x for x in args.cut_modes if x not in CUT_MODES]
    if bad or not args.cut_modes:
        p.error(f"--cut-modes: unknown {bad}; choose from {', '.join(CUT_MODES)}")
    missing = benchlib.prerequisites(paths.Build(args.build_dir),
                                     {"ss": "iproute2", "ip": "iproute2"})
    if missing:
        print("prerequisites missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    # Its figures are not rates: nothing goes to history.csv.
    return benchlib.run(args, KIND, HardeningBench, report, lambda _bench, _args: [])


if __name__ == "__main__":
    sys.exit(main())
