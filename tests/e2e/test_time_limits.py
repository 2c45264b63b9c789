"""Time limits everywhere a peer can stall, each counted when it fires (issue 23).

Agents run with short limits (request head 2 s, HTTP idle 3 s, TCP idle 3 s, TLS handshake
2 s, tunnel PING after 1 s of silence, dead 1 s later); the workers check them on a 1 s tick,
so each bound below allows ~2-3 s of slack on top of its limit. Real clients make the stalls:
weftsim/servers/slowloris.py (slowloris heads, an h2c client that never sends a request, idle
keep-alive / TCP connections, a silent connect to :15008, new-connection HTTP requests at a
fixed rate), http_app.py and slowloris.py's echo server as backends.

  1. slowloris on a Service port without appProtocol (protocol detection first) and from
     outside the mesh to a meshed pod's HTTP port: every slow connection answered 408 or
     closed within header + detection + 3 s,
     a well-behaved client meanwhile served every request,
     weft_timeouts_total{timeout="request_header"} counting them;
  2. an h2c client that sends the preface and no request (appProtocol kubernetes.io/h2c, a
     detected preface, from outside the mesh): GOAWAY then FIN within the limit;
  3. an idle HTTP/1.1 keep-alive connection closed after the HTTP idle limit (not a second
     before limit - 1 s), an idle opaque TCP connection (appProtocol tcp) closed with a FIN
     both ways after the TCP idle limit, on one node and across nodes, while a port named in
     weft.io/no-idle-timeout-ports stays open and usable past twice the limit;
  4. a raw TCP connect to a pod's :15008 that sends nothing closed after the handshake limit,
     and a tunnel to a "pod" whose :15008 accepts but never answers TLS given up as fast;
  5. a 6 s cut of the node link under cross-node requests: the source agent finds its tunnel
     sessions dead by PING (`tunnel.unresponsive`, timeout="tunnel_ping"), no request started
     during the cut waits longer than ping interval + ping timeout + 2 s (a peer just found
     dead is dialled with a PING timeout's limit), and after the link is back new connections
     are served within 2.5 s; a request with no other endpoint dials a peer whose session just
     failed, and is served once the link is back, also when the link comes back while that
     dial waits for the kernel's next SYN.
"""
import datetime
import json
import os
import re
import statistics
import threading
import time

import pytest

from weftsim import manifests, paths, procs
from weftsim.hardening import LinkCut, SilentCut, start_with_ready_line
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods, two_nodes

SLOWLORIS = os.path.join(paths.SERVERS_DIR, "slowloris.py")
NS = "e2e"

HEADER_MS = 2000
DETECTION_MS = 1000
HTTP_IDLE_S = 3
TCP_IDLE_S = 3
HANDSHAKE_MS = 2000
PING_INTERVAL_MS = 1000
PING_TIMEOUT_MS = 1000
SLACK_S = 3          # the 1 s tick, plus scheduling noise on a busy 2-core machine

LIMITS = {"request-header-timeout-ms": HEADER_MS,
          "protocol-detection-timeout-ms": DETECTION_MS,
          "http-idle-timeout-seconds": HTTP_IDLE_S,
          "tcp-idle-timeout-seconds": TCP_IDLE_S,
          "tls-handshake-timeout-ms": HANDSHAKE_MS,
          "tunnel-ping-interval-ms": PING_INTERVAL_MS,
          "tunnel-ping-timeout-ms": PING_TIMEOUT_MS}


def agent_args(**override):
    """The agents' flags: LIMITS, with override (flag name with underscores: value)."""
    limits = {**LIMITS, **{k.replace("_", "-"): v for k, v in override.items()}}
    return [a for name, value in limits.items() for a in (f"--{name}", str(value))]


AGENT_ARGS = agent_args()

TIMEOUTS = "weft_timeouts_total"
KINDS = ("connect", "request_header", "http_idle", "tcp_idle", "tls_handshake", "tunnel_idle",
         "tunnel_ping")
ECHO_PORT = 9000
SLOW_CONNECTIONS = 20


# -- helpers -------------------------------------------------------------------------------------

def timeouts(agent):
    """{kind: count} of weft_timeouts_total; every kind must be exported from the start."""
    m = agent.metrics()
    out = {}
    for kind in KINDS:
        series = m.select(TIMEOUTS, timeout=kind)
        assert series, f"{TIMEOUTS}{{timeout=\"{kind}\"}} not exported:\n" + "\n".join(
            line for line in m.text.splitlines() if TIMEOUTS in line)
        out[kind] = sum(v for _, _, v in series)
    return out


