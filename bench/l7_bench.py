#!/usr/bin/python3
"""weft L7 benchmark: HTTP/1.1, HTTP/2 and gRPC unary through weft's L7 path, through weft as
plain L4 pass-through (the same traffic, Service port appProtocol "tcp"), through an nginx and
an HAProxy mTLS pair (the sidecar pattern), and with no proxy at all; client and server on the
same simulated node and across two nodes; interleaved, median of N rounds.

Rows ("ways"), per placement:
  direct        non-meshed client pod -> non-meshed server pod's IP: no proxy, no TLS
  weft          meshed client pod -> a Service ClusterIP whose ports carry no appProtocol: the
                agent detects the protocol and balances each request (across nodes: an HTTP/2
                stream in its mTLS tunnel, delivered by the server node's agent)
  weft-tcp      the same pods and server through a second Service over the same endpoint whose
                ports say appProtocol "tcp": the agent carries the bytes as L4 (no HTTP parsing;
                across nodes one CONNECT stream per TCP connection in the tunnel)
  nginx-pair    non-meshed pods, nginx `http` in each: client side on 127.0.0.1 (proxy_pass
                https with keep-alive upstreams for HTTP/1.1, grpc_pass grpcs for HTTP/2 and
                gRPC) -> TLS 1.3 with a client certificate -> server side (ssl_verify_client on)
                -> the app on 127.0.0.1 (proxy_pass http / grpc_pass grpc)
  haproxy-pair  the same with HAProxy `mode http`: HTTP/1.1 over TLS for HTTP/1.1, `proto h2`
                on the local binds and the backends and ALPN h2 between the sides otherwise
Loads: HTTP/1.1 keep-alive (wrk -t1 -c8 --latency), HTTP/2 (h2load -c4 -m10, h2c prior
knowledge), gRPC unary (h2load -c4 -m10 POSTing one gRPC frame with content-type
application/grpc and te: trailers). Backend in every server pod: one nginx (1 worker, sendfile
off) serving a 22-byte body on 8080 (HTTP/1.1) and 8081 (h2c), and a gRPC reply (a framed
message + grpc-status 0 trailer, after reading the whole request) on 8082 (h2c).
Pinning: load generator on CPU 0; backends, agents and every peer proxy on CPU 1. Proxy CPU =
utime+stime (/proc/PID/stat) summed over the way's proxy processes around each measured run.
"""
import argparse
import os
import sys
import time

import benchlib
from benchlib import CLK_TCK, PAIRS, SERVER_CPU, median, ms, ratio
from l7_configs import BACKEND_EXTRA, haproxy_pair_configs, nginx_pair_configs
from l7_layout import (
    NAMESPACE,
    PLACEMENTS,
    LOADS,
    WAYS,
    WEFT_WAYS,
    LOAD_TITLES,
    PLACEMENT_TITLES,
    PROXY_PROCESSES,
    APP_PORT,
    SERVICE_PORT,
    PORT_NAME,
    LOAD_INDEX,
    CLUSTER_IP,
    SERVICE_NAME,
    POD_SUFFIX,
    PAIR_LOCAL,
    PLACEMENT_OFFSET,
    GRPC_PATH,
    GRPC_HEADERS,
    GRPC_REQUEST,
    GRPC_REPLY,
    grpc_frame,
)
from weftsim import manifests, paths, procs
from weftsim.scenarios import deployment_pods, two_nodes

GRPC_CHECK = """import sys, grpc
with grpc.insecure_channel(sys.argv[1]) as ch:
    call = ch.unary_unary(sys.argv[2])
    sys.stdout.write(call(bytes.fromhex(sys.argv[3]), timeout=5).hex())
"""


