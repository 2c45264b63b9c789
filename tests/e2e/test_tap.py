"""Tap on a node agent's admin port (issue 24): GET /tap streams the requests the agent finishes,
held until their response so that a session can filter on the status. A client on node1 calls a
Service whose one endpoint is on node2, 10 requests answered 500 and 10 answered 200, each with
an Authorization header. A session on node1 that asks for 5xx of namespace e2e gets exactly the
10 failures as NDJSON, outbound, with both identities, mTLS, the endpoint and the header
redacted; a session on node2 (server-sent events, inbound only) gets all 20. Plaintext tap is
refused to a client that is not on loopback; a malformed filter is a 400 naming the key; past
tap_max_sessions a session is refused (429); a session over its max_rps drops and counts the
rest (weft_tap_events_dropped_total); every session is logged when it opens and when it ends.
Over mTLS (tap_tls_address), each SPIFFE ID of tap_allow sees its namespaces only."""
import json
import os
import re
import time

from weftsim import netns, procs
from weftsim.scenarios import HTTP_APP_PORT, http_app_service, two_nodes

NS = "e2e"
CLUSTER_IP = "10.96.0.83"
SECRET = "Bearer tap-test-secret"
TLS_PORT = 15021


def _client_and_web(cluster, n1, n2):
    """A meshed client on n1 and Service web (CLUSTER_IP:80) over one http_app pod on n2,
    answering the client: (client pod, web pod)."""
    sc = http_app_service(cluster, n1, replicas=1, name="web", cluster_ip=CLUSTER_IP,
                          server_node=n2, namespace=NS)
    return sc.client, sc.servers[0]


def _principal(namespace, service_account):
    return f"spiffe://cluster.local/ns/{namespace}/sa/{service_account}"


def _client_cert(cluster, service_account):
    """A client certificate for spiffe://.../ns/ops/sa/<service_account> signed by the mesh's
    issuer, its file holding the issuer's certificate too (the agent trusts the anchor only):
    (cert path, key path)."""
    directory = os.path.join(cluster.workdir, "tap-clients")
    os.makedirs(directory, exist_ok=True)
    cert, key = cluster.mesh_ca.workload("ops", service_account, directory)
    chain = os.path.join(directory, f"{service_account}-chain.pem")
    with open(chain, "w", encoding="utf-8") as out:
        for part in (cert, cluster.mesh_ca.issuer_cert):
            with open(part, encoding="utf-8") as f:
                out.write(f.read())
    return chain, key



def _open_tap(cluster, node, query, tag):
    """`curl -N` on node's loopback to its agent's /tap?query: a Service whose stdout lines are
    the stream; stopped by the cleanup (or by the test, to end the session)."""
    url = f"http://127.0.0.1:{node.agent.admin_port}/tap?{query}"
    svc = procs.Service(netns.exec_argv(node.netns, ["curl", "-sSN", "--fail-with-body", url]),
                        f"{cluster.workdir}/tap-{tag}.log", f"tap {tag}", stdout_pipe=True)
    cluster.cleanup.push(f"stop tap {tag}", svc.stop)
    return svc


def _events(svc, count, timeout, sse=False):
    """The next `count` events of a tap stream (keep-alive lines skipped)."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count:
        try:
            line = svc.readline(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            raise AssertionError(f"{svc.name}: {len(events)} events of {count} within "
                                 f"{timeout} s: {events}") from None
        if sse:
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
        elif line.strip():
            events.append(json.loads(line))
    return events


def _sessions_open(node):
    return node.agent.metrics().sum("weft_tap_sessions")


def _dropped(node, reason):
    return node.agent.metrics().sum("weft_tap_events_dropped_total", reason=reason)


def _get(node, url):
    """(status, body) of a GET from node's netns."""
    r = procs.run(netns.exec_argv(node.netns, [
        "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", url]), check=False)
    body, _, status = r.stdout.rpartition("\n")
    return status, body


def _calls(client, targets, rounds):
    """`rounds` times, one request to each of `targets` in turn (interleaved: 10 failures in a
    row would eject the one endpoint, and the agent would answer 503 itself)."""
    curls = "; ".join(
        f"curl -s -o /dev/null -H 'Authorization: {SECRET}' "
        f"-H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' "
        f"http://{CLUSTER_IP}{path}" for path in targets)
    client.run(["sh", "-c", f"for i in $(seq {rounds}); do {curls}; done"], timeout=120)


