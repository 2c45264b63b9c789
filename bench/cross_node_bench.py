#!/usr/bin/python3
"""weft cross-node benchmark (issue 3): the same loads four ways across two simulated nodes,
interleaved, median of N rounds.

Two nodes (netns each, own weft-agent, own pod CIDR through the real CNI chain, joined by a
veth link; `weftsim.scenarios.two_nodes`). Client pods on node1, server pods on node2; every
server pod runs nginx (1 worker, sendfile off, 22-byte `return 200`) and `iperf3 -s`.
  direct        non-meshed client pod -> non-meshed server pod's IP: no proxy, no TLS
  weft          meshed client pod -> meshed server pod's IP: agent A tunnels it (TLS 1.3 +
                HTTP/2 CONNECT to the pod's :15008), agent B delivers it
  nginx-pair    non-meshed pods, nginx `stream` in each: client side listens on 127.0.0.1 and
                proxies with TLS 1.3 + a client certificate to the server side, which verifies
                it (`ssl_verify_client on`) and forwards to the app on 127.0.0.1
  haproxy-pair  the same with HAProxy (mode tcp, `ssl crt ... ca-file ... verify required`)
Loads: HTTP/1.1 keep-alive (wrk -t1 -c32 --latency), new connections (the same with
`Connection: close`: one TCP connection per request) and bulk TCP (iperf3, one stream).
Pinning: load generator on CPU 0; nginx, iperf3 -s, both agents and every peer proxy on CPU 1.
Proxy CPU = utime+stime (/proc/PID/stat) summed over the way's proxy processes (both agents,
or both ends of the pair) around each measured run.
"""
import argparse
import math
import os
import sys

import benchlib
from benchlib import (CLK_TCK, HTTP_PORT, IPERF_PORT, PAIRS, PEER_CIPHERSUITE, SERVER_CPU, median,
                      cpu_cell as _cpu, ms as _ms, ratio as _x)
from weftsim import manifests, paths, procs
from weftsim.metrics import delta
from weftsim.scenarios import deployment_pods, two_nodes

NAMESPACE = "bench"
WAYS = ("direct", "weft", "nginx-pair", "haproxy-pair")
LOADS = ("http1", "newconn", "bulk")
LOAD_TITLES = {"http1": "HTTP/1.1 keep-alive", "newconn": "new connections",
               "bulk": "bulk TCP"}
# Per pair and app port: (client side, listening on 127.0.0.1 in the client pod;
# server side, TLS, listening on the server pod's IP).
PAIR_PORTS = {"nginx-pair": {HTTP_PORT: (10080, 10443), IPERF_PORT: (10201, 10444)},
              "haproxy-pair": {HTTP_PORT: (20080, 20443), IPERF_PORT: (20201, 20444)}}
PROXY_PROCESSES = {"direct": "none (kernel only)",
                   "weft": "weft-agent on node1 + weft-agent on node2 (`--workers 1` each)",
                   "nginx-pair": "2 nginx (master + 1 worker each)",
                   "haproxy-pair": "2 haproxy (1 thread each)"}
HANDSHAKES = "weft_tls_handshakes_total"
SESSIONS = "weft_tunnel_sessions_opened_total"
OPENED = "weft_tcp_connections_opened_total"

NGINX_STREAM_HEAD = """load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 8192; }}
"""
# {certs} stays a placeholder of the templates below (filled by .format with the rest).
NGINX_CLIENT_SIDE = NGINX_STREAM_HEAD + """stream {{
    proxy_connect_timeout 5s;
    proxy_timeout 300s;
    proxy_ssl on;
""" + benchlib.nginx_tls_client("proxy_ssl", "{certs}") + """
    server {{ listen 127.0.0.1:{http_local}; proxy_pass {peer}:{http_tls}; }}
    server {{ listen 127.0.0.1:{iperf_local}; proxy_pass {peer}:{iperf_tls}; }}
}}
"""
NGINX_SERVER_SIDE = NGINX_STREAM_HEAD + """stream {{
    proxy_connect_timeout 5s;
    proxy_timeout 300s;
""" + benchlib.nginx_tls_server("{certs}", "STREAM_SSL") + """
    server {{ listen {http_tls} ssl; proxy_pass 127.0.0.1:{http_port}; }}
    server {{ listen {iperf_tls} ssl; proxy_pass 127.0.0.1:{iperf_port}; }}
}}
"""
HAPROXY_HEAD = benchlib.HAPROXY_GLOBAL + """defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
"""
HAPROXY_TLS_CLIENT = benchlib.haproxy_tls_client("{certs}")
HAPROXY_TLS_SERVER = benchlib.haproxy_tls_server("{certs}")
HAPROXY_CLIENT_SIDE = HAPROXY_HEAD + """frontend http_local
    bind 127.0.0.1:{http_local}
    default_backend http_tls
frontend iperf_local
    bind 127.0.0.1:{iperf_local}
    default_backend iperf_tls
backend http_tls
    server s {peer}:{http_tls} """ + HAPROXY_TLS_CLIENT + """
backend iperf_tls
    server s {peer}:{iperf_tls} """ + HAPROXY_TLS_CLIENT + "\n"
