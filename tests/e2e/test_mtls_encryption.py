"""Cross-node traffic between meshed pods is mutual TLS 1.3 over HTTP/2 (issue 3): a capture
on node1's end of the node link sees TLS 1.3 handshakes offering h2 between the pods'
addresses on :15008 and never the payload; the same capture does see a plaintext flow to a
pod without the redirection annotation. Both agents count the flow as mutual_tls with both
principals."""
import secrets

from weftsim import manifests, procs
from weftsim.capture import Capture
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, deployment_pods, echo_service, two_nodes, \
    wait_for_service

OPENED = "weft_tcp_connections_opened_total"
CLOSED = "weft_tcp_connections_closed_total"
CALLS = 5


def test_cross_node_flow_is_tls13_h2_on_15008_and_the_payload_never_crosses_in_clear(cluster):
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("http",), wait=False)
    # Control: a pod without the redirection annotation (not meshed) is dialled in plaintext.
    plain = deployment_pods(n2, "plainsrv", 1, sc.namespace, meshed=False)[0]
    plain.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    cluster.publish("plainsrv.json", [manifests.pod_object(plain)])
    server_ips = {s.ip for s in sc.servers}

    # The capture starts before the first cross-node connection, so the pooled tunnel
    # sessions' full handshakes are in it.
    with Capture(n1.netns, n1.links[0], cluster.workdir, cluster.cleanup) as cap:
        wait_for_service(sc)
        marker = secrets.token_hex(32)
        for _ in range(CALLS):
            body = sc.client.curl(f"{sc.url}{marker}")
            assert marker in body  # pod_server echoes the path: it crossed both ways
        plain_marker = secrets.token_hex(32)
        body = sc.client.curl(f"http://{plain.ip}:8080/{plain_marker}")
        assert plain_marker in body

    assert cap.contains(plain_marker), \
        "control failed: the capture does not see a plaintext flow's marker"
    assert not cap.contains(marker), "the meshed flow's marker crossed the node link in clear"

    tls = cap.tls_summary()
    assert tls["client_hellos"] >= 1 and tls["server_hellos"] >= 1, tls
    assert all(v == "0x0304" for v in tls["server_versions"]), \
        f"a ServerHello did not select TLS 1.3: {tls}"
    assert all("h2" in alpn.split(",") for alpn in tls["client_alpn"]), \
        f"a ClientHello did not offer ALPN h2: {tls}"
    assert tls["app_data_records"] >= 2 * CALLS, tls
    # The agent dials from inside the client pod's netns: the source is the pod's address.
    assert {src for src, _ in tls["client_conversations"]} == {sc.client.ip}, tls
    assert {dst for _, dst in tls["client_conversations"]} <= server_ips, tls
    # Nothing toward the meshed servers went anywhere but the tunnel port.
    stray = cap.count("(" + " || ".join(f"ip.addr=={ip}" for ip in sorted(server_ips))
                      + ") && !(tcp.port==15008)")
    assert stray == 0, f"{stray} packets to/from the meshed servers outside :15008"


def test_both_agents_count_the_cross_node_flow_as_mutual_tls_with_both_principals(cluster):
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("http", "echo"))
    before1, before2 = n1.agent.metrics(), n2.agent.metrics()

    connections, size = 10, 1000
    result = sc.client.client("echo", sc.cluster_ip, ECHO_PORT, "--connections", connections,
                              "--size", size)
    assert result["ok"] == connections, result

    common = {"source_workload": "client", "source_workload_namespace": sc.namespace,
              "source_principal": principal(sc.namespace, "client"),
              "destination_workload": "echo", "destination_workload_namespace": sc.namespace,
              "destination_principal": principal(sc.namespace, "echo"),
              "connection_security_policy": "mutual_tls"}
    src = dict(common, reporter="source", destination_service=sc.service_host)
    # The destination agent names the Service too (the source sends the address it dialled).
    dst = dict(common, reporter="destination", destination_service=sc.service_host)

    def settled():
        m1, m2 = n1.agent.metrics(), n2.agent.metrics()
        got = {name: (delta(before1, m1, name, **src), delta(before2, m2, name, **dst))
               for name in (OPENED, CLOSED, "weft_tcp_sent_bytes_total",
                            "weft_tcp_received_bytes_total")}
        want = {OPENED: (connections, connections), CLOSED: (connections, connections),
                "weft_tcp_sent_bytes_total": (connections * size, connections * size),
                "weft_tcp_received_bytes_total": (connections * size, connections * size)}
        return (m1, m2) if got == want else None
    try:
        m1, m2 = procs.wait_until(settled, 10, what="mutual_tls flow counted on both nodes")
    except TimeoutError as e:
        m1, m2 = n1.agent.metrics(), n2.agent.metrics()
        raise AssertionError(
            f"{e}\nsource labels={src}\n{_grep(m1, 'weft_tcp_')}\n"
            f"destination labels={dst}\n{_grep(m2, 'weft_tcp_')}") from None

    # Nothing of this flow was counted as plaintext.
    for before, now in ((before1, m1), (before2, m2)):
        assert delta(before, now, OPENED, source_workload="client",
                     connection_security_policy="none") == 0, now.text
    # The tunnel really ran: node1 handshook as client, node2 as server.
    assert delta(before1, m1, "weft_tls_handshakes_total", role="client") >= 1, m1.text
    assert delta(before2, m2, "weft_tls_handshakes_total", role="server") >= 1, m2.text
    assert delta(before1, m1, "weft_tunnel_sessions_opened_total", role="client") >= 1
    assert delta(before2, m2, "weft_tunnel_sessions_opened_total", role="server") >= 1


def _grep(metrics, prefix):
    return "\n".join(line for line in metrics.text.splitlines() if line.startswith(prefix))
