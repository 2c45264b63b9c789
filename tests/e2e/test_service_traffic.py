"""Meshed client -> Service ClusterIP: balanced over both endpoints by the agent, counted
with Istio's labels (HTTP per request, raw TCP per connection, and a gauge of the connections
open now), and the endpoints see the client pod's address."""
import json
import os

from weftsim import paths, procs
from weftsim.hardening import start_with_ready_line
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, echo_service

CONNECTIONS = 40
PAYLOAD = 1000
HELD = 3
SLOWLORIS = os.path.join(paths.SERVERS_DIR, "slowloris.py")


def _flow_labels(sc):
    return {
        "reporter": "source",
        "source_workload": "client",
        "source_workload_namespace": sc.namespace,
        "source_principal": principal(sc.namespace, "client"),
        "destination_service": sc.service_host,
        "destination_workload": "echo",
        "destination_workload_namespace": sc.namespace,
        "destination_principal": principal(sc.namespace, "echo"),
        "request_protocol": "tcp",
        # Meshed to meshed on one node counts as mutual_tls (issue 3's contract).
        "connection_security_policy": "mutual_tls",
    }


def _wait_counts(agent, before, labels, opened, closed=None):
    closed = opened if closed is None else closed

    def settled():
        now = agent.metrics()
        got = (delta(before, now, "weft_tcp_connections_opened_total", **labels),
               delta(before, now, "weft_tcp_connections_closed_total", **labels))
        return now if got == (opened, closed) else None
    try:
        return procs.wait_until(settled, 10, what=f"{opened} opened/{closed} closed")
    except TimeoutError as e:
        raise AssertionError(f"{e}\nlabels={labels}\n{agent.metrics().text}") from None


def test_curl_to_cluster_ip_reaches_both_endpoints_and_is_counted(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node)
    agent = node.agent
    before = agent.metrics()

    out = sc.client.run(["sh", "-c", f"for i in $(seq {CONNECTIONS}); do "
                                     f"curl -sS --fail --max-time 5 {sc.url} || echo FAILED; done"],
                        timeout=120).stdout
    assert "FAILED" not in out, out
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(answers) == CONNECTIONS, out
    assert {a["pod"] for a in answers} == {s.name for s in sc.servers}
    assert {a["peer"] for a in answers} == {sc.client.ip}

    # curl speaks HTTP: each request is counted, on both reporters (one node: the source
    # agent reports the destination side too).
    for reporter in ("source", "destination"):
        labels = dict(_flow_labels(sc), reporter=reporter, request_protocol="http",
                      response_code="200")

        def counted():
            return delta(before, agent.metrics(), "weft_requests_total", **labels) == CONNECTIONS
        try:
            procs.wait_until(counted, 10, what=f"{CONNECTIONS} requests ({reporter})")
        except TimeoutError as e:
            raise AssertionError(f"{e}\nlabels={labels}\n{agent.metrics().text}") from None


def test_raw_tcp_to_cluster_ip_reaches_both_endpoints_with_exact_byte_counts(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node)
    agent = node.agent
    before = agent.metrics()

    result = sc.client.client("echo", sc.cluster_ip, ECHO_PORT, "--connections", CONNECTIONS,
                              "--size", PAYLOAD)
    assert result["ok"] == CONNECTIONS, result
    peers = {s.name: s.servers[ECHO_PORT].accepted_peers() for s in sc.servers}
    assert sum(len(p) for p in peers.values()) == CONNECTIONS, peers
    assert all(peers.values()), f"an endpoint got no connection: {peers}"
    assert {ip for p in peers.values() for ip in p} == {sc.client.ip}

    labels = _flow_labels(sc)
    after = _wait_counts(agent, before, labels, CONNECTIONS)
    assert delta(before, after, "weft_tcp_sent_bytes_total", **labels) == CONNECTIONS * PAYLOAD
    assert delta(before, after, "weft_tcp_received_bytes_total",
                 **labels) == CONNECTIONS * PAYLOAD


def test_open_tcp_connections_are_a_gauge(cluster):
    """weft_tcp_connections_open counts the connections open now, with the flow's labels: up by
    one per held connection, back to zero once they closed."""
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node)
    agent = node.agent
    labels = _flow_labels(sc)
    before = agent.metrics()

    def open_now():
        return agent.metrics().sum("weft_tcp_connections_open", **labels)
    held = [start_with_ready_line(
        sc.client, cluster, [paths.PYTHON, SLOWLORIS, "idle", sc.cluster_ip, str(ECHO_PORT),
                             "--mode", "tcp", "--seconds", "60"],
        f"held-{i}", "a held TCP connection", 30) for i in range(HELD)]
    procs.wait_until(lambda: open_now() == HELD, 10,
                     what=f"weft_tcp_connections_open at {HELD} with {HELD} held")
    for svc in held:
        svc.stop()
    procs.wait_until(lambda: open_now() == 0, 10,
                     what="weft_tcp_connections_open back at 0 once they closed")
    _wait_counts(agent, before, labels, HELD)