def test_tap_streams_filtered_requests_with_secrets_redacted(build, cluster):
    n1, n2 = two_nodes(cluster, agent_args=["--tap-max-sessions", "2"])
    client, web = _client_and_web(cluster, n1, n2)

    failures = _open_tap(cluster, n1, f"namespace={NS}&status=5xx", "failures")
    inbound = _open_tap(cluster, n2, "direction=inbound&format=sse", "inbound")
    procs.wait_until(lambda: _sessions_open(n1) == 1 and _sessions_open(n2) == 1, 10,
                     what="both tap sessions open")
    _calls(client, ["/status/500", "/"], 10)

    got = _events(failures, 10, 20)
    print("node1, status=5xx:\n" + "\n".join(json.dumps(e) for e in got))
    web_address = f"{web.ip}:{HTTP_APP_PORT}"
    for e in got:
        assert (e["status"], e["method"], e["path"], e["direction"], e["node"]) == (
            500, "GET", "/status/500", "outbound", "node1"), e
        assert (e["src"]["workload"], e["src"]["namespace"], e["src"]["ip"]) == (
            "client", NS, client.ip), e
        assert (e["dst"]["workload"], e["dst"]["ip"], e["upstream"]) == (
            "web", web.ip, web_address), e
        assert e["src"]["principal"] == f"spiffe://cluster.local/ns/{NS}/sa/client", e
        assert e["tls"] is True and e["authority"] == CLUSTER_IP, e
        assert e["service"] == f"web.{NS}.svc.cluster.local", e
        assert e["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736", e
        assert ["authorization", "REDACTED"] in e["request_headers"], e
        assert 0 < e["latency_seconds"] < 5, e
    assert SECRET not in failures.log() + json.dumps(got)
    assert len({e["id"] for e in got}) == 10

    seen = _events(inbound, 20, 20, sse=True)
    assert sorted(e["status"] for e in seen) == [200] * 10 + [500] * 10, seen
    assert {(e["direction"], e["node"], e["src"]["workload"], e["dst"]["workload"])
            for e in seen} == {("inbound", "node2", "client", "web")}, seen

    # Nothing else matched the 5xx session: the 200s never reached it.
    _calls(client, ["/status/503"], 1)
    assert _events(failures, 1, 10)[0]["status"] == 503

    # Plaintext tap is for loopback only; the same port still serves /metrics to the node link.
    far = f"http://{n1.link_addresses[0]}:{n1.agent.admin_port}"
    status, body = _get(n2, f"{far}/tap")
    assert (status, "loopback" in body) == ("403", True), (status, body)
    assert _get(n2, f"{far}/metrics")[0] == "200"
    status, body = _get(n1, f"http://127.0.0.1:{n1.agent.admin_port}/tap?status=9xx")
    assert status == "400" and "status" in body, (status, body)
    status, body = _get(n1, f"http://127.0.0.1:{n1.agent.admin_port}/tap?colour=red")
    assert status == "400" and "colour" in body, (status, body)

    # A second session fills tap_max_sessions=2; a third is refused.
    slow = _open_tap(cluster, n1, "max_rps=2", "slow")
    procs.wait_until(lambda: _sessions_open(n1) == 2, 10, what="the slow session open")
    status, body = _get(n1, f"http://127.0.0.1:{n1.agent.admin_port}/tap")
    assert status == "429" and "tap_max_sessions" in body, (status, body)
    before = _dropped(n1, "session_rate")
    _calls(client, ["/"], 30)
    got = _events(slow, 2, 10)
    time.sleep(1)
    dropped = _dropped(n1, "session_rate") - before
    print(f"max_rps=2 over 30 requests: {dropped:.0f} dropped")
    assert dropped >= 20, dropped

    # A client that leaves ends its session within the keep-alive.
    for svc in (failures, slow):
        svc.stop()
    procs.wait_until(lambda: _sessions_open(n1) == 0, 10, what="node1's sessions closed")
    with open(n1.agent.log_path, encoding="utf-8") as f:
        log = f.read()
    opened = re.findall(r"tap\.session_opened.*who=127\.0\.0\.1:\d+ filter=\"([^\"]*)\"", log)
    closed = re.findall(r"tap\.session_closed.*filter=\"([^\"]*)\" seconds=\S+ events=(\d+)",
                        log)
    assert f"namespace={NS},status=500-599" in opened and "all" in opened, opened
    assert (f"namespace={NS},status=500-599", "11") in closed, closed


def test_tap_over_mtls_shows_each_principal_its_namespaces(build, cluster):
    """Off the node, tap is served over mutual TLS on tap_tls_address: a client certificate
    whose SPIFFE ID tap_allow lists sees the requests of the namespaces listed for it (oncall:
    e2e; intern: other, so nothing of this traffic), one it does not list is refused (403), and
    a client without a certificate does not get past the handshake. weftctl tap speaks it with
    --cert/--key/--cacert from the other node; GET /observe (the flow history) is served and
    limited the same way."""
    allow = (f"{_principal('ops', 'oncall')}=e2e,{_principal('ops', 'intern')}=other")
    n1, n2 = two_nodes(cluster, agent_args=["--tap-tls-address", f"0.0.0.0:{TLS_PORT}",
                                            "--tap-allow", allow])
    client, web = _client_and_web(cluster, n1, n2)
    certs = {sa: _client_cert(cluster, sa) for sa in ("oncall", "intern", "stranger")}
    far = f"{n1.link_addresses[0]}:{TLS_PORT}"

    def weftctl_tap(sa, tag):
        cert, key = certs[sa]
        svc = procs.Service(netns.exec_argv(n2.netns, [
            build.weftctl, "tap", "ns/e2e", "--agents", far, "--cert", cert, "--key", key,
            "--cacert", cluster.mesh_ca.trust_anchor, "--duration", "6s", "-o", "json"]),
            f"{cluster.workdir}/weftctl-tap-{tag}.log", f"weftctl tap {tag}", stdout_pipe=True)
        cluster.cleanup.push(f"stop weftctl tap {tag}", svc.stop)
        return svc

    oncall, intern = weftctl_tap("oncall", "oncall"), weftctl_tap("intern", "intern")
    procs.wait_until(lambda: _sessions_open(n1) == 2, 10, what="both mTLS tap sessions open")
    _calls(client, ["/status/500", "/"], 3)
    for svc in (oncall, intern):
        svc.proc.wait(timeout=20)
    seen = [json.loads(line) for line in oncall.proc.stdout.read().decode().splitlines()]
    print(f"oncall over mTLS: {len(seen)} events; intern: {intern.proc.stdout.read()!r}")
    assert oncall.proc.returncode == 0, oncall.log()
    assert sorted(e["status"] for e in seen) == [200] * 3 + [500] * 3, seen
    assert {(e["node"], e["pod"].split("/")[0]) for e in seen} == {("node1", NS)}, seen
    assert intern.proc.returncode == 0, intern.log()

    # The flow history over the same port, limited likewise.
    def observe(sa):
        cert, key = certs[sa]
        r = procs.run(netns.exec_argv(n2.netns, [
            "curl", "-sS", "--fail-with-body", "-k", "--cert", cert, "--key", key,
            f"https://{far}/observe?last=20"]), check=False)
        assert r.returncode == 0, r
        return [json.loads(line) for line in r.stdout.splitlines()]
    flows = observe("oncall")
    assert len(flows) >= 6 and {(f["node"], f["src"]["namespace"]) for f in flows} == {
        ("node1", NS)}, flows
    assert observe("intern") == []

    cert, key = certs["stranger"]
    refused = procs.run(netns.exec_argv(n2.netns, [
        build.weftctl, "tap", "ns/e2e", "--agents", far, "--cert", cert, "--key", key,
        "--cacert", cluster.mesh_ca.trust_anchor, "--duration", "2s"]), check=False)
    assert refused.returncode == 1 and "status 403" in refused.stderr and \
        _principal("ops", "stranger") in refused.stderr, refused
    bare = procs.run(netns.exec_argv(n2.netns, [
        "curl", "-sS", "-k", "--max-time", "5", f"https://{far}/tap"]), check=False)
    assert bare.returncode != 0, bare
    with open(n1.agent.log_path, encoding="utf-8") as f:
        log = f.read()
    assert re.search(r"tap\.session_opened.*who=%s@\S+ filter=\"namespace=e2e,allowed=e2e\"" %
                     re.escape(_principal("ops", "oncall")), log), log[-3000:]
    assert re.search(r"tap\.tls_denied.*principal=%s" % re.escape(_principal("ops", "stranger")),
                     log), log[-3000:]