def grew(before, after):
    return {k: after[k] - before[k] for k in KINDS if after[k] != before[k]}


def slowloris(cluster, where, mode, host, port, *extra, tag=None):
    """slowloris.py MODE HOST PORT ... in a pod (or a node: anything with .netns), in the
    background; returns the procs.Service once it printed its "ready" line (.ready_line)."""
    argv = [paths.PYTHON, SLOWLORIS, mode, str(host), str(port)] + [str(e) for e in extra]
    return start_with_ready_line(where, cluster, argv, tag or f"{mode}-{port}",
                                 f"slowloris.py {mode} {host}:{port}", 30)


def result(svc, timeout):
    line = svc.readline(timeout=timeout)
    try:
        return json.loads(line)
    except ValueError:
        raise AssertionError(f"{svc.name} printed {line!r}\n{svc.log()}") from None


def http_app(cluster, pod):
    pod.servers[HTTP_APP_PORT] = pod.start_process(
        [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name", pod.name],
        "web", "http app", cluster.workdir, cluster.cleanup)


def echo_server(cluster, pod):
    pod.servers[ECHO_PORT] = pod.start_process(
        [paths.PYTHON, SLOWLORIS, "echo-server", str(ECHO_PORT)], "echo", "echo server",
        cluster.workdir, cluster.cleanup)


def service(name, ip, ports, endpoints, app_protocols=None, annotations=None):
    """Service + EndpointSlice; ports = [(name, port, targetPort)], app_protocols = {port
    name: appProtocol}."""
    svc = manifests.service(name, NS, ip, ports)
    for p in svc["spec"]["ports"]:
        if app_protocols and p["name"] in app_protocols:
            p["appProtocol"] = app_protocols[p["name"]]
    if annotations:
        svc["metadata"]["annotations"] = dict(annotations)
    return [svc, manifests.endpoint_slice(name, NS, endpoints,
                                          [(pname, target) for pname, _, target in ports])]


def probe_once(pod, host, port, timeout=3):
    """One new-connection GET from pod (slowloris.py probe); its JSON summary."""
    r = pod.run([paths.PYTHON, SLOWLORIS, "probe", host, str(port), "--seconds", "0.01",
                 "--timeout", str(timeout)], check=False, timeout=timeout + 30)
    lines = r.stdout.splitlines()
    return json.loads(lines[-1]) if len(lines) >= 2 else {"ok": 0, "stdout": r.stdout,
                                                          "stderr": r.stderr}


def wait_served(pod, host, port, what):
    procs.wait_until(lambda: probe_once(pod, host, port)["ok"] == 1, 30, interval=0.3,
                     what=what)


def echoed_once(pod, host, port):
    """One connection that sends "ping\\n" and reads it back (slowloris.py idle --mode tcp);
    its JSON summary."""
    r = pod.run([paths.PYTHON, SLOWLORIS, "idle", host, str(port), "--mode", "tcp",
                 "--seconds", "0"], check=False, timeout=40)
    lines = r.stdout.splitlines()
    return json.loads(lines[-1]) if len(lines) >= 2 else {"exchanged": False,
                                                          "stdout": r.stdout,
                                                          "stderr": r.stderr}


def wait_echoed(pod, host, port, what):
    procs.wait_until(lambda: echoed_once(pod, host, port)["exchanged"], 30, interval=0.3,
                     what=what)


def spread(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "none"
    return f"min {values[0]:.2f} s, median {statistics.median(values):.2f} s, " \
           f"max {values[-1]:.2f} s"


# -- 1. slowloris ----------------------------------------------------------------------------------

# A meshed pod's connection to a pod IP (not a Service) is carried as TCP, never parsed as HTTP
# (ARCHITECTURE.md, "Budgets"): the head limit cannot apply there; its cost to the node is
# bounded by the source's share of connections (test_source_shares.py) and by the read buffers
# it does not hold while it trickles.
SLOW_PATHS = {"service": "meshed pod -> Service port (detected)",
              "inbound": "unmeshed pod -> meshed pod's HTTP port"}


def test_slow_request_heads_are_cut_off(cluster):
    node = cluster.add_node("node1", agent_args=AGENT_ARGS)
    web = deployment_pods(node, "web", 1, NS)[0]
    slow = deployment_pods(node, "slow", 1, NS)[0]
    good = deployment_pods(node, "good", 1, NS)[0]
    plain = deployment_pods(node, "plain", 1, NS, meshed=False)[0]
    http_app(cluster, web)
    cluster.publish_and_wait("web.json", service("web", "10.96.0.40", [("http", 80,
                                                                        HTTP_APP_PORT)], [web])
                             + [manifests.pod_object(p) for p in (web, slow, good, plain)])
    wait_served(good, "10.96.0.40", 80, "the web Service answering good")
    wait_served(plain, web.ip, HTTP_APP_PORT, "web answering plain (not meshed)")
    before = timeouts(node.agent)
    app_log_offset = os.path.getsize(web.servers[HTTP_APP_PORT].log_path)

    # Long enough to see every slow connection closed by the bound, and then some.
    run_s = HEADER_MS / 1000 + DETECTION_MS / 1000 + SLACK_S + 2
    probe = slowloris(cluster, good, "probe", "10.96.0.40", 80, "--interval-ms", 100,
                      "--timeout", 5, "--seconds", run_s, tag="good")
    targets = {"service": (slow, "10.96.0.40", 80), "inbound": (plain, web.ip, HTTP_APP_PORT)}
    clients = {SLOW_PATHS[p]: slowloris(cluster, targets[p][0], "slow", *targets[p][1:],
                                        "--connections", SLOW_CONNECTIONS, "--interval", 1,
                                        "--seconds", run_s, tag=f"slow-{p}")
               for p in SLOW_PATHS}
    results = {name: result(svc, run_s + 30) for name, svc in clients.items()}
    good_result = result(probe, run_s + 30)
    after = timeouts(node.agent)

    bound = HEADER_MS / 1000 + DETECTION_MS / 1000 + SLACK_S
    problems = []
    for name, r in results.items():
        closes = [c["closed_after"] for c in r["conns"]]
        hows = {}
        for c in r["conns"]:
            how = c["response"].split(" ", 2)[1] if c["response"] else c["how"] or "open"
            hows[how] = hows.get(how, 0) + 1
        print(f"slowloris {name}: {r['connected']}/{r['connections']} connected, closed "
              f"{spread(closes)} after opening; ended by {hows}; still open at the end "
              f"{r['open_at_end']}")
        if r["connected"] != SLOW_CONNECTIONS:
            problems.append(f"{name}: only {r['connected']} connected {r['connect_failed']}")
        late = [c for c in r["conns"] if c["closed_after"] is None or c["closed_after"] > bound]
        # The limit runs from the end of detection: nothing may close much before both.
        early = [c for c in r["conns"] if c["closed_after"] is not None and
                 c["closed_after"] < (HEADER_MS + DETECTION_MS) / 1000 - 1]
        if late:
            problems.append(f"{name}: {len(late)} of {r['connected']} slow connections not "
                            f"closed within {bound} s, e.g. {late[0]}")
        if early:
            problems.append(f"{name}: {len(early)} closed before the header limit, e.g. "
                            f"{early[0]}")
        odd = [c for c in r["conns"] if c["response"] and " 408 " not in c["response"] + " "]
        if odd:
            problems.append(f"{name}: answered something else than 408: {odd[0]}")
    with open(web.servers[HTTP_APP_PORT].log_path) as f:
        f.seek(app_log_offset)
        reached = sum(1 for line in f if line.startswith("conn ") and
                      line.split()[3].rsplit(":", 1)[0] in (slow.ip, plain.ip))
    print(f"slow connections that reached the app itself: {reached}")
    latencies = [s[1] for s in good_result["samples"]]
    print(f"well-behaved client meanwhile: {good_result['ok']}/{good_result['sent']} ok "
          f"{good_result['outcomes']}, latency {spread(latencies)}")
    print(f"weft_timeouts_total grew by {grew(before, after)}")
    assert not problems, "\n".join(problems)
    assert good_result["ok"] == good_result["sent"] and good_result["failed"] == 0, \
        f"the well-behaved client failed requests: {good_result['outcomes']}"
    assert max(latencies) < 2.0, f"the well-behaved client waited {max(latencies)} s"
    slow_total = sum(r["connected"] for r in results.values())
    assert after["request_header"] - before["request_header"] >= slow_total, \
        f"request_header counted {after['request_header'] - before['request_header']} of " \
        f"{slow_total} slow connections"


# -- 2. HTTP/2 without a request -------------------------------------------------------------------

def test_an_h2_client_that_sends_no_request_is_sent_goaway(cluster):
    node = cluster.add_node("node1", agent_args=AGENT_ARGS)
    h2 = deployment_pods(node, "h2", 1, NS)[0]
    client = deployment_pods(node, "client", 1, NS)[0]
    plain = deployment_pods(node, "plain", 1, NS, meshed=False)[0]
    h2.start_process([paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", "50051", "--name",
                      h2.name, "--http-status", "200"], "h2", "h2c server", cluster.workdir,
                     cluster.cleanup)
    cluster.publish_and_wait(
        "h2.json", service("h2", "10.96.0.45", [("declared", 80, 50051),
                                                 ("detected", 81, 50051)], [h2],
                           app_protocols={"declared": "kubernetes.io/h2c"})
        + [manifests.pod_object(p) for p in (h2, client, plain)])
    before = timeouts(node.agent)
    targets = {"appProtocol kubernetes.io/h2c": (client, "10.96.0.45", 80),
               "detected h2 preface": (client, "10.96.0.45", 81),
               "unmeshed -> meshed pod": (plain, h2.ip, 50051)}
    clients = {name: slowloris(cluster, pod, "h2-preface", host, port, "--seconds", 15,
                               tag=f"h2-{i}")
               for i, (name, (pod, host, port)) in enumerate(targets.items())}
    results = {name: result(svc, 45) for name, svc in clients.items()}
    after = timeouts(node.agent)
    for name, r in results.items():
        print(f"h2 preface only, {name}: GOAWAY {r['goaway_error']} after {r['goaway_after']} s"
              f", closed ({r['how']}) after {r['closed_after']} s; frames {r['frames']}")
    print(f"weft_timeouts_total grew by {grew(before, after)}")
    for name, r in results.items():
        assert r["goaway_after"] is not None, f"{name}: no GOAWAY: {r}"
        assert r["how"] == "eof", f"{name}: not closed by a FIN after the GOAWAY: {r}"
        assert HEADER_MS / 1000 - 1 <= r["goaway_after"] <= r["closed_after"] <= \
            HEADER_MS / 1000 + SLACK_S, f"{name}: {r}"
    assert after["request_header"] - before["request_header"] >= len(results), \
        grew(before, after)


# -- 3. idle connections ---------------------------------------------------------------------------

def test_idle_connections_are_closed_and_exempt_ports_stay_open(cluster):
    n1, n2 = two_nodes(cluster, agent_args=AGENT_ARGS)
    client = deployment_pods(n1, "client", 1, NS)[0]
    backends = [deployment_pods(n, f"backend{i + 1}", 1, NS)[0] for i, n in enumerate((n1, n2))]
    objects = [manifests.pod_object(p) for p in [client] + backends]
    for i, (b, where) in enumerate(zip(backends, ("local", "remote"))):
        http_app(cluster, b)
        echo_server(cluster, b)
        objects += service(f"web-{where}", f"10.96.0.{50 + i}", [("http", 80, HTTP_APP_PORT)],
                           [b])
        objects += service(f"tcp-{where}", f"10.96.0.{52 + i}",
                           [("tcp", ECHO_PORT, ECHO_PORT), ("kept", ECHO_PORT + 1, ECHO_PORT)],
                           [b], app_protocols={"tcp": "tcp", "kept": "tcp"},
                           annotations={"weft.io/no-idle-timeout-ports": str(ECHO_PORT + 1)})
    cluster.publish_and_wait("idle.json", objects)
    for i, where in enumerate(("local", "remote")):
        wait_served(client, f"10.96.0.{50 + i}", 80, f"web-{where} answering")
        for port in (ECHO_PORT, ECHO_PORT + 1):
            wait_echoed(client, f"10.96.0.{52 + i}", port, f"tcp-{where}:{port} echoing")
    before = [timeouts(n.agent) for n in (n1, n2)]
    echo_logs_before = [os.path.getsize(b.servers[ECHO_PORT].log_path) for b in backends]

    kept_for = 2 * TCP_IDLE_S + 1
    conns = {}
    for i, where in enumerate(("local", "remote")):
        conns[f"http {where}"] = slowloris(cluster, client, "idle", f"10.96.0.{50 + i}", 80,
                                           "--mode", "http", "--seconds", 12,
                                           tag=f"idle-http-{where}")
        conns[f"tcp {where}"] = slowloris(cluster, client, "idle", f"10.96.0.{52 + i}",
                                          ECHO_PORT, "--mode", "tcp", "--seconds", 12,
                                          tag=f"idle-tcp-{where}")
        conns[f"exempt tcp {where}"] = slowloris(cluster, client, "idle", f"10.96.0.{52 + i}",
                                                 ECHO_PORT + 1, "--mode", "tcp", "--seconds",
                                                 kept_for + 5, "--use-at", kept_for,
                                                 tag=f"idle-kept-{where}")
    results = {name: result(svc, 60) for name, svc in conns.items()}
    after = [timeouts(n.agent) for n in (n1, n2)]
    for name, r in results.items():
        print(f"idle {name}: closed ({r['how']}) {r['closed_after']} s after its last "
              f"exchange; reused after {kept_for} s: {r['reused']}")
    print(f"weft_timeouts_total grew by node1 {grew(before[0], after[0])}, node2 "
          f"{grew(before[1], after[1])}")

    for name, r in results.items():
        assert r["exchanged"], f"{name}: the first exchange failed: {r}"
        if name.startswith("exempt"):
            assert r["closed_after"] is None and r["reused"], \
                f"{name}: a port in weft.io/no-idle-timeout-ports must stay open and usable " \
                f"past {kept_for} s: {r}"
            continue
        limit = HTTP_IDLE_S if name.startswith("http") else TCP_IDLE_S
        assert r["closed_after"] is not None, f"{name}: still open after 12 s idle: {r}"
        assert limit - 1 <= r["closed_after"] <= limit + SLACK_S, f"{name}: {r}"
        if name.startswith("tcp"):
            assert r["how"] == "eof", f"{name}: an idle TCP connection must end with a FIN: {r}"
        else:
            assert r["how"] in ("eof", "reset"), r
    # FIN both ways: each backend saw its idle connection end with an EOF, none with a reset.
    for b, offset in zip(backends, echo_logs_before):
        with open(b.servers[ECHO_PORT].log_path) as f:
            f.seek(offset)
            ends = [line.split()[3] for line in f if line.startswith("end ")]
        print(f"echo server {b.name}: connections ended by {ends}")
        assert ends.count("eof") >= 2 and "reset" not in ends, \
            f"{b.name} must see FINs (the idle one, the exempt one closed by the client): {ends}"
    assert after[0]["http_idle"] - before[0]["http_idle"] >= 2, grew(before[0], after[0])
    assert after[0]["tcp_idle"] - before[0]["tcp_idle"] >= 2, grew(before[0], after[0])


# -- 4. TLS handshakes -----------------------------------------------------------------------------

def test_tunnel_handshakes_that_never_finish_are_given_up(cluster):
    n1, n2 = two_nodes(cluster, agent_args=AGENT_ARGS)
    target = deployment_pods(n1, "target", 1, NS)[0]
    client = deployment_pods(n1, "client", 1, NS)[0]
    # A pod on node2 that node1's agent believes meshed: its :15008 accepts and never answers.
    mute = deployment_pods(n2, "mute", 1, NS, meshed=False)[0]
    mute.start_server("hold", 15008, cluster.workdir, cluster.cleanup)
    echo_server(cluster, mute)
    cluster.publish_and_wait(
        "tls.json", [manifests.pod_object(target), manifests.pod_object(client),
                     manifests.pod_object(mute, redirection=True)]
        + service("mute", "10.96.0.60", [("tcp", ECHO_PORT, ECHO_PORT)], [mute],
                  app_protocols={"tcp": "tcp"}))
    procs.wait_until(lambda: 15008 in target.listening_ports(), 10,
                     what="node1's agent listening on the target pod's :15008")
    before = [timeouts(n.agent) for n in (n1, n2)]

    # Server side: from node2's netns, a raw TCP connect to the pod's tunnel port, silent.
    silent = slowloris(cluster, n2, "idle", target.ip, 15008, "--mode", "none",
                       "--seconds", 15, tag="silent-15008")
    # Client side: a connection through the mesh to the mute pod waits for a handshake.
    waited = probe_once(client, "10.96.0.60", ECHO_PORT, timeout=15)
    r = result(silent, 45)
    after = [timeouts(n.agent) for n in (n1, n2)]
    print(f"silent connect to {target.ip}:15008 from node2: closed ({r['how']}) after "
          f"{r['closed_after']} s")
    print(f"request through a tunnel to a peer that never answers TLS: {waited['samples']}")
    print(f"weft_timeouts_total grew by node1 {grew(before[0], after[0])}, node2 "
          f"{grew(before[1], after[1])}")
    assert r["closed_after"] is not None, f"a silent :15008 connection left open 15 s: {r}"
    assert HANDSHAKE_MS / 1000 - 1 <= r["closed_after"] <= HANDSHAKE_MS / 1000 + SLACK_S, r
    _, seconds, outcome = waited["samples"][0]
    assert outcome != "ok" and outcome != "timeout", waited
    assert HANDSHAKE_MS / 1000 - 1 <= seconds <= HANDSHAKE_MS / 1000 + SLACK_S, waited
    assert after[0]["tls_handshake"] - before[0]["tls_handshake"] >= 2, \
        grew(before[0], after[0])


# -- 5. tunnel liveness under a partition ----------------------------------------------------------

# A request the partition catches in flight must be bounded by the PING settings alone: when the
# dead session's streams are reset, the request fails (or goes to a live session) at once, not
# after a new session to the partitioned peer gave up its handshake. With the handshake limit
# at 3 s, waiting for it on top of PING detection (>= 2 s) always shows (> 4 s), while a new
# session to the cut-off peer still fails within the bound (3 s + the tick).
PARTITION_HANDSHAKE_MS = 3000


class Partition:
    """A cut of node2's link under a probe from `client` on node1: a new-connection GET of
    host:port every 200 ms from `lead` s before the cut to `tail` s after it; what node1's agent
    said and counted meanwhile."""

    def __init__(self, cluster, n1, n2, client, host, port, lead=3, cut_s=6, tail=6):
        before = timeouts(n1.agent)
        before_metrics = n1.agent.metrics()
        log_offset = n1.agent.log_size()
        client_timeout = 5
        probe = slowloris(cluster, client, "probe", host, port, "--interval-ms", 200,
                          "--timeout", client_timeout, "--seconds", lead + cut_s + tail,
                          tag="probe")
        self.cut = LinkCut(n2, n2.links[0], cluster.cleanup)
        time.sleep(lead)
        self.cut.down()
        time.sleep(cut_s)
        self.cut.up()
        samples = result(probe, lead + cut_s + tail + client_timeout + 30)["samples"]
        self.timeouts = grew(before, timeouts(n1.agent))
        after_metrics = n1.agent.metrics()
        wall_minus_mono = time.time() - time.monotonic()
        log = n1.agent.log_since(log_offset)
        self.unresponsive = [line for line in log.splitlines() if "tunnel.unresponsive" in line]
        # The agent's warnings on the cut's timeline (its log stamps UTC wall-clock times).
        self.events = []
        for line in log.splitlines():
            m = re.match(r"^(\S+)Z \S+ (?:warn|info) (\S+)", line)
            if m and m.group(2).startswith(("tunnel.", "http.endpoint")):
                when = datetime.datetime.fromisoformat(m.group(1)).replace(
                    tzinfo=datetime.timezone.utc).timestamp() - wall_minus_mono
                self.events.append(f"{when - self.cut.down_at:+.2f} s {m.group(2)}")
        self.retries = {}
        for _, ls, v in after_metrics.select("weft_request_retries_total"):
            more = v - before_metrics.sum("weft_request_retries_total", **ls)
            if more:
                self.retries[ls.get("reason")] = self.retries.get(ls.get("reason"), 0) + more
        down, up = self.cut.down_at, self.cut.up_at
        self.samples = samples
        self.during = [s for s in samples if down <= s[0] < up]
        self.after_up = [s for s in samples if s[0] >= up]
        first_ok = next((s for s in self.after_up if s[2] == "ok"), None)
        self.recovery = None if first_ok is None else first_ok[0] + first_ok[1] - up

    def report(self):
        down, up = self.cut.down_at, self.cut.up_at
        print(f"partition of {up - down:.1f} s: {len(self.during)} requests started during it, "
              f"outcomes {_outcomes(self.during)}, durations "
              f"{spread([s[1] for s in self.during])}")
        print(f"after link-up: first new-connection request served {self.recovery} s after it; "
              f"outcomes after it {_outcomes(self.after_up)}")
        print(f"node1 logged {len(self.unresponsive)} tunnel.unresponsive: "
              f"{self.unresponsive[:2]}")
        print(f"weft_timeouts_total grew on node1 by {self.timeouts}")
        print(f"node1 retries by reason: {self.retries}")
        print("node1's agent on the cut's timeline (0 = link down, "
              f"{up - down:+.2f} s = up): " + "; ".join(self.events))
        shown = [f"{s[0] - down:+.1f}:{s[1]:.2f}:{s[2]}" for s in self.samples
                 if down - 1 <= s[0] <= up + 3]
        print("requests around the cut (start after the cut : seconds : outcome):")
        for i in range(0, len(shown), 6):
            print("  " + "  ".join(shown[i:i + 6]))


def test_a_partition_is_detected_by_ping_and_recovered_from(cluster):
    n1, n2 = two_nodes(cluster, agent_args=agent_args(
        tls_handshake_timeout_ms=PARTITION_HANDSHAKE_MS))
    client = deployment_pods(n1, "client", 1, NS)[0]
    web = deployment_pods(n2, "web", 1, NS)[0]
    http_app(cluster, web)
    cluster.publish_and_wait("web.json", service("web", "10.96.0.70", [("http", 80,
                                                                        HTTP_APP_PORT)], [web])
                             + [manifests.pod_object(p) for p in (client, web)])
    wait_served(client, "10.96.0.70", 80, "web (node2) answering client (node1)")
    p = Partition(cluster, n1, n2, client, "10.96.0.70", 80)
    p.report()

    assert p.unresponsive, "node1's agent never logged tunnel.unresponsive"
    assert p.timeouts.get("tunnel_ping", 0) >= 1, p.timeouts
    bound = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000 + 2
    slow = [[round(s[0] - p.cut.down_at, 2), s[1], s[2]] for s in p.during
            if s[1] > bound or s[2] == "timeout"]
    assert not slow, \
        f"requests started during the cut waited more than {bound} s ([start after the cut, " \
        f"seconds, outcome]): {slow}\nnode1's agent meanwhile: {'; '.join(p.events)}; " \
        f"retries {p.retries}"
    assert p.recovery is not None and p.recovery <= 2.5, \
        f"new connections not served within 2.5 s of link-up ({p.recovery})"


def test_a_peer_that_just_failed_is_dialled_when_it_is_the_last_endpoint(cluster):
    """The chaos soak's case: the Service's endpoint on the client's node is down (its
    connections refused) while the node link is cut, so the endpoint across it is the only one
    left. Its tunnel session fails a PING (tunnel.unresponsive); the link comes back at once;
    the next request must dial the peer again and be served, not be refused because the peer
    failed a moment ago. One worker per agent, so that the request meets the worker whose
    session failed."""
    n1, n2 = two_nodes(cluster, agent_args=agent_args(tunnel_ping_timeout_ms=2000)
                       + ["--workers", "1"])
    client = deployment_pods(n1, "client", 1, NS)[0]
    local = deployment_pods(n1, "web", 1, NS)[0]  # no app: its connections are refused
    web = deployment_pods(n2, "web", 1, NS)[0]
    http_app(cluster, web)
    cluster.publish_and_wait("web.json", service("web", "10.96.0.71", [("http", 80,
                                                                        HTTP_APP_PORT)],
                                                 [local, web])
                             + [manifests.pod_object(p) for p in (client, local, web)])
    wait_served(client, "10.96.0.71", 80, "web (node2) answering client (node1)")
    log_offset = n1.agent.log_size()
    cut = LinkCut(n2, n2.links[0], cluster.cleanup)
    cut.down()
    during = []

    def session_failed():
        during.append(probe_once(client, "10.96.0.71", 80, timeout=5))
        return "tunnel.unresponsive" in n1.agent.log_since(log_offset)
    procs.wait_until(session_failed, 30, interval=0.05,
                     what="node1's agent to find its tunnel to node2 dead during the cut")
    failed_at = time.monotonic()
    cut.up()
    after = probe_once(client, "10.96.0.71", 80, timeout=5)
    log = n1.agent.log_since(log_offset)
    print(f"during the cut: {[r.get('samples') for r in during]}")
    print("\n".join(line for line in log.splitlines() if "tunnel." in line))
    print(f"first request after link-up ({time.monotonic() - failed_at:.2f} s after the "
          f"session failed): {after}")
    assert after["ok"] == 1, \
        f"the request right after link-up was not served: {after}\nnode1's agent:\n" + \
        "\n".join(line for line in log.splitlines() if "tunnel." in line or "http." in line)


@pytest.mark.parametrize("carried,back_after_s", [("http", 1.3), ("tcp", 1.3), ("http", 3.8)])
def test_a_link_back_while_a_dial_to_the_last_endpoint_waits_is_used(cluster, carried,
                                                                     back_after_s):
    """The chaos soak's heal window: the only endpoint left is behind a peer that just failed;
    a request (or, carried as TCP, a connection) dials it while the link is still cut, and the
    link comes back 1.3 s later, after the kernel's one SYN retransmission that fits in the
    dial's limit (2 s, the PING timeout). The dial sends a new SYN every 500 ms, so the request
    must be served within 0.6 s of the link's return: not fail as if the peer were still gone
    (before the one more dial a dial that ran out grants), nor wait for that next dial (before
    the dial's own new SYNs, 0.7 s or more). Back 3.8 s after the start, in the last half
    second of the one more dial: its last SYN leaves 50 ms before its limit, so that one is
    served too (the chaos soak's last heal-window failure: 503 when that dial ran out)."""
    n1, n2 = two_nodes(cluster, agent_args=agent_args(tunnel_ping_timeout_ms=2000)
                       + ["--workers", "1"])
    client = deployment_pods(n1, "client", 1, NS)[0]
    local = deployment_pods(n1, "web", 1, NS)[0]  # no app: its connections are refused
    web = deployment_pods(n2, "web", 1, NS)[0]
    ip = "10.96.0.73"
    if carried == "http":
        http_app(cluster, web)
        svc = service("web", ip, [("http", 80, HTTP_APP_PORT)], [local, web])

        def served():
            return probe_once(client, ip, 80, timeout=8)["ok"] == 1
    else:
        echo_server(cluster, web)
        svc = service("web", ip, [("echo", ECHO_PORT, ECHO_PORT)], [local, web],
                      app_protocols={"echo": "tcp"})

        def served():
            return echoed_once(client, ip, ECHO_PORT)["exchanged"]
    cluster.publish_and_wait("web.json", svc + [manifests.pod_object(p)
                                                for p in (client, local, web)])
    procs.wait_until(served, 30, interval=0.3, what="web (node2) serving client (node1)")
    log_offset = n1.agent.log_size()
    # Silent (both ends drop): a link set down would also delay node 1's sends after it is back
    # (the kernel applies a carrier change up to a second later: linkwatch), whatever the dial.
    cut = SilentCut([(n1, n1.links[0]), (n2, n2.links[0])])
    cluster.cleanup.push("silent cut ends", lambda: cut.up_at is None and cut.up())
    cut.down()
    procs.wait_until(
        lambda: not served() and "tunnel.unresponsive" in n1.agent.log_since(log_offset), 30,
        interval=0.05, what="node1's agent to find its tunnel to node2 dead during the cut")
    time.sleep(2.5)  # the dials those tries started have run out: the next one is the request's
    done = []
    request = threading.Thread(target=lambda: done.append((served(), time.monotonic())))
    sent = time.monotonic()
    request.start()
    time.sleep(back_after_s)
    cut.up()
    request.join(40)
    log = n1.agent.log_since(log_offset)
    tunnel_lines = "\n".join(line for line in log.splitlines()
                             if "tunnel." in line or "http." in line or "flow." in line)
    print(f"link up {cut.up_at - sent:.2f} s after the {carried} request started; "
          f"served: {done and done[0][0]}, "
          f"{done and round(done[0][1] - cut.up_at, 2)} s after the link came back")
    assert done and done[0][0], \
        f"the {carried} request waiting when the link came back was not served\nnode1's " \
        f"agent:\n{tunnel_lines}"
    assert done[0][1] - cut.up_at < 0.6, \
        f"the {carried} request was served {done[0][1] - cut.up_at:.2f} s after the link came " \
        f"back: its dial did not send a new SYN within 0.5 s\nnode1's agent:\n{tunnel_lines}"


def _outcomes(samples):
    out = {}
    for s in samples:
        out[s[2]] = out.get(s[2], 0) + 1
    return out