class L7Bench(benchlib.BenchBase):
    """The nodes, pods, backends, Services and peer pairs; runs the loads, keeps the samples
    per ((placement, load), way)."""

    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.ways = args.ways
        self.loads = args.loads
        self.placements = args.placements
        self.weft = any(w in self.ways for w in WEFT_WAYS)
        self.proxies = {}  # (placement, way) -> ProcSet
        self.plain_server = {}
        self.server = {}
        self.configs = {}  # (placement, way) -> [(side, config path)]
        self.started = time.monotonic()
        self.grpc_body = os.path.join(self.workdir, "grpc-request.bin")
        with open(self.grpc_body, "wb") as f:
            f.write(grpc_frame(GRPC_REQUEST))

    # ---- topology -----------------------------------------------------------------------

    def setup(self):
        """node1 (+ node2 for cross-node), pods, backends, Services, pairs; then one call of
        every load through every way, and for weft until node1 counts it as expected."""
        agent_kwargs = {"agent_args": ["--workers", "1", "--log-level", "info"],
                        "agent_exec_prefix": benchlib.pinned(SERVER_CPU, []),
                        "with_agent": self.weft}
        if "cross-node" in self.placements:
            if self.weft:
                self.node1, self.node2 = two_nodes(self.cluster, **agent_kwargs)
            else:
                self.node1 = self.cluster.add_node("node1", with_agent=False)
                self.node2 = self.cluster.add_node("node2", with_agent=False)
                self.cluster.link(self.node1, self.node2)
        else:
            self.node1 = self.cluster.add_node("node1", **agent_kwargs)
            self.node2 = None
        node_of = {"same-node": self.node1, "cross-node": self.node2}
        # Not meshed: the direct way and both peer pairs (weft is nowhere on their path).
        self.plain_client = deployment_pods(self.node1, "plain-client", 1, NAMESPACE,
                                            meshed=False)[0]
        for p in self.placements:
            pod = deployment_pods(node_of[p], f"plain-server-{POD_SUFFIX[p]}", 1, NAMESPACE,
                                  meshed=False)[0]
            self.plain_server[p] = pod
            self._start_backend(pod)
        self.proxies.update({(p, "direct"): benchlib.NO_PROXY for p in self.placements})
        if self.weft:
            self._setup_weft(node_of)
        if any(w in self.ways for w in PAIRS):
            self.pair_dir = os.path.join(self.workdir, "pairs")
            benchlib.write_pair_certs(self.pair_dir)
            for p in self.placements:
                for way in PAIRS:
                    if way in self.ways:
                        self._start_pair(p, way)
        for p in self.placements:
            for way in self.ways:
                for load in self.loads:
                    procs.wait_until(lambda: self.call(p, way, load), 20, interval=0.3,
                                     what=f"a {load} call through {way} ({p}) answered")
        if self.weft:
            self._check_weft_paths()

    def _start_backend(self, pod):
        d = os.path.join(self.workdir, pod.name)
        os.makedirs(d)
        ports = set(APP_PORT.values())
        benchlib.start_nginx(pod, d, self.cleanup, port=APP_PORT["http1"], extra=BACKEND_EXTRA,
                             ready=lambda: ports <= pod.listening_ports())

    def _setup_weft(self, node_of):
        """The meshed client on node1, a meshed server per placement, and per placement two
        Services over that server (L7: no appProtocol; L4: appProtocol tcp); published with
        every Pod object, waited for on every agent."""
        self.client = deployment_pods(self.node1, "client", 1, NAMESPACE)[0]
        objects = []
        for p in self.placements:
            server = deployment_pods(node_of[p], f"server-{POD_SUFFIX[p]}", 1, NAMESPACE)[0]
            self.server[p] = server
            self._start_backend(server)
            ports = [(PORT_NAME[load], SERVICE_PORT[load], APP_PORT[load]) for load in LOADS]
            for way in WEFT_WAYS:
                name = SERVICE_NAME[(p, way)]
                svc = manifests.service(name, NAMESPACE, CLUSTER_IP[(p, way)], ports)
                if way == "weft-tcp":
                    for port in svc["spec"]["ports"]:
                        port["appProtocol"] = "tcp"
                objects += [svc, manifests.endpoint_slice(
                    name, NAMESPACE, [server], [(n, target) for n, _, target in ports])]
        pods = [self.client, self.plain_client] + list(self.server.values()) + \
            list(self.plain_server.values())
        objects += [manifests.pod_object(pod) for pod in pods]
        self.cluster.publish_and_wait("bench-l7.json", objects)
        agents = benchlib.ProcSet([n.agent.pid for n in self.cluster.nodes])
        for p in self.placements:
            for way in WEFT_WAYS:
                self.proxies[(p, way)] = agents

    def _start_pair(self, placement, way):
        """Server side in the placement's plain server pod, client side in the plain client
        pod (both proxy every load)."""
        server = self.plain_server[placement]
        make = nginx_pair_configs if way == "nginx-pair" else haproxy_pair_configs
        server_conf, client_conf = make(self.pair_dir, server.ip, placement)
        tag = f"{way}-{POD_SUFFIX[placement]}"
        self.proxies[(placement, way)], confs = benchlib.start_pair(
            self.workdir, self.cleanup, tag,
            [("server", server, server_conf), ("client", self.plain_client, client_conf)],
            lambda: self.call(placement, way, "http1"))
        self.configs[(placement, way)] = list(zip(("server side", "client side"), confs))

    # ---- calls and loads ----------------------------------------------------------------

    def target(self, placement, way, load):
        """(pod running the load generator, host, port) of a way for a load."""
        if way == "direct":
            return self.plain_client, self.plain_server[placement].ip, APP_PORT[load]
        if way in WEFT_WAYS:
            return self.client, CLUSTER_IP[(placement, way)], SERVICE_PORT[load]
        return (self.plain_client, "127.0.0.1",
                PAIR_LOCAL[way] + PLACEMENT_OFFSET[placement] + LOAD_INDEX[load])

    def call(self, placement, way, load):
        """One request of the load through the way, checked: the body for HTTP/1.1 and h2
        (curl), the reply message and status OK for gRPC (a python3-grpcio client)."""
        pod, host, port = self.target(placement, way, load)
        if load == "grpc":
            r = pod.run(["/usr/bin/python3", "-c", GRPC_CHECK, f"{host}:{port}", GRPC_PATH,
                         GRPC_REQUEST.hex()], timeout=20)
            return r.stdout.strip() == GRPC_REPLY.hex()
        argv = ["curl", "-sS", "--fail", "--max-time", "3"]
        if load == "h2":
            argv.append("--http2-prior-knowledge")
        return "hello from weft bench" in pod.run(argv + [f"http://{host}:{port}/"],
                                                  timeout=15).stdout

    def _weft_counts(self):
        """node1's source-side counters (it reports every weft call of this bench)."""
        m = self.node1.agent.metrics()
        req, tcp = "weft_requests_total", "weft_tcp_connections_opened_total"
        return {"requests": m.sum(req, reporter="source"),
                "requests_mtls": m.sum(req, reporter="source",
                                       connection_security_policy="mutual_tls"),
                "grpc_ok": m.sum(req, reporter="source", grpc_response_status="0"),
                "tcp": m.sum(tcp, reporter="source"),
                "tcp_mtls": m.sum(tcp, reporter="source",
                                  connection_security_policy="mutual_tls")}

    def _check_weft_paths(self):
        """weft must count each call as a request (L7) and weft-tcp as a TCP connection and no
        request (L4); across nodes in mutual TLS. Until discovery has the pods a call may take
        another path, so this polls."""
        for p in self.placements:
            for way in (w for w in WEFT_WAYS if w in self.ways):
                def as_expected():
                    before = self._weft_counts()
                    self.call(p, way, "http1")
                    d = {k: v - before[k] for k, v in self._weft_counts().items()}
                    key = "requests" if way == "weft" else "tcp"
                    ok = d[key] >= 1 and (way == "weft" or d["requests"] == 0)
                    if p == "cross-node":
                        ok = ok and d[f"{key}_mtls"] >= 1
                    return ok
                procs.wait_until(as_expected, 20, interval=0.3,
                                 what=f"node1's agent counting a {way} call ({p}) as "
                                      f"{'a request' if way == 'weft' else 'a TCP connection'}"
                                      f"{' in mutual TLS' if p == 'cross-node' else ''}")

    def argv(self, placement, way, load, seconds):
        """(pod, load generator argv, h2load log file or None)."""
        pod, host, port = self.target(placement, way, load)
        url = f"http://{host}:{port}"
        if load == "http1":
            return pod, benchlib.wrk_argv(url + "/", self.args.connections, seconds), None
        log = os.path.join(self.workdir, "h2load-requests.log")
        if load == "h2":
            return pod, benchlib.h2load_argv(url + "/", self.args.h2_clients,
                                             self.args.h2_streams, seconds, log), log
        return pod, benchlib.h2load_argv(
            url + GRPC_PATH, self.args.h2_clients, self.args.h2_streams, seconds, log,
            body_file=self.grpc_body, headers=GRPC_HEADERS), log

    def run_once(self, placement, load, way, seconds):
        """One measured run: the sample (rps, p50/p99 µs, proxy CPU µs/request, memory, and
        for the weft ways node1's counter deltas, scraped outside the CPU window)."""
        pod, argv, log = self.argv(placement, way, load, seconds)
        proxy = self.proxies[(placement, way)]
        counts = self._weft_counts() if way in WEFT_WAYS else None
        before = proxy.cpu_ticks()
        out = benchlib.run_load(pod, argv, seconds + 60)
        cpu_s = (proxy.cpu_ticks() - before) / CLK_TCK
        sample = {"rss_kib": proxy.rss_kib(), "pss_kib": proxy.pss_kib()}
        if counts is not None:
            after = self._weft_counts()
            sample["weft"] = {k: after[k] - counts[k] for k in counts}
        if log is None:
            sample.update(benchlib.parse_wrk(out))
        else:
            sample.update(benchlib.parse_h2load(out, log))
            os.unlink(log)
        sample["cpu_us_per_req"] = cpu_s * 1e6 / max(1, sample["requests"])
        return sample

    def run(self):
        """Warm-up (2 s per placement, load and way), then rounds of every placement x load x
        way, the order of the ways rotating each round."""
        a = self.args
        self.setup_s = time.monotonic() - self.started
        for p in self.placements:
            for load in self.loads:
                for way in self.ways:
                    self.run_once(p, load, way, 2)
        for rnd in range(a.rounds):
            k = rnd % len(self.ways)
            order = self.ways[k:] + self.ways[:k]
            for p in self.placements:
                for load in self.loads:
                    for way in order:
                        s = self.run_once(p, load, way, a.duration)
                        self.record((p, load), way, s)
                        print(f"round {rnd + 1} {p:10s} {load:5s} {way:12s} {_round_line(s)}",
                              flush=True)
        self.elapsed_s = time.monotonic() - self.started
        self.agent_problems = benchlib.agent_log_problems(self.cluster.nodes)


