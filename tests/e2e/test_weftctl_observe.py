"""`weftctl observe` (issue 24): each agent keeps its last finished requests and connections
(observe_buffer_entries), GET /observe serves them to loopback clients, and weftctl merges the
agents' records by time. Two nodes: a client and an intruder on node1, web (the http app) on
node2 behind an HTTP Service and an opaque TCP one (appProtocol tcp); a MeshPolicy lets only the
client reach web. The client's requests, 500s and 200s interleaved on one connection (5 failures
in a row on a worker would eject the one endpoint), show as allowed on both agents, the
intruder's as denied by node2's agent; the client's TCP connection as allowed with its bytes.
--http-status 5+ gives only the 500s, --verdict denied only the refusals, --last N the N newest,
--trace-id one trace's two records (one per agent); -f prints a request made after it started;
node2's agent, started with a 16-entry buffer, holds only its 16 newest records. node2's admin
port is reached through a forwarder in its own netns (as kubectl port-forward would): plaintext
observe from another address is refused, and weftctl says so."""
import json
import re
import subprocess
import time

from weftsim import manifests, netns, paths, procs
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods

NS = "e2e"
HTTP_IP, TCP_IP = "10.96.0.86", "10.96.0.87"
TRACE = "0af7651916cd43dd8448eb211c80319c"
BUFFER = 16  # node2's observe_buffer_entries
FORWARD_PORT = 25020


def _link_address(node):
    out = netns.ip(node.netns, "-4", "-o", "addr", "show", "dev", node.links[0]).stdout
    return re.search(r"inet (\S+)/", out).group(1)


def _observe(build, node, agents, *args, timeout=30):
    """`weftctl observe --agents AGENTS ARGS` in node's netns; the completed process."""
    return procs.run(netns.exec_argv(node.netns, [build.weftctl, "observe", "--agents", agents]
                                     + list(args)), check=False, timeout=timeout)


def _records(build, node, agents, *args):
    r = _observe(build, node, agents, "-o", "json", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def _curl(pod, url, *extra):
    return pod.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3"]
                   + list(extra) + [url], check=False).stdout


