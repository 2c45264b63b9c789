#!/usr/bin/python3
"""weft L4 benchmark: the same loads three ways, interleaved, median of N rounds.

Ways (one simulated node, built with the e2e harness through the real CNI chain):
  direct    a non-meshed client pod -> the server pod's IP (no weft on the path)
  weft-pod  a meshed client pod -> the server pod's IP (redirected, proxied by the agent)
  weft-svc  the meshed client pod -> the Service ClusterIP (resolved and balanced by the agent)
Loads: HTTP/1.1 keep-alive small responses (wrk -t1 -c32 --latency against nginx, 1 worker,
sendfile off, access_log off) and bulk TCP (iperf3, one stream).
The load generator is pinned to CPU 0, the servers and the agent to CPU 1. Agent CPU is
utime+stime of the agent from /proc/PID/stat around each measured run.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from harness import cleanup as cleanup_mod  # noqa: E402
from harness import paths, preflight, procs  # noqa: E402
from harness.cluster import Cluster, publish_service  # noqa: E402
from harness.scenarios import deployment_pods  # noqa: E402

HTTP_PORT = 8080
IPERF_PORT = 5201
CLUSTER_IP = "10.96.0.20"
WAYS = ("direct", "weft-pod", "weft-svc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOADGEN_CPU = 0
SERVER_CPU = 1

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile off;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {port} reuseport;
        location / {{ default_type text/plain; return 200 "hello from weft bench\\n"; }}
    }}
}}
"""


def _duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"bad wrk duration {text!r}")
    scale = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]
    return float(m.group(1)) * scale