def _round_line(s):
    text = (f"{s['rps']:9.0f} req/s p50 {s['p50_us']:.0f}us p99 {s['p99_us']:.0f}us "
            f"proxy {s['cpu_us_per_req']:.1f}us/req {s['errors']}")
    w = s.get("weft")
    if w:
        text += (f" [node1 counted {w['requests']:.0f} requests ({w['requests_mtls']:.0f} mTLS), "
                 f"{w['tcp']:.0f} TCP connections ({w['tcp_mtls']:.0f} mTLS)]")
    return text


# ---- report ---------------------------------------------------------------------------------


def report(bench, args):
    """The Markdown result: settings, medians per placement and load, weft vs each pair, L7 vs
    L4, targets, memory, weft's own count of what it carried, every round, the configs."""
    s = bench.samples
    ways, loads, placements = bench.ways, bench.loads, bench.placements

    def med(p, load, way, key):
        xs = s.get(((p, load), way))
        return median(xs, key) if xs else None

    c, m = args.connections, f"-c{args.h2_clients} -m{args.h2_streams}"
    lines = [f"# weft L7 bench, {bench.finished:%Y-%m-%d %H:%M} UTC\n",
             benchlib.environment_line(),
             f"- placements: {', '.join(PLACEMENT_TITLES[p] for p in placements)}; simulated "
             "nodes are netns with their own pod CIDR (bridge + host-local), joined by a veth "
             "link",
             f"- ways: {', '.join(ways)}; loads: {', '.join(loads)}; {args.rounds} interleaved "
             f"rounds of {args.duration} s per placement, load and way (2 s warm-up each), "
             f"median shown; the run took {bench.elapsed_s / 60:.1f} min (setup "
             f"{bench.setup_s:.0f} s, then warm-up and rounds)",
             "- pinning: load generator on CPU 0; backends, every agent (`--workers 1`) and every "
             "peer proxy on CPU 1",
             "- backend (every server pod): nginx 1 worker, sendfile off, access_log off: 22-byte "
             f"`return 200` on :{APP_PORT['http1']} (HTTP/1.1) and :{APP_PORT['h2']} (h2c), and "
             f"on :{APP_PORT['grpc']} (h2c) a gRPC reply (content-type application/grpc, one "
             f"{len(grpc_frame(GRPC_REPLY))}-byte framed message, trailer grpc-status 0) sent "
             "after the whole request was read",
             f"- weft: Service ports {SERVICE_PORT['http1']}/{SERVICE_PORT['h2']}/"
             f"{SERVICE_PORT['grpc']} -> {APP_PORT['http1']}/{APP_PORT['h2']}/"
             f"{APP_PORT['grpc']}, one endpoint (the meshed server pod); `weft` = no appProtocol "
             "(protocol detected, every request balanced, across nodes an HTTP/2 stream in the "
             "mTLS tunnel); `weft-tcp` = a second Service over the same endpoint with "
             "appProtocol `tcp` (L4 pass-through: no HTTP parsing)",
             f"- peers: nginx `http` (proxy_pass https keep-alive upstream for HTTP/1.1, "
             "grpc_pass grpcs for HTTP/2 and gRPC) / HAProxy 2.6 `mode http` (HTTP/1.1 over TLS "
             "for HTTP/1.1; `proto h2` binds and backends and ALPN h2 between the sides for "
             f"HTTP/2 and gRPC), 1 worker / 1 thread per side, TLS 1.3 only "
             f"({benchlib.PEER_CIPHERSUITE}, as weft's agents), ECDSA P-256 certificates, client "
             "certificate verified by the server side",
             "- proxy CPU = utime+stime of the way's proxy processes (all agents, or both ends of "
             "the pair) across the measured run, per request completed; backends not counted\n"]

    wrk = benchlib.wrk_argv("http://HOST:PORT/", c, args.duration)
    h2 = benchlib.h2load_argv("http://HOST:PORT/", args.h2_clients, args.h2_streams,
                              args.duration, "LOG")
    grpc = benchlib.h2load_argv(f"http://HOST:PORT{GRPC_PATH}", args.h2_clients,
                                args.h2_streams, args.duration, "LOG",
                                body_file="grpc-request.bin", headers=GRPC_HEADERS)
    lines += ["## Commands\n", "```sh", f"bench/run.sh l7 {' '.join(_argv_summary(args))}",
              "# each load generator runs in its way's client pod under `taskset -c 0`:",
              f"# HTTP/1.1: {' '.join(wrk)}",
              f"# HTTP/2:   {' '.join(h2)}",
              f"# gRPC:     {' '.join(_shell_quote(grpc))}",
              f"#   grpc-request.bin = {grpc_frame(GRPC_REQUEST).hex()} (5-byte gRPC frame "
              "header + protobuf field 1 \"hello\"); h2load's p50/p99 from its --log-file",
              "# HOST:PORT: direct = plain server pod IP:8080/8081/8082; weft and weft-tcp = "
              "their ClusterIP:80/81/9090;",
              "#   nginx-pair = 127.0.0.1:10080-10082, haproxy-pair = 127.0.0.1:20080-20082 "
              "(+100 across nodes)", "```\n"]

    for p in placements:
        lines.append(f"## {PLACEMENT_TITLES[p]}\n")
        for load in loads:
            title = LOAD_TITLES[load] + (f", c={c}" if load == "http1" else f", {m}")
            lines.append(f"### {title}\n")
            lines.append("| way | req/s | p50 | p99 | proxy CPU µs/req | req/s vs direct | "
                         "p99 vs direct |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for way in ways:
                lines.append(
                    f"| {way} | {med(p, load, way, 'rps'):,.0f} | "
                    f"{ms(med(p, load, way, 'p50_us'))} | {ms(med(p, load, way, 'p99_us'))} | "
                    f"{benchlib.cpu_cell(way, med(p, load, way, 'cpu_us_per_req'), '{:.1f}')} | "
                    f"{ratio(med(p, load, way, 'rps'), med(p, load, 'direct', 'rps'))} | "
                    f"{ratio(med(p, load, way, 'p99_us'), med(p, load, 'direct', 'p99_us'))} |")
            lines.append("")

    checks = []
    pairs = [w for w in PAIRS if w in ways]
    if "weft" in ways and "direct" in ways and pairs:
        lines.append("## weft vs each peer pair: req/s ÷ direct, at equal or better p99\n")
        lines.append("Met when weft's req/s ÷ direct is above the pair's (the same as weft's req/s "
                     "above the pair's) and weft's p99 is equal or lower. CPU: proxy µs per "
                     "request, weft ÷ pair.\n")
        lines.append("| placement | load | weft ÷ direct | " + " | ".join(
            f"{w} ÷ direct | p99 weft vs {w} | CPU weft ÷ {w} | met" for w in pairs) + " |")
        lines.append("|---|---|---:|" + "---:|---:|---:|---|" * len(pairs))
        for p in placements:
            for load in loads:
                d = med(p, load, "direct", "rps")
                wr, wp = med(p, load, "weft", "rps"), med(p, load, "weft", "p99_us")
                cells = [p, load, ratio(wr, d)]
                for w in pairs:
                    pr, pp = med(p, load, w, "rps"), med(p, load, w, "p99_us")
                    ok = wr > pr and wp <= pp
                    cells += [ratio(pr, d), f"{ms(wp)} vs {ms(pp)}",
                              ratio(med(p, load, "weft", "cpu_us_per_req"),
                                    med(p, load, w, "cpu_us_per_req")),
                              "yes" if ok else "NO"]
                    checks.append((f"{p} {load}: weft req/s ÷ direct > {w}'s, p99 <=",
                                   ok, f"{wr / d:.2f}x vs {pr / d:.2f}x, {ms(wp)} vs {ms(pp)}"))
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

    if "weft" in ways and "weft-tcp" in ways:
        lines.append("## L7 vs L4 pass-through of the same traffic (weft ÷ weft-tcp)\n")
        lines.append("Target: L7 costs no more than 25% of L4's req/s (weft ÷ weft-tcp >= 0.75).\n")
        lines.append("| placement | load | weft (L7) req/s | weft-tcp (L4) req/s | L7 ÷ L4 req/s | "
                     "L7 cost | CPU µs/req L7 | CPU µs/req L4 | L7 ÷ L4 CPU | p99 L7 | p99 L4 | "
                     "met |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for p in placements:
            for load in loads:
                l7, l4 = med(p, load, "weft", "rps"), med(p, load, "weft-tcp", "rps")
                c7 = med(p, load, "weft", "cpu_us_per_req")
                c4 = med(p, load, "weft-tcp", "cpu_us_per_req")
                ok = l7 / l4 >= 0.75
                checks.append((f"{p} {load}: L7 req/s >= 0.75x L4 pass-through", ok,
                               f"{l7 / l4:.2f}x"))
                lines.append(f"| {p} | {load} | {l7:,.0f} | {l4:,.0f} | {l7 / l4:.2f}x | "
                             f"{(1 - l7 / l4) * 100:+.0f}% | {c7:.1f} | {c4:.1f} | "
                             f"{ratio(c7, c4)} | {ms(med(p, load, 'weft', 'p99_us'))} | "
                             f"{ms(med(p, load, 'weft-tcp', 'p99_us'))} | "
                             f"{'yes' if ok else 'NO'} |")
        lines.append("\n(L7 cost = 1 − L7 ÷ L4 req/s; negative means L7 is faster.)\n")

    if bench.weft:
        lines.append("## What weft counted (node1, reporter=source, summed over the measured "
                     "runs)\n")
        lines.append("| placement | load | way | load generator's requests | weft requests | "
                     "of them mutual TLS | gRPC status 0 | weft TCP connections | of them "
                     "mutual TLS |")
        lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for p in placements:
            for load in loads:
                for way in (w for w in WEFT_WAYS if w in ways):
                    xs = s[((p, load), way)]
                    t = {k: sum(x["weft"][k] for x in xs) for k in xs[0]["weft"]}
                    lines.append(f"| {p} | {load} | {way} | {sum(x['requests'] for x in xs):,} "
                                 f"| {t['requests']:,.0f} | {t['requests_mtls']:,.0f} | "
                                 f"{t['grpc_ok']:,.0f} | {t['tcp']:,.0f} | {t['tcp_mtls']:,.0f} |")
        lines.append("\n(weft counts a request when it ends: the requests in flight when a load "
                     "generator stops are counted too, and may fall into the next run's window. "
                     "wrk opens one connection more than -c and sends nothing on it: weft carries "
                     "it as TCP once detection gives up, hence one TCP connection per weft "
                     "HTTP/1.1 run. weft-tcp must count no request of its own.)\n")
        problems = bench.agent_problems
        lines.append(f"agent logs: {len(problems)} warn/error lines"
                     + (" (the first 20 under every round)" if problems else "") + "\n")

    lines.append("## proxy memory (largest value right after a measured run)\n")
    lines.append("| placement | way | processes | RSS | PSS |")
    lines.append("|---|---|---|---:|---:|")
    for p in placements:
        for way in ways:
            if way == "direct":
                continue
            xs = [x for load in loads for x in s.get(((p, load), way), [])]
            lines.append(f"| {p} | {way} | {PROXY_PROCESSES[way]} | "
                         f"{max(x['rss_kib'] for x in xs) / 1024:.1f} MiB | "
                         f"{max(x['pss_kib'] for x in xs) / 1024:.1f} MiB |")
    lines.append("")

    lines.append("## targets\n")
    lines.append("| target | result | met |")
    lines.append("|---|---:|---|")
    for name, ok, value in checks:
        lines.append(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    if not checks:
        lines.append("| (none evaluated: they need direct, weft and a pair, or weft and "
                     "weft-tcp) | | |")

    lines.append("\n<details><summary>every round</summary>\n")
    lines.append("| placement | load | way | req/s | p99 (ms) | proxy CPU µs/req |")
    lines.append("|---|---|---|---|---|---|")
    for p in placements:
        for load in loads:
            for way in ways:
                xs = s[((p, load), way)]
                lines.append(f"| {p} | {load} | {way} | "
                             + ", ".join(f"{x['rps']:,.0f}" for x in xs) + " | "
                             + ", ".join(f"{x['p99_us'] / 1000:.2f}" for x in xs) + " | "
                             + ", ".join(f"{x['cpu_us_per_req']:.1f}" for x in xs) + " |")
    errors = [f"{p} {load} {way} round {i + 1}: {x['errors'].strip()}"
              for ((p, load), way), xs in s.items() for i, x in enumerate(xs)
              if x.get("errors", "").strip()]
    lines.append("\nload generator errors: " + ("; ".join(errors) if errors else "none"))
    problems = getattr(bench, "agent_problems", [])
    if problems:
        lines.append("\nagent warn/error lines (first 20):\n\n```")
        lines += [line[:300] for line in problems[:20]]
        lines.append("```")
    lines.append("\n</details>\n")

    if bench.configs:
        lines.append("<details><summary>peer configurations (as run; certificates in the "
                     "bench's temporary directory)</summary>\n")
        for (p, way), confs in sorted(bench.configs.items()):
            for side, path in confs:
                lines.append(f"{way}, {p}, {side}:\n\n```")
                with open(path) as f:
                    lines.append(f.read().rstrip())
                lines.append("```\n")
        lines.append("</details>\n")
    return "\n".join(lines), all(ok for _, ok, _ in checks)


def history(bench, args):
    """history.csv rows: per placement, load and way, the median req/s, its ratio to direct
    (when direct ran) and, on weft's rows, to weft-tcp (L7 ÷ L4, when both ran), proxy CPU, p99."""
    s = bench.samples

    def med(p, load, way, key):
        xs = s.get(((p, load), way))
        return median(xs, key) if xs else None

    rows = []
    for p in bench.placements:
        for load in bench.loads:
            direct, l4 = med(p, load, "direct", "rps"), med(p, load, "weft-tcp", "rps")
            for way in bench.ways:
                rps = med(p, load, way, "rps")
                rows.append(benchlib.history_row(
                    p, load, way, rps, direct, med(p, load, way, "cpu_us_per_req"),
                    med(p, load, way, "p99_us"),
                    rps / l4 if way == "weft" and l4 else None))
    return rows


def _shell_quote(argv):
    return [a if a and all(ch.isalnum() or ch in "-_./:=@" for ch in a) else f"'{a}'"
            for a in argv]


def _argv_summary(args):
    return [f"--duration {args.duration}", f"--rounds {args.rounds}",
            f"--connections {args.connections}", f"--h2-clients {args.h2_clients}",
            f"--h2-streams {args.h2_streams}", f"--loads {','.join(args.loads)}",
            f"--placements {','.join(args.placements)}", f"--ways {','.join(args.ways)}"]


def _choice_list(allowed, what, required=()):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        missing = [r for r in required if r not in items]
        if bad or missing or not items:
            raise argparse.ArgumentTypeError(
                f"{what} are a comma list of {', '.join(allowed)}"
                + (f" including {', '.join(required)}" if required else ""))
        return tuple(x for x in allowed if x in items)  # canonical order
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    benchlib.add_common_args(parser)
    parser.set_defaults(connections=8)
    parser.add_argument("--h2-clients", type=int, default=4, help="h2load -c (connections)")
    parser.add_argument("--h2-streams", type=int, default=10,
                        help="h2load -m (concurrent streams per connection)")
    parser.add_argument("--loads", type=_choice_list(LOADS, "loads"), default=LOADS,
                        help=f"comma list of {', '.join(LOADS)} (default all)")
    parser.add_argument("--placements", type=_choice_list(PLACEMENTS, "placements"),
                        default=PLACEMENTS, help=f"comma list of {', '.join(PLACEMENTS)}")
    parser.add_argument("--ways", type=_choice_list(WAYS, "ways", required=("direct",)),
                        default=WAYS, help=f"comma list of {', '.join(WAYS)}, with direct "
                                           "(without weft and weft-tcp no weft build is needed)")
    args = parser.parse_args()

    tools = {"wrk": "wrk", "h2load": "nghttp2-client", "curl": "curl", "taskset": "util-linux",
             "nginx": "nginx"}
    if "haproxy-pair" in args.ways:
        tools["haproxy"] = "haproxy"
    missing = benchlib.prerequisites(paths.Build(args.build_dir), tools,
                                     need_binaries=any(w in args.ways for w in WEFT_WAYS))
    if "grpc" in args.loads and procs.run(["/usr/bin/python3", "-c", "import grpc"],
                                          check=False).returncode != 0:
        missing.append("python3 grpc module missing (apt-get install python3-grpcio): it "
                       "checks each way's gRPC reply before the loads")
    if missing:
        print("bench prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2
    return benchlib.run(args, "l7", L7Bench, report, history)


if __name__ == "__main__":
    sys.exit(main())