HAPROXY_SERVER_SIDE = HAPROXY_HEAD + """frontend http_tls
    bind :{http_tls} """ + HAPROXY_TLS_SERVER + """
    default_backend http_app
frontend iperf_tls
    bind :{iperf_tls} """ + HAPROXY_TLS_SERVER + """
    default_backend iperf_app
backend http_app
    server app 127.0.0.1:{http_port}
backend iperf_app
    server app 127.0.0.1:{iperf_port}
"""


class CrossNodeBench(benchlib.BenchBase):
    """Two nodes, the pods, backends and peer proxies; runs the loads, keeps the samples."""

    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.ways = args.ways
        self.weft = "weft" in self.ways
        self.proxies = {"direct": benchlib.NO_PROXY}
        self.tunnel = {}  # load -> summed tunnel metric deltas over the measured weft runs

    # ---- topology -----------------------------------------------------------------------

    def setup(self):
        """node1 + node2 (agents pinned to the server CPU), pods, backends, proxies."""
        if self.weft:
            self.node1, self.node2 = two_nodes(
                self.cluster, agent_args=["--workers", "1", "--log-level", "info"],
                agent_exec_prefix=benchlib.pinned(SERVER_CPU, []))
        else:  # the peers alone need no weft build
            self.node1 = self.cluster.add_node("node1", with_agent=False)
            self.node2 = self.cluster.add_node("node2", with_agent=False)
            self.cluster.link(self.node1, self.node2)
        # Not meshed: the direct way and both peer pairs (weft is nowhere on their path).
        self.plain_client = deployment_pods(self.node1, "plain-client", 1, NAMESPACE,
                                            meshed=False)[0]
        self.plain_server = deployment_pods(self.node2, "plain-server", 1, NAMESPACE,
                                            meshed=False)[0]
        self._start_backends(self.plain_server)
        procs.wait_until(lambda: self.plain_client.curl(
            f"http://{self.plain_server.ip}:{HTTP_PORT}/", timeout=2), 15,
            what="the plain server reachable across nodes")
        if self.weft:
            self._setup_weft()
        if any(p in self.ways for p in PAIRS):
            self.pair_dir = os.path.join(self.workdir, "pairs")
            benchlib.write_pair_certs(self.pair_dir)
        for way in PAIRS:
            if way in self.ways:
                self._start_pair(way)

    def _start_backends(self, pod):
        d = os.path.join(self.workdir, pod.name)
        os.makedirs(d)
        benchlib.start_nginx(pod, d, self.cleanup)
        benchlib.start_iperf_server(pod, d, self.cleanup)

    def _setup_weft(self):
        """Meshed client on node1, meshed server on node2 (pod objects published with the
        redirection annotation), then waits until a call is counted as mutual_tls."""
        self.client = deployment_pods(self.node1, "client", 1, NAMESPACE)[0]
        self.server = deployment_pods(self.node2, "server", 1, NAMESPACE)[0]
        self._start_backends(self.server)
        self.cluster.publish("bench-pods.json", [manifests.pod_object(p) for p in (
            self.client, self.server, self.plain_client, self.plain_server)])
        agent1 = self.node1.agent
        before = agent1.metrics()

        # Until discovery has the server pod, a call may still go out in plaintext: wait for
        # one that node1 counts as mutual_tls.
        def tunnelled():
            self.client.curl(f"http://{self.server.ip}:{HTTP_PORT}/", timeout=2)
            return delta(before, agent1.metrics(), OPENED, reporter="source",
                         connection_security_policy="mutual_tls") >= 1
        procs.wait_until(tunnelled, 20, interval=0.3,
                         what="a call from the meshed client to the meshed server on node2 "
                              "counted as mutual_tls by node1's agent")
        self.proxies["weft"] = benchlib.ProcSet([self.node1.agent.pid, self.node2.agent.pid])

    def _start_pair(self, way):
        """Server side in the plain server pod, client side in the plain client pod; waits
        for an HTTP call through both; the ProcSet is every process of both."""
        ports = PAIR_PORTS[way]
        values = {"certs": self.pair_dir, "peer": self.plain_server.ip,
                  "http_local": ports[HTTP_PORT][0], "http_tls": ports[HTTP_PORT][1],
                  "iperf_local": ports[IPERF_PORT][0], "iperf_tls": ports[IPERF_PORT][1],
                  "http_port": HTTP_PORT, "iperf_port": IPERF_PORT}
        server_t, client_t = {"nginx-pair": (NGINX_SERVER_SIDE, NGINX_CLIENT_SIDE),
                              "haproxy-pair": (HAPROXY_SERVER_SIDE, HAPROXY_CLIENT_SIDE)}[way]
        url = f"http://127.0.0.1:{ports[HTTP_PORT][0]}/"
        self.proxies[way], _ = benchlib.start_pair(
            self.workdir, self.cleanup, way,
            [("server", self.plain_server, server_t.format(run="{run}", **values)),
             ("client", self.plain_client, client_t.format(run="{run}", **values))],
            lambda: self.plain_client.curl(url, timeout=2))

    # ---- loads --------------------------------------------------------------------------

    def _target(self, way, port):
        """(pod running the load generator, host, port) of a way for an app port."""
        if way == "direct":
            return self.plain_client, self.plain_server.ip, port
        if way == "weft":
            return self.client, self.server.ip, port
        return self.plain_client, "127.0.0.1", PAIR_PORTS[way][port][0]

    def _tunnel_counts(self):
        """node1's (client side) tunnel and connection counters, node2's server handshakes."""
        m1, m2 = self.node1.agent.metrics(), self.node2.agent.metrics()
        return {"full": m1.sum(HANDSHAKES, role="client", resumed="false"),
                "resumed": m1.sum(HANDSHAKES, role="client", resumed="true"),
                "server_full": m2.sum(HANDSHAKES, role="server", resumed="false"),
                "sessions": m1.sum(SESSIONS, role="client"),
                "mtls_conns": m1.sum(OPENED, reporter="source",
                                     connection_security_policy="mutual_tls"),
                "plain_conns": m1.sum(OPENED, reporter="source",
                                      connection_security_policy="none")}

    def _measure(self, way, pod, argv, seconds):
        """Runs the load; proxy CPU seconds around it, proxy memory right after, and for weft
        the tunnel counter deltas (scraped outside the CPU window)."""
        proxy = self.proxies[way]
        counts = self._tunnel_counts() if way == "weft" else None
        before = proxy.cpu_ticks()
        out = benchlib.run_load(pod, argv, seconds + 60)
        cpu_s = (proxy.cpu_ticks() - before) / CLK_TCK
        extra = {"rss_kib": proxy.rss_kib(), "pss_kib": proxy.pss_kib()}
        if counts is not None:
            after = self._tunnel_counts()
            extra["tunnel"] = {k: after[k] - counts[k] for k in counts}
        return out, cpu_s, extra

    def run_http(self, way, seconds, close=False):
        """wrk against nginx (keep-alive, or close=True: a new connection per request)."""
        pod, host, port = self._target(way, HTTP_PORT)
        argv = benchlib.wrk_argv(f"http://{host}:{port}/", self.args.connections, seconds,
                                 close=close)
        out, cpu_s, extra = self._measure(way, pod, argv, seconds)
        sample = benchlib.parse_wrk(out)
        sample.update(extra)
        sample["cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        return sample

    def run_bulk(self, way, seconds):
        """iperf3, one stream client -> server."""
        pod, host, port = self._target(way, IPERF_PORT)
        out, cpu_s, extra = self._measure(way, pod, benchlib.iperf_argv(host, port, seconds),
                                          seconds)
        sample = benchlib.parse_iperf(out)
        sample.update(extra)
        sample["cpu_s_per_gib"] = cpu_s / (sample["bytes"] / (1 << 30))
        return sample

    def run_load(self, load, way, seconds):
        """One run of one load one way."""
        if load == "bulk":
            return self.run_bulk(way, seconds)
        return self.run_http(way, seconds, close=(load == "newconn"))

    def run(self):
        """Warm-up, then rounds of every load x way in interleaved order."""
        a = self.args
        for way in self.ways:
            for load in LOADS:
                self.run_load(load, way, 2)
        for rnd in range(a.rounds):
            # Rotate the order each round so no way always runs first after a pause.
            k = rnd % len(self.ways)
            order = self.ways[k:] + self.ways[:k]
            for load in LOADS:
                for way in order:
                    s = self.run_load(load, way, a.duration)
                    self.record(load, way, s)
                    print(f"round {rnd + 1} {load:7s} {way:12s} {_round_line(load, s)}",
                          flush=True)
        if self.weft:
            self.whole_run = self._tunnel_counts()
            self.whole_run["server_sessions"] = self.node2.agent.metrics().sum(SESSIONS,
                                                                                role="server")
            self.agent_problems = benchlib.agent_log_problems((self.node1, self.node2))


def _round_line(load, s):
    if load == "bulk":
        text = f"{s['gbps']:6.2f} Gbit/s proxy {s['cpu_s_per_gib']:.3f} CPU-s/GiB"
    else:
        unit = "conn/s" if load == "newconn" else "req/s"
        text = (f"{s['rps']:10.0f} {unit} p50 {s['p50_us']:.0f}us p99 {s['p99_us']:.0f}us "
                f"proxy {s['cpu_us_per_req']:.1f}us/req {s['errors']}")
    t = s.get("tunnel")
    if t:
        text += (f" [tunnel: {t['full']:.0f} full + {t['resumed']:.0f} resumed handshakes, "
                 f"{t['sessions']:.0f} sessions, {t['mtls_conns']:.0f} mTLS / "
                 f"{t['plain_conns']:.0f} plaintext connections]")
    return text


# ---- report ---------------------------------------------------------------------------------


def _per_handshake(conns, full):
    return math.inf if full == 0 else conns / full


def _fmt_ratio(r):
    return "∞ (no full handshake)" if math.isinf(r) else f"{r:,.1f}"


def report(bench, args):
    """The Markdown result: environment, medians per load, ratios, memory, handshakes,
    targets, every round."""
    s = bench.samples
    ways = bench.ways

    def med(load, way, key):
        return median(s[(load, way)], key) if (load, way) in s else None

    lines = [f"# weft cross-node bench, {bench.finished:%Y-%m-%d %H:%M} UTC\n",
             benchlib.environment_line(),
             "- two simulated nodes (netns each, own pod CIDR via bridge + host-local, joined by "
             "a veth link); client pods on node1, server pods on node2 (nginx 1 worker, "
             "sendfile off, 22-byte body; `iperf3 -s`)",
             f"- ways: {', '.join(ways)}; {args.rounds} interleaved rounds of {args.duration} s "
             "per load and way (2 s warm-up each), median shown",
             "- pinning: load generator on CPU 0; nginx, iperf3 -s, both agents "
             "(`--workers 1`) and every peer proxy on CPU 1",
             f"- loads: `wrk -t1 -c{args.connections} --latency` keep-alive; the same with "
             f"`-H 'Connection: close'` (one TCP connection per request); `iperf3 -t"
             f"{args.duration}` one stream",
             "- peers: nginx stream / HAProxy (mode tcp), 1 worker / 1 thread per side, TLS 1.3 "
             f"only ({PEER_CIPHERSUITE}, as weft's agents), ECDSA P-256 certificates, client "
             "certificate verified by the server side; "
             "proxy CPU = utime+stime of the proxy processes of the way (both agents, or both "
             "ends of the pair)\n"]

    for load in LOADS:
        lines.append(f"### {LOAD_TITLES[load]}\n")
        if load == "bulk":
            lines.append("| way | Gbit/s | proxy CPU-s/GiB | vs direct |")
            lines.append("|---|---:|---:|---:|")
            for way in ways:
                lines.append(f"| {way} | {med(load, way, 'gbps'):.2f} | "
                             f"{_cpu(way, med(load, way, 'cpu_s_per_gib'), '{:.3f}')} | "
                             f"{_x(med(load, way, 'gbps'), med(load, 'direct', 'gbps'))} |")
        else:
            unit, per = ("conn/s", "conn") if load == "newconn" else ("req/s", "req")
            lines.append(f"| way | {unit} | p50 | p99 | proxy CPU µs/{per} | {unit} vs direct "
                         "| p99 vs direct |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for way in ways:
                lines.append(f"| {way} | {med(load, way, 'rps'):,.0f} | "
                             f"{_ms(med(load, way, 'p50_us'))} | "
                             f"{_ms(med(load, way, 'p99_us'))} | "
                             f"{_cpu(way, med(load, way, 'cpu_us_per_req'), '{:.1f}')} | "
                             f"{_x(med(load, way, 'rps'), med(load, 'direct', 'rps'))} | "
                             f"{_x(med(load, way, 'p99_us'), med(load, 'direct', 'p99_us'))} |")
        lines.append("")

    pairs = [p for p in PAIRS if p in ways]
    if bench.weft and pairs:
        lines.append("### weft vs each peer pair (weft ÷ pair; >1 is better for rates, <1 for "
                     "latency and CPU)\n")
        lines.append("| figure | " + " | ".join(f"weft ÷ {p}" for p in pairs) + " |")
        lines.append("|---|" + "---:|" * len(pairs))
        for load, key, title in (("http1", "rps", "HTTP/1.1 req/s"),
                                 ("http1", "p99_us", "HTTP/1.1 p99"),
                                 ("http1", "p50_us", "HTTP/1.1 p50"),
                                 ("http1", "cpu_us_per_req", "HTTP/1.1 proxy CPU per request"),
                                 ("newconn", "rps", "new connections/s"),
                                 ("newconn", "p99_us", "new connection p99"),
                                 ("newconn", "cpu_us_per_req", "proxy CPU per new connection"),
                                 ("bulk", "gbps", "bulk Gbit/s"),
                                 ("bulk", "cpu_s_per_gib", "bulk proxy CPU per GiB")):
            lines.append(f"| {title} | " + " | ".join(
                _x(med(load, "weft", key), med(load, p, key)) for p in pairs) + " |")
        lines.append("")

    lines.append("### proxy memory (largest value right after a measured run)\n")
    lines.append("| way | processes | RSS | PSS |")
    lines.append("|---|---|---:|---:|")
    for way in ways:
        samples = [x for load in LOADS for x in s.get((load, way), [])]
        rss = max(x["rss_kib"] for x in samples) / 1024
        pss = max(x["pss_kib"] for x in samples) / 1024
        lines.append(f"| {way} | {PROXY_PROCESSES[way]} | "
                     + ("— | — |" if way == "direct" else f"{rss:.1f} MiB | {pss:.1f} MiB |"))
    lines.append("")

    checks = []
    if bench.weft:
        measured = {k: sum(x["tunnel"][k] for x in s[("newconn", "weft")])
                    for k in s[("newconn", "weft")][0]["tunnel"]}
        conns = sum(x["requests"] for x in s[("newconn", "weft")])
        window = args.duration * len(s[("newconn", "weft")])
        w = bench.whole_run
        windowed = _per_handshake(conns, measured["full"])
        whole = _per_handshake(w["mtls_conns"], w["full"])
        lines.append("### weft: new connections vs full TLS handshakes (node1 = client side)\n")
        lines.append("| window | new connections | conn/s | full handshakes (node1 client) | "
                     "full handshakes/s | resumed | tunnel sessions opened | "
                     "plaintext connections | connections per full handshake |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        lines.append(f"| measured new-connection runs ({window} s) | {conns:,} | "
                     f"{conns / window:,.0f} | {measured['full']:.0f} | "
                     f"{measured['full'] / window:.2f} | {measured['resumed']:.0f} | "
                     f"{measured['sessions']:.0f} | {measured['plain_conns']:.0f} | "
                     f"{_fmt_ratio(windowed)} |")
        lines.append(f"| whole run, since the agents started | {w['mtls_conns']:,.0f} (mTLS) "
                     f"| | {w['full']:.0f} (node2 server side: {w['server_full']:.0f}) | | "
                     f"{w['resumed']:.0f} | {w['sessions']:.0f} (node2: "
                     f"{w['server_sessions']:.0f}) | {w['plain_conns']:.0f} | "
                     f"{_fmt_ratio(whole)} |")
        problems = bench.agent_problems
        lines.append(f"\nagent logs: {len(problems)} warn/error lines"
                     + (" (below, under every round)" if problems else "") + "\n")
        checks.append(("new connections per full TLS handshake >= 10 (measured new-connection "
                       "runs)", windowed >= 10, _fmt_ratio(windowed)))
        checks.append(("new connections per full TLS handshake >= 10 (whole run)",
                       whole >= 10, _fmt_ratio(whole)))
        checks.append(("weft connections all mutual TLS (none in plaintext)",
                       w["plain_conns"] == 0, f"{w['plain_conns']:.0f} plaintext"))
    for pair in pairs if bench.weft else ():
        wr, pr = med("http1", "weft", "rps"), med("http1", pair, "rps")
        checks.append((f"HTTP/1.1 req/s weft > {pair}", wr > pr, _x(wr, pr)))
        wp, pp = med("http1", "weft", "p99_us"), med("http1", pair, "p99_us")
        checks.append((f"HTTP/1.1 p99 weft <= {pair}", wp <= pp, f"{_ms(wp)} vs {_ms(pp)}"))
        wg, pg = med("bulk", "weft", "gbps"), med("bulk", pair, "gbps")
        checks.append((f"bulk Gbit/s weft > {pair}", wg > pg, _x(wg, pg)))
    lines.append("| target | result | met |")
    lines.append("|---|---:|---|")
    for name, ok, value in checks:
        lines.append(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    if not checks:
        lines.append("| (none evaluated: the targets compare weft with the peer pairs) | | |")

    lines.append("\n<details><summary>every round</summary>\n")
    lines.append("| load | way | round values | p99 (ms) | proxy CPU |")
    lines.append("|---|---|---|---|---|")
    for load in LOADS:
        for way in ways:
            xs = s[(load, way)]
            if load == "bulk":
                vals = ", ".join(f"{x['gbps']:.2f}" for x in xs)
                p99 = ""
                cpu = ", ".join(f"{x['cpu_s_per_gib']:.3f}" for x in xs) + " CPU-s/GiB"
            else:
                vals = ", ".join(f"{x['rps']:,.0f}" for x in xs)
                p99 = ", ".join(f"{x['p99_us'] / 1000:.2f}" for x in xs)
                cpu = ", ".join(f"{x['cpu_us_per_req']:.1f}" for x in xs) + " µs/req"
            lines.append(f"| {load} | {way} | {vals} | {p99} | {cpu} |")
    errors = [f"{load} {way} round {i + 1}: {x['errors']}" for (load, way), xs in
              sorted(s.items()) for i, x in enumerate(xs) if x.get("errors")]
    if errors:
        lines.append("\nwrk errors: " + "; ".join(errors))
    problems = getattr(bench, "agent_problems", [])
    if problems:
        lines.append("\nagent warn/error lines (first 20):\n\n```")
        lines += [p[:300] for p in problems[:20]]
        lines.append("```")
    lines.append("\n</details>\n")
    return "\n".join(lines), all(ok for _, ok, _ in checks)


def history(bench, args):
    """history.csv rows: per load and way, the median rate, its ratio to direct (when direct
    ran), proxy CPU, p99."""
    rows = []
    for load in LOADS:
        rate, cpu = ("gbps", "cpu_s_per_gib") if load == "bulk" else ("rps", "cpu_us_per_req")
        xs = bench.samples.get((load, "direct"))
        direct = median(xs, rate) if xs else None
        for way in bench.ways:
            xs = bench.samples[(load, way)]
            rows.append(benchlib.history_row(
                "cross-node", load, way, median(xs, rate), direct, median(xs, cpu),
                None if load == "bulk" else median(xs, "p99_us")))
    return rows


def _ways(text):
    ways = [w.strip() for w in text.split(",") if w.strip()]
    unknown = [w for w in ways if w not in WAYS]
    if unknown or "direct" not in ways:
        raise argparse.ArgumentTypeError(
            f"ways are a comma list of {', '.join(WAYS)} including direct")
    return tuple(w for w in WAYS if w in ways)  # canonical order


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_common_args(parser)
    parser.add_argument("--ways", type=_ways, default=WAYS,
                        help="comma list of ways to run (default all); without weft no weft "
                             "build is needed (a look at the peers)")
    args = parser.parse_args()

    missing = benchlib.prerequisites(
        paths.Build(args.build_dir),
        {"wrk": "wrk", "iperf3": "iperf3", "nginx": "nginx", "haproxy": "haproxy",
         "taskset": "util-linux"},
        need_binaries="weft" in args.ways)
    if not os.path.exists("/usr/lib/nginx/modules/ngx_stream_module.so"):
        missing.append("nginx stream module missing (apt-get install libnginx-mod-stream)")
    if missing:
        print("bench prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2
    return benchlib.run(args, "cross-node", CrossNodeBench, report, history)


if __name__ == "__main__":
    sys.exit(main())