def test_observe_shows_each_agents_recent_flows_with_their_verdicts(build, cluster):
    n1 = cluster.add_node("node1")
    n2 = cluster.add_node("node2", agent_args=["--observe-buffer-entries", str(BUFFER)])
    cluster.link(n1, n2)
    client = deployment_pods(n1, "client", 1, NS)[0]
    intruder = deployment_pods(n1, "intruder", 1, NS)[0]
    web = deployment_pods(n2, "web", 1, NS)[0]
    web.servers[HTTP_APP_PORT] = web.start_process(
        [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name", web.name],
        "web", "http app", cluster.workdir, cluster.cleanup)
    tcp_svc = manifests.service("web-tcp", NS, TCP_IP, [("tcp", 80, HTTP_APP_PORT)])
    tcp_svc["spec"]["ports"][0]["appProtocol"] = "tcp"
    client_id = f"spiffe://cluster.local/ns/{NS}/sa/client"
    cluster.publish_and_wait("observe.json", [
        manifests.service("web", NS, HTTP_IP, [("http", 80, HTTP_APP_PORT)]),
        manifests.endpoint_slice("web", NS, [web], [("http", HTTP_APP_PORT)]),
        tcp_svc, manifests.endpoint_slice("web-tcp", NS, [web], [("tcp", HTTP_APP_PORT)]),
        manifests.mesh_policy("web-callers", NS, match_labels={"app": "web"},
                              principals=[client_id])]
        + [manifests.pod_object(p) for p in (client, intruder, web)])
    procs.wait_until(lambda: _curl(client, f"http://{HTTP_IP}/") == "200", 30,
                     what="web answering client across nodes")
    procs.wait_until(lambda: _curl(intruder, f"http://{HTTP_IP}/") == "403", 15,
                     what="the MeshPolicy refusing the intruder")

    # node2's admin port through a forwarder in its netns: its agent sees a loopback client.
    far = _link_address(n2)
    forward = procs.Service(netns.exec_argv(n2.netns, [
        "socat", f"TCP-LISTEN:{FORWARD_PORT},bind={far},fork,reuseaddr",
        f"TCP:127.0.0.1:{n2.agent.admin_port}"]), f"{cluster.workdir}/forward.log", "forward")
    cluster.cleanup.push("stop forward", forward.stop)
    agents = f"127.0.0.1:{n1.agent.admin_port},{far}:{FORWARD_PORT}"
    procs.wait_until(lambda: _observe(build, n1, agents, "--last", "1").returncode == 0, 10,
                     what="both agents' /observe answering")

    # One connection, so one worker sees them alternate: each worker keeps its own circuit
    # breakers, and 5 failures in a row there would eject the endpoint.
    urls = []
    for _ in range(5):
        urls += ["-o", "/dev/null", f"http://{HTTP_IP}/status/500", "-o", "/dev/null",
                 f"http://{HTTP_IP}/"]
    codes = client.run(["curl", "-s", "-w", "%{http_code}\n", "--max-time", "10"] + urls,
                       check=False).stdout.split()
    assert codes == ["500", "200"] * 5, codes
    assert _curl(client, f"http://{HTTP_IP}/traced", "-H",
                 f"traceparent: 00-{TRACE}-00f067aa0ba902b7-01") in ("200", "404")
    # Opaque TCP (curl speaks HTTP, the agents carry bytes): allowed with its bytes each way.
    assert _curl(client, f"http://{TCP_IP}/") == "200"
    assert _curl(intruder, f"http://{HTTP_IP}/") == "403"
    assert _curl(intruder, f"http://{TCP_IP}/") == "000"  # reset: denied by web's agent

    def ends_written():
        rs = _records(build, n1, agents, "--type", "connection", "--last", "1000")
        return {(r["node"], r["verdict"]) for r in rs} >= {
            ("node1", "allowed"), ("node2", "allowed"), ("node1", "denied"), ("node2", "denied")}
    procs.wait_until(ends_written, 10, what="the TCP connections' ends in both histories")

    everything = _records(build, n1, agents, "--last", "1000")
    print("observe -o json:\n" + "\n".join(json.dumps(r) for r in everything))
    times = [r["time_us"] for r in everything]
    assert times == sorted(times), "records not merged by time"
    mine = [r for r in everything if r["node"] == "node1" and r["type"] == "request"
            and r["src"]["workload"] == "client" and r["dst"]["workload"] == "web"]
    statuses = [r["status"] for r in mine if r["path"] in ("/", "/status/500")]
    assert statuses.count(500) == 5 and statuses.count(200) >= 5, statuses
    for r in mine:
        assert (r["verdict"], r["direction"], r["tls"], r["src"]["ip"]) == (
            "allowed", "outbound", True, client.ip), r
        assert r["dst"]["ip"] == web.ip and r["dst"]["port"] == HTTP_APP_PORT, r
        assert r["protocol"] == "HTTP/1.1" and r["method"] == "GET", r
        assert r["service"] == f"web.{NS}.svc.cluster.local", r
    inbound = [r for r in everything if r["node"] == "node2" and r["type"] == "request"
               and r["src"]["workload"] == "client"]
    assert inbound and all(r["verdict"] == "allowed" and r["direction"] == "inbound"
                           for r in inbound), inbound
    tcp = [r for r in everything if r["node"] == "node1" and r["type"] == "connection"
           and r["src"]["workload"] == "client" and r["verdict"] == "allowed"]
    assert len(tcp) == 1 and tcp[0]["sent_bytes"] > 0 and tcp[0]["received_bytes"] > 0, tcp
    assert tcp[0]["service"] == f"web-tcp.{NS}.svc.cluster.local", tcp
    denied = [r for r in everything if r["verdict"] == "denied"]
    kinds = {(r["node"], r["type"]) for r in denied}
    assert {("node2", "request"), ("node2", "connection")} <= kinds, denied
    for r in denied:
        assert r["src"]["workload"] == "intruder" and r["dst"]["workload"] == "web", r
    # The client's agent saw the peer agent refuse the TCP connection (a CONNECT's 403 is only
    # ever policy); an HTTP 403 it just passed on, as it would an app's.
    assert any(r["node"] == "node1" and r["type"] == "connection" for r in denied), denied
    assert any(r["reason"] == "not_allowed" and r["status"] == 403 for r in denied
               if r["type"] == "request"), denied

    # Filters: only the 500s; only the refusals; the N newest; one trace.
    fives = _records(build, n1, agents, "--http-status", "5+", "--last", "1000")
    assert fives and {r["status"] for r in fives} == {500}, fives
    assert len([r for r in fives if r["node"] == "node1"]) == 5, fives
    refused = _records(build, n1, agents, "--verdict", "denied", "--last", "1000")
    assert [(r["node"], r["seq"]) for r in refused] == \
        [(r["node"], r["seq"]) for r in denied], refused
    newest = _records(build, n1, agents, "--last", "3")
    assert [(r["node"], r["seq"]) for r in newest] == \
        [(r["node"], r["seq"]) for r in everything[-3:]], newest
    traced = _records(build, n1, agents, "--trace-id", TRACE)
    assert sorted(r["node"] for r in traced) == ["node1", "node2"], traced
    assert {(r["trace_id"], r["path"]) for r in traced} == {(TRACE, "/traced")}, traced

    # The table: Hubble's columns, a verdict per line.
    r = _observe(build, n1, agents, "--verdict", "denied")
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT",
                                "SUMMARY"], lines[0]
    assert len(lines) == 1 + len(denied) and all("DENIED" in line for line in lines[1:]), lines
    assert any("denied by policy (not_allowed)" in line for line in lines[1:]), lines
    print(_observe(build, n1, agents, "--last", "8").stdout)
    print(_observe(build, n1, agents, "--last", "8", "-o", "wide").stdout)

    # -f: a request made after it started comes out.
    follower = subprocess.Popen(netns.exec_argv(n1.netns, [
        build.weftctl, "observe", "--agents", agents, "-f", "--follow-for", "5s",
        "--last", "1", "-o", "json"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    assert _curl(client, f"http://{HTTP_IP}/after-follow") in ("200", "404")
    out, err = follower.communicate(timeout=20)
    assert follower.returncode == 0, err
    followed = [json.loads(line) for line in out.splitlines() if line.strip()]
    paths_seen = [r.get("path") for r in followed]
    assert paths_seen.count("/after-follow") == 2, followed  # once by each agent
    assert len(followed) == len({(r["node"], r["seq"]) for r in followed}), followed

    # node2 holds only its newest BUFFER records, in order.
    held = _records(build, n1, f"{far}:{FORWARD_PORT}", "--last", "1000")
    seqs = [r["seq"] for r in held]
    assert len(held) == BUFFER and seqs[-1] > BUFFER, seqs
    assert seqs == list(range(seqs[-1] - BUFFER + 1, seqs[-1] + 1)), seqs

    # Plaintext observe from another address is refused, and a bad filter names its key.
    r = _observe(build, n1, f"{far}:{n2.agent.admin_port}")
    assert r.returncode == 1 and "403" in r.stderr and "loopback" in r.stderr, r.stderr
    r = _observe(build, n1, agents, "--http-status", "9xx")
    assert r.returncode == 1 and "http_status" in r.stderr, r.stderr
