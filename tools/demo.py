#!/usr/bin/python3
"""weft demo: two simulated nodes, a client pod and a Service `echo` backed by two pods, one
beside the client on node-a and one on node-b.

Everything goes through the real CNI chain (loopback, then bridge + host-local, then
weft-cni) and a real weft-agent per node, both holding a mesh CA made by `weftctl ca create`;
the topology comes from the simulated-node package (weftsim/). The client calls the Service's
virtual ClusterIP in a loop; each line shows which pod answered and the source address it saw.
Calls to node-b cross the node link inside a TLS 1.3 tunnel between the agents, each side
presenting its workload's SPIFFE certificate; a MeshPolicy lets only the client call echo.
Ctrl-C (or --once) cleans up. Run it with tools/demo.sh, which puts the repository root (where
weftsim is) on PYTHONPATH.
"""
import argparse
import atexit
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

from weftsim import cleanup as cleanup_mod
from weftsim import netns, paths, preflight, procs
from weftsim.cluster import Cluster

REPO = paths.REPO_ROOT

MANIFESTS = os.path.join(REPO, "manifests", "demo")
NAMESPACE = "demo"
CLUSTER_IP = "10.96.0.10"
NODES = ["node-a", "node-b"]
# Pods in CNI ADD order; on fresh nodes host-local hands out .2, .3 of 10.77.1.0/24 (node-a)
# and .2 of 10.77.2.0/24 (node-b), which manifests/demo/*.yaml list.
PODS = [
    # node, name, deployment, template hash, uid, expected IP
    ("node-a", "client-7c9f6d5b8-q4xzt", "client", "7c9f6d5b8",
     "0b6f4a52-1d0e-4c39-9a57-3c1f2e8d7a01", "10.77.1.2"),
    ("node-a", "echo-5d8f7c9b4-k2mpn", "echo", "5d8f7c9b4",
     "7f3c1b9e-52a4-4d61-8e0f-6a9d2b4c5e02", "10.77.1.3"),
    ("node-b", "echo-5d8f7c9b4-w7rtx", "echo", "5d8f7c9b4",
     "c2a8e6d4-9b1f-4e7a-b3c5-1d0f8e6a4b03", "10.77.2.2"),
]
# What the demo shows from each agent's /metrics.
SHOWN_METRICS = ("weft_requests_total", "weft_tcp_", "weft_tls_handshakes_total",
                 "weft_tunnel_sessions", "weft_identity_certificate_expiry")
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(title, body=None):
    """A section header and an optional indented body."""
    print(f"\n{BOLD}== {title}{RESET}", flush=True)
    if body:
        for line in body.rstrip("\n").splitlines():
            print(f"   {line}")


def metric_lines(agent):
    """The agent's samples the demo shows, as Prometheus text (zero-valued series left out)."""
    return "\n".join(line for line in agent.metrics().text.splitlines()
                     if line.startswith(SHOWN_METRICS) and not line.endswith(" 0"))


