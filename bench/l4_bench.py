#!/usr/bin/python3
"""weft L4 benchmark: the same loads three ways, interleaved, median of N rounds.

Ways (one simulated node, built with weftsim through the real CNI chain):
  direct    a non-meshed client pod -> the server pod's IP (no weft on the path)
  weft-pod  a meshed client pod -> the server pod's IP (redirected, proxied by the agent)
  weft-svc  the meshed client pod -> the Service ClusterIP (resolved and balanced by the agent)
Loads: HTTP/1.1 keep-alive small responses (wrk -t1 -c32 --latency against nginx, 1 worker,
sendfile off, access_log off) and bulk TCP (iperf3, one stream).
The load generator is pinned to CPU 0, the servers and the agent to CPU 1. Agent CPU is
utime+stime of the agent from /proc/PID/stat around each measured run.
"""
import argparse
import sys

import benchlib
from benchlib import CLK_TCK, HTTP_PORT, IPERF_PORT, SERVER_CPU, median as _median
from weftsim import manifests, paths, procs
from weftsim.scenarios import deployment_pods

CLUSTER_IP = "10.96.0.20"
WAYS = ("direct", "weft-pod", "weft-svc")


class Bench(benchlib.BenchBase):
    """Builds the node and pods, runs the loads, collects samples per (load, way)."""

    def setup(self):
        """One node; agent pinned to the server CPU; server, meshed and plain client pods."""
        # The direct client reaches the (meshed) server without inbound capture: its ports are
        # excluded inbound, which the weft ways never need on one node (the agent's own
        # upstream connections are not captured).
        self.node = self.cluster.add_node(
            "bench", agent_args=["--workers", "1", "--log-level", "info",
                                 "--exclude-inbound-ports", f"{HTTP_PORT},{IPERF_PORT}"],
            agent_exec_prefix=benchlib.pinned(SERVER_CPU, []))
        self.server = deployment_pods(self.node, "server", 1, "bench")[0]
        self.meshed = deployment_pods(self.node, "client", 1, "bench")[0]
        self.plain = deployment_pods(self.node, "plain", 1, "bench", meshed=False)[0]
        benchlib.start_nginx(self.server, self.workdir, self.cleanup,
                             ready=lambda: self.plain.curl(f"http://{self.server.ip}:{HTTP_PORT}/",
                                                           timeout=2))
        benchlib.start_iperf_server(self.server, self.workdir, self.cleanup)
        # appProtocol tcp: this bench measures L4 pass-through (bench/run.sh l7 measures HTTP).
        ports = [("http", 80, HTTP_PORT), ("iperf", IPERF_PORT, IPERF_PORT)]
        svc = manifests.service("server", "bench", CLUSTER_IP, ports)
        for port in svc["spec"]["ports"]:
            port["appProtocol"] = "tcp"
        self.cluster.publish("server.json", [
            svc, manifests.endpoint_slice("server", "bench", [self.server],
                                          [(name, target) for name, _, target in ports])] +
            [manifests.pod_object(p) for p in (self.server, self.meshed, self.plain)])
        procs.wait_until(lambda: self.meshed.curl(f"http://{CLUSTER_IP}/", timeout=2), 15,
                         what="the Service reachable from the meshed client")

    def _target(self, way, port, service_port):
        if way == "direct":
            return self.plain, self.server.ip, port
        if way == "weft-pod":
            return self.meshed, self.server.ip, port
        return self.meshed, CLUSTER_IP, service_port

    def _measure(self, argv_in_pod, pod, timeout):
        agent = self.node.agent
        before = agent.cpu_ticks()
        out = benchlib.run_load(pod, argv_in_pod, timeout)
        cpu_s = (agent.cpu_ticks() - before) / CLK_TCK
        return out, cpu_s

    def run_http(self, way, seconds):
        """wrk against nginx; returns the sample (rps, latency, agent CPU µs/request)."""
        pod, host, port = self._target(way, HTTP_PORT, 80)
        argv = benchlib.wrk_argv(f"http://{host}:{port}/", self.args.connections, seconds)
        out, cpu_s = self._measure(argv, pod, seconds + 60)
        sample = benchlib.parse_wrk(out)
        sample["agent_cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        return sample

    def run_bulk(self, way, seconds):
        """iperf3, one stream client -> server; returns Gbit/s and agent CPU s per GiB."""
        pod, host, port = self._target(way, IPERF_PORT, IPERF_PORT)
        out, cpu_s = self._measure(benchlib.iperf_argv(host, port, seconds), pod, seconds + 60)
        sample = benchlib.parse_iperf(out)
        sample["agent_cpu_s_per_gib"] = cpu_s / (sample["bytes"] / (1 << 30))
        return sample

    def run(self):
        """Warm-up, then rounds of every load x way in interleaved order."""
        a = self.args
        for way in WAYS:
            self.run_http(way, 2)
            self.run_bulk(way, 2)
        for rnd in range(a.rounds):
            # Rotate the order each round so no way always runs first after a pause.
            order = WAYS[rnd % len(WAYS):] + WAYS[:rnd % len(WAYS)]
            for way in order:
                s = self.run_http(way, a.duration)
                self.record("http1", way, s)
                print(f"round {rnd + 1} http1 {way:8s} {s['rps']:10.0f} req/s "
                      f"p50 {s['p50_us']:.0f}us p99 {s['p99_us']:.0f}us "
                      f"agent {s['agent_cpu_us_per_req']:.1f}us/req {s['errors']}", flush=True)
            for way in order:
                s = self.run_bulk(way, a.duration)
                self.record("bulk", way, s)
                print(f"round {rnd + 1} bulk  {way:8s} {s['gbps']:6.2f} Gbit/s "
                      f"agent {s['agent_cpu_s_per_gib']:.3f} CPU-s/GiB", flush=True)
        self.rss_kib = self.node.agent.rss_kib()
        self.meshed_pods = len(self.node.agent.pods())


def report(bench, args):
    """The Markdown result: environment, medians, ratios against direct, targets."""
    s = bench.samples
    lines = []
    now = bench.finished
    lines.append(f"# weft L4 bench, {now:%Y-%m-%d %H:%M} UTC\n")
    lines.append(benchlib.environment_line())
    lines.append(f"- {args.rounds} interleaved rounds of {args.duration} s per load and way, "
                 "median shown; load generator on CPU 0, nginx/iperf3 server + agent on CPU 1; "
                 f"agent `--workers 1`")
    lines.append(f"- HTTP/1.1: `wrk -t1 -c{args.connections} --latency`, nginx 1 worker, "
                 "sendfile off, 22-byte body; bulk: `iperf3 -t{0}` one stream".format(
                     args.duration))
    lines.append(f"- agent RSS after the run: {bench.rss_kib / 1024:.1f} MiB with 3 pods on the "
                 f"node ({bench.meshed_pods} meshed)\n")
    lines.append("| load | way | req/s | p50 | p99 | Gbit/s | agent CPU | vs direct |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    direct_rps = _median(s[("http1", "direct")], "rps")
    direct_gbps = _median(s[("bulk", "direct")], "gbps")
    ratios = {}
    for way in WAYS:
        h = s[("http1", way)]
        rps = _median(h, "rps")
        ratios[("http1", way)] = rps / direct_rps
        lines.append(f"| HTTP/1.1 | {way} | {rps:,.0f} | {_median(h, 'p50_us') / 1000:.2f} ms "
                     f"| {_median(h, 'p99_us') / 1000:.2f} ms | | "
                     f"{_median(h, 'agent_cpu_us_per_req'):.1f} µs/req | "
                     f"{ratios[('http1', way)]:.2f}x |")
    for way in WAYS:
        b = s[("bulk", way)]
        gbps = _median(b, "gbps")
        ratios[("bulk", way)] = gbps / direct_gbps
        lines.append(f"| bulk TCP | {way} | | | | {gbps:.2f} | "
                     f"{_median(b, 'agent_cpu_s_per_gib'):.3f} CPU-s/GiB | "
                     f"{ratios[('bulk', way)]:.2f}x |")
    rss_mb = bench.rss_kib * 1024 / 1e6
    checks = [
        ("HTTP/1.1 req/s weft-svc >= 0.6x direct", ratios[("http1", "weft-svc")] >= 0.6,
         f"{ratios[('http1', 'weft-svc')]:.2f}x"),
        ("bulk weft-svc >= 0.6x direct", ratios[("bulk", "weft-svc")] >= 0.6,
         f"{ratios[('bulk', 'weft-svc')]:.2f}x"),
        ("agent RSS <= 30 MB", rss_mb <= 30, f"{rss_mb:.1f} MB"),
    ]
    lines.append("\n| target | result | met |")
    lines.append("|---|---:|---|")
    for name, ok, value in checks:
        lines.append(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    lines.append("\n<details><summary>every round</summary>\n")
    lines.append("| load | way | round values |")
    lines.append("|---|---|---|")
    for (load, way), samples in sorted(s.items()):
        key = "rps" if load == "http1" else "gbps"
        lines.append(f"| {load} | {way} | " +
                     ", ".join(f"{x[key]:,.2f}" for x in samples) + " |")
    lines.append("\n</details>\n")
    return "\n".join(lines), all(ok for _, ok, _ in checks)


def history(bench, args):
    """history.csv rows: per load and way, the median rate, its ratio to direct, agent CPU, p99."""
    s = bench.samples
    rows = []
    for load, rate, cpu in (("http1", "rps", "agent_cpu_us_per_req"),
                            ("bulk", "gbps", "agent_cpu_s_per_gib")):
        direct = _median(s[(load, "direct")], rate)
        for way in WAYS:
            xs = s[(load, way)]
            rows.append(benchlib.history_row(
                "same-node", load, way, _median(xs, rate), direct, _median(xs, cpu),
                None if load == "bulk" else _median(xs, "p99_us")))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_common_args(parser)
    args = parser.parse_args()

    missing = benchlib.prerequisites(paths.Build(args.build_dir),
                                     {"wrk": "wrk", "iperf3": "iperf3", "nginx": "nginx",
                                      "taskset": "util-linux"})
    if missing:
        print("bench prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2
    return benchlib.run(args, "l4", Bench, report, history)


if __name__ == "__main__":
    sys.exit(main())