def parse_wrk(out):
    """requests/s, total requests, p50/p99 latency (µs) from `wrk --latency` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = _duration_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _duration_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": total, "p50_us": p50, "p99_us": p99,
            "errors": (errors.group(1) if errors else "") +
                      (f" non2xx={non2xx.group(1)}" if non2xx else "")}


class Bench:
    """Builds the node and pods, runs the loads, collects samples per (load, way)."""

    def __init__(self, args, cleanup):
        self.args = args
        self.cleanup = cleanup
        self.workdir = tempfile.mkdtemp(prefix=f"{cleanup_mod.PREFIX}-bench-")
        cleanup.push(f"rm -rf {self.workdir}", shutil.rmtree, self.workdir, True)
        self.build = paths.Build(args.build_dir)
        self.cluster = Cluster(self.build, self.workdir, cleanup)
        self.samples = {}  # (load, way) -> list of dicts

    def setup(self):
        """One node; agent pinned to the server CPU; server, meshed and plain client pods."""
        # The direct client reaches the (meshed) server without inbound capture: its ports are
        # excluded inbound, which the weft ways never need on one node (the agent's own
        # upstream connections are not captured).
        self.node = self.cluster.add_node(
            "bench", agent_args=["--workers", "1", "--log-level", "info",
                                 "--exclude-inbound-ports", f"{HTTP_PORT},{IPERF_PORT}"],
            agent_exec_prefix=["taskset", "-c", str(SERVER_CPU)])
        self.server = deployment_pods(self.node, "server", 1, "bench")[0]
        self.meshed = deployment_pods(self.node, "client", 1, "bench")[0]
        self.plain = deployment_pods(self.node, "plain", 1, "bench", meshed=False)[0]
        self._start_nginx()
        self._start_iperf_server()
        publish_service(self.cluster, "server", "bench", CLUSTER_IP,
                        [("http", 80, HTTP_PORT), ("iperf", IPERF_PORT, IPERF_PORT)],
                        [self.server], extra_pods=[self.meshed, self.plain])
        procs.wait_until(lambda: self.meshed.curl(f"http://{CLUSTER_IP}/", timeout=2), 15,
                         what="the Service reachable from the meshed client")

    def _start_nginx(self):
        d = os.path.join(self.workdir, "nginx")
        os.makedirs(d)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=d, port=HTTP_PORT))
        svc = procs.Service(self.server.exec_argv(["taskset", "-c", str(SERVER_CPU), "nginx",
                                                   "-c", conf, "-p", d]),
                            os.path.join(d, "stderr.log"), "nginx")
        self.cleanup.push("stop nginx", svc.stop)
        procs.wait_until(lambda: self.plain.curl(f"http://{self.server.ip}:{HTTP_PORT}/",
                                                 timeout=2), 10, what="nginx up")

    def _start_iperf_server(self):
        svc = procs.Service(self.server.exec_argv(["taskset", "-c", str(SERVER_CPU), "iperf3",
                                                   "-s", "-p", str(IPERF_PORT)]),
                            os.path.join(self.workdir, "iperf3-server.log"), "iperf3 -s")
        self.cleanup.push("stop iperf3 -s", svc.stop)
        procs.wait_until(lambda: IPERF_PORT in self.server.listening_ports(), 10,
                         what="iperf3 -s listening")

    def _target(self, way, port, service_port):
        if way == "direct":
            return self.plain, self.server.ip, port
        if way == "weft-pod":
            return self.meshed, self.server.ip, port
        return self.meshed, CLUSTER_IP, service_port

    def _measure(self, argv_in_pod, pod, timeout):
        agent = self.node.agent
        before = agent.cpu_ticks()
        r = procs.run(["taskset", "-c", str(LOADGEN_CPU)] + pod.exec_argv(argv_in_pod),
                      timeout=timeout)
        cpu_s = (agent.cpu_ticks() - before) / CLK_TCK
        return r.stdout, cpu_s

    def run_http(self, way, seconds):
        """wrk against nginx; returns the sample (rps, latency, agent CPU µs/request)."""
        pod, host, port = self._target(way, HTTP_PORT, 80)
        url = f"http://{host}:{port}/"
        argv = ["wrk", "-t1", f"-c{self.args.connections}", f"-d{seconds}s", "--latency", url]
        out, cpu_s = self._measure(argv, pod, seconds + 60)
        sample = parse_wrk(out)
        sample["agent_cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        return sample

    def run_bulk(self, way, seconds):
        """iperf3, one stream client -> server; returns Gbit/s and agent CPU s per GiB."""
        pod, host, port = self._target(way, IPERF_PORT, IPERF_PORT)
        argv = ["iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-J"]
        out, cpu_s = self._measure(argv, pod, seconds + 60)
        end = json.loads(out)["end"]["sum_received"]
        return {"gbps": end["bits_per_second"] / 1e9, "bytes": end["bytes"],
                "agent_cpu_s_per_gib": cpu_s / (end["bytes"] / (1 << 30))}

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
                self.samples.setdefault(("http1", way), []).append(s)
                print(f"round {rnd + 1} http1 {way:8s} {s['rps']:10.0f} req/s "
                      f"p50 {s['p50_us']:.0f}us p99 {s['p99_us']:.0f}us "
                      f"agent {s['agent_cpu_us_per_req']:.1f}us/req {s['errors']}", flush=True)
            for way in order:
                s = self.run_bulk(way, a.duration)
                self.samples.setdefault(("bulk", way), []).append(s)
                print(f"round {rnd + 1} bulk  {way:8s} {s['gbps']:6.2f} Gbit/s "
                      f"agent {s['agent_cpu_s_per_gib']:.3f} CPU-s/GiB", flush=True)
        self.rss_kib = self.node.agent.rss_kib()
        self.meshed_pods = len(self.node.agent.pods())


def _median(samples, key):
    return statistics.median(s[key] for s in samples)


def report(bench, args):
    """The Markdown result: environment, medians, ratios against direct, targets."""
    s = bench.samples
    lines = []
    now = datetime.datetime.now(datetime.timezone.utc)
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip()
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines.append(f"# weft L4 bench, {now:%Y-%m-%d %H:%M} UTC\n")
    lines.append(f"- commit `{rev}`{' (with local changes)' if dirty else ''}, kernel "
                 f"{platform.release()}, {os.cpu_count()} CPUs ({cpu})")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--results-dir", default=os.path.join(REPO, "bench", "results"))
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()

    missing = preflight.problems(paths.Build(args.build_dir))
    for tool in ("wrk", "iperf3", "nginx", "taskset"):
        if shutil.which(tool) is None:
            missing.append(f"'{tool}' not found (apt-get install wrk iperf3 nginx util-linux)")
    if os.cpu_count() < 2:
        missing.append("needs 2 CPUs (load generator and server pinned apart)")
    if missing:
        print("bench prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2

    def _terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _terminate)
    atexit.register(cleanup_mod.sweep)
    cleanup = cleanup_mod.Cleanup()
    try:
        bench = Bench(args, cleanup)
        bench.setup()
        bench.run()
        text, met = report(bench, args)
    except BaseException:
        if "bench" in locals() and bench.cluster.nodes:
            sys.stderr.write(bench.cluster.agent_logs()[-5000:] + "\n")
        raise
    finally:
        cleanup.run()
        cleanup_mod.sweep()
    print(text)
    if not args.no_save:
        os.makedirs(args.results_dir, exist_ok=True)
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        path = os.path.join(args.results_dir, f"{day}-l4.md")
        n = 2
        while os.path.exists(path):
            path = os.path.join(args.results_dir, f"{day}-{n}-l4.md")
            n += 1
        with open(path, "w") as f:
            f.write(text + "\n")
        print(f"saved {path}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