def build_nodes(cluster):
    """Mesh CA, nodes + agents (from YAML configs) joined by a link, pods through CNI,
    servers, manifests."""
    ca = cluster.mesh_ca
    say(f"mesh CA: weftctl ca create --dir {os.path.dirname(ca.trust_anchor)}",
        "\n".join(sorted(os.listdir(os.path.dirname(ca.trust_anchor)))))
    nodes = {}
    for name in NODES:
        node = cluster.add_node(name, start_agent=False)
        config = node.agent.write_config()
        say(f"{name}: agent config ({node.agent.config_file})", config)
        say(f"{name}: agent command (in the node's netns)",
            " ".join(["nsenter", f"--net=/var/run/netns/{node.netns}"] + node.agent.argv()))
        node.agent.start()
        say(f"{name}: agent ready; admin API on {name}:15020 (/metrics /ready /pods)")
        nodes[name] = node
    cluster.link(nodes["node-a"], nodes["node-b"])
    say("node link: veth node-a <-> node-b, routes to each other's pod CIDR")

    say("CNI conflist the runtime runs for each pod (after containerd's loopback)",
        json.dumps(nodes["node-a"].conflist(meshed=True), indent=2))
    pods = []
    for node_name, name, deployment, template_hash, uid, expected_ip in PODS:
        node = nodes[node_name]
        pod = node.add_pod(name, namespace=NAMESPACE, service_account=deployment,
                           deployment=deployment, template_hash=template_hash, uid=uid)
        pods.append((pod, expected_ip))
        print(f"   {node_name}: CNI ADD {NAMESPACE}/{name}: {pod.ip} in netns {pod.netns} "
              f"(meshed: {pod.container_id in node.agent.pod_ids()})")
    client = pods[0][0]
    servers = [p for p, _ in pods[1:]]
    for pod in servers:
        pod.start_server("http", 8080, cluster.workdir, cluster.cleanup)

    # The example manifests name the addresses a fresh node hands out; substitute if the
    # allocation ever differs, so the demo never serves stale endpoints.
    for filename in sorted(os.listdir(MANIFESTS)):
        if not filename.endswith((".yaml", ".yml", ".json")):
            continue
        with open(os.path.join(MANIFESTS, filename)) as f:
            text = f.read()
        mapping = {expected: pod.ip for pod, expected in pods}
        text = re.sub(r"\b10\.77\.\d+\.\d+\b", lambda m: mapping.get(m.group(0), m.group(0)),
                      text)
        cluster.publish_text(filename, text)
        say(f"manifest {filename} (-> every node's manifests dir)", text)
    return list(nodes.values()), client, servers


def call(client):
    """One request from the client pod to the Service; (pod that answered, source seen)."""
    body = client.curl(f"http://{CLUSTER_IP}/", timeout=3)
    answer = json.loads(body)
    return answer["pod"], answer["peer"]


def weftctl(cluster, node, *args, host_mounts=False):
    """weftctl run in `node`'s netns (nsenter keeps the host's mounts, which `check` reads);
    its output, errors included."""
    argv = [cluster.build.weftctl, *args]
    wrap = netns.nsenter_argv if host_mounts else netns.exec_argv
    r = procs.run(wrap(node.netns, argv), check=False, timeout=60)
    return (r.stdout + r.stderr).rstrip("\n") or f"(exit status {r.returncode})"


def show_weftctl(cluster, nodes, client):
    """What an operator sees with weftctl, run on node-a while the client calls echo in a loop
    (/ three times, then /healthz: the route's two rules)."""
    a, b = nodes
    agents = (f"127.0.0.1:{a.agent.admin_port},"
              f"{b.link_addresses[0]}:{b.agent.admin_port}")
    direct = ["--direct", "--agents", agents, "-t", "3s"]
    local = ["--agents", f"127.0.0.1:{a.agent.admin_port}"]
    curls = "; ".join(f"curl -s -o /dev/null http://{CLUSTER_IP}{path}"
                      for path in ("/", "/", "/", "/healthz"))
    load = client.start_process(["sh", "-c", f"echo ready; while :; do {curls}; sleep 0.2; done"],
                                "load", "demo load", cluster.workdir, cluster.cleanup)
    time.sleep(1)
    for title, args, host_mounts in (
            ("stat deploy -n demo", ["stat", "deploy", "-n", NAMESPACE, *direct], False),
            ("routes svc/echo -n demo -o wide",
             ["routes", "svc/echo", "-n", NAMESPACE, "-o", "wide", *direct], False),
            ("edges deploy -n demo", ["edges", "deploy", "-n", NAMESPACE, *direct], False),
            ("top deploy/client -n demo (3 s)",
             ["top", "deploy/client", "-n", NAMESPACE, *local, "--duration", "3s"], False),
            ("tap deploy/client -n demo --path /healthz (2 s)",
             ["tap", "deploy/client", "-n", NAMESPACE, "--path", "/healthz", *local,
              "--duration", "2s"], False),
            ("observe --last 6 (node-a's flow history)",
             ["observe", *local, "--last", "6"], False),
            ("check --skip-node",
             ["check", "--skip-node", "--agents", agents, "--identity-dir",
              os.path.dirname(cluster.mesh_ca.trust_anchor)], True)):
        say(f"weftctl {title} (on node-a)", weftctl(cluster, a, *args, host_mounts=host_mounts))
    load.stop()


def show_metrics(nodes):
    for node in nodes:
        say(f"{node.name}: agent metrics (requests, TCP, TLS, tunnel, certificates)",
            metric_lines(node.agent))


def run(args, cluster):
    nodes, client, servers = build_nodes(cluster)
    procs.wait_until(lambda: call(client), 15, interval=0.3,
                     what="the agent to resolve the echo Service")
    say(f"traffic: {client.name} -> echo.{NAMESPACE} ({CLUSTER_IP}:80), via weft")
    seen = {}
    count = 10 if args.once else None
    i = 0
    while count is None or i < count:
        i += 1
        try:
            pod, peer = call(client)
            seen[pod] = seen.get(pod, 0) + 1
            print(f"   #{i:<4} answered by {pod:22s} (it saw source {peer})")
        except Exception as e:  # noqa: BLE001 - keep the demo loop going, show the error
            print(f"   #{i:<4} FAILED: {e}")
        if count is None and i % 10 == 0:
            show_metrics(nodes)
        if count is None:
            time.sleep(args.interval)
    show_metrics(nodes)
    say("answers per pod", "\n".join(f"{k}: {v}" for k, v in sorted(seen.items())))
    show_weftctl(cluster, nodes, client)
    if set(seen) != {s.name for s in servers}:
        print("demo check FAILED: both echo pods should have answered", file=sys.stderr)
        return 1
    # curl speaks HTTP: each request crosses to node-b as a stream in the mTLS tunnel, and
    # node-b's agent counts it as the destination reporter.
    tunnelled = nodes[1].agent.metrics().sum(
        "weft_requests_total", reporter="destination", response_code="200",
        connection_security_policy="mutual_tls",
        source_principal=f"spiffe://cluster.local/ns/{NAMESPACE}/sa/client")
    if not tunnelled:
        print("demo check FAILED: node-b counted no mutual_tls request from the client",
              file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true",
                        help="send 10 requests, print the metrics, clean up and exit (CI smoke)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between requests in the loop")
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    args = parser.parse_args()

    sys.stdout = _QuietPipe(sys.stdout)
    atexit.register(cleanup_mod.sweep)
    build = paths.Build(args.build_dir)
    missing = preflight.problems(build)
    if missing:
        print("demo prerequisites missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 2

    def _terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    cleanup = cleanup_mod.Cleanup()
    workdir = tempfile.mkdtemp(prefix=f"{cleanup_mod.PREFIX}-demo-")
    cleanup.push(f"rm -rf {workdir}", shutil.rmtree, workdir, True)
    cluster = Cluster(build, workdir, cleanup)
    status = 1
    try:
        status = run(args, cluster)
    except KeyboardInterrupt:
        status = 0
        print()
    except Exception:
        if cluster.nodes:
            sys.stderr.write(cluster.agent_logs()[-8000:] + "\n")
        raise
    finally:
        # Ignore a second Ctrl-C while tearing down: a half-done cleanup leaves pins behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        say("cleaning up (pods: CNI DEL, agent: SIGTERM + uninstall, netns)")
        failures = cleanup.run()
        cleanup_mod.sweep()
        say("done" if not failures else f"{len(failures)} cleanup step(s) failed")
    return status


class _QuietPipe:
    """stdout that ignores a closed reader (`tools/demo.sh | head`): output must never stop
    the cleanup."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except (BrokenPipeError, ValueError):
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            pass

    def isatty(self):
        return self._stream.isatty()


if __name__ == "__main__":
    sys.exit(main())
