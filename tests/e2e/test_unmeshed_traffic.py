"""What the mesh must leave alone: non-meshed pods, UDP (DNS), excluded ports."""
import json

from weftsim import manifests, procs
from weftsim.metrics import delta
from weftsim.scenarios import deployment_pods

OPENED = "weft_tcp_connections_opened_total"


def _publish_pods(cluster, pods):
    cluster.publish("pods.json", [manifests.pod_object(p) for p in pods])


def test_non_meshed_pod_traffic_bypasses_the_agent(cluster):
    node = cluster.add_node("node1")
    plain_client = deployment_pods(node, "plain", 1, "e2e", meshed=False)[0]
    plain_server = deployment_pods(node, "plainsrv", 1, "e2e", meshed=False)[0]
    meshed_server = deployment_pods(node, "echo", 1, "e2e")[0]
    for server in (plain_server, meshed_server):
        server.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    _publish_pods(cluster, [plain_client, plain_server, meshed_server])
    agent = node.agent
    assert plain_client.container_id not in agent.pod_ids()

    before = agent.metrics()
    answer = json.loads(plain_client.curl(f"http://{plain_server.ip}:8080/"))
    assert answer == {"pod": plain_server.name, "peer": plain_client.ip,
                      "peerPort": answer["peerPort"], "path": "/"}
    after = agent.metrics()
    assert delta(before, after, OPENED) == 0, "non-meshed to non-meshed traffic was counted"

    # Toward a meshed pod only the destination side may take part: nothing is redirected
    # on the non-meshed client's side.
    answer = json.loads(plain_client.curl(f"http://{meshed_server.ip}:8080/"))
    assert answer["pod"] == meshed_server.name
    final = agent.metrics()
    assert delta(before, final, OPENED, reporter="source") == 0, final.text


def test_udp_from_a_meshed_pod_reaches_its_server_directly(cluster):
    node = cluster.add_node("node1")
    client = deployment_pods(node, "client", 1, "e2e")[0]
    dns = deployment_pods(node, "coredns", 1, "kube-system")[0]
    dns.start_server("udp", 53, cluster.workdir, cluster.cleanup)
    _publish_pods(cluster, [client, dns])
    agent = node.agent
    assert client.container_id in agent.pod_ids()
    # weft-cni leaves kube-system's pods unmeshed by default (excludeNamespaces, issue 21).
    assert dns.container_id not in agent.pod_ids()

    before = agent.metrics()
    for _ in range(5):
        reply = client.client("udp", dns.ip, 53)["reply"]
        assert reply["pod"] == dns.name and reply["peer"] == client.ip
    after = agent.metrics()
    assert delta(before, after, OPENED) == 0, after.text


def test_excluded_outbound_port_is_not_redirected(cluster):
    node = cluster.add_node("node1", agent_args=["--exclude-outbound-ports", "9999"])
    client = deployment_pods(node, "client", 1, "e2e")[0]
    server = deployment_pods(node, "plainsrv", 1, "e2e", meshed=False)[0]
    for port in (8080, 9999):
        server.start_server("http", port, cluster.workdir, cluster.cleanup)
    _publish_pods(cluster, [client, server])
    agent = node.agent

    # Control: the same client to a port that is not excluded is carried by the agent.
    before = agent.metrics()
    assert json.loads(client.curl(f"http://{server.ip}:8080/"))["peer"] == client.ip
    procs.wait_until(lambda: delta(before, agent.metrics(), OPENED, reporter="source") == 1,
                     5, what="the control connection to be counted")

    before = agent.metrics()
    for _ in range(3):
        answer = json.loads(client.curl(f"http://{server.ip}:9999/"))
        assert answer["peer"] == client.ip
    after = agent.metrics()
    assert delta(before, after, OPENED) == 0, after.text


def test_an_exclusion_annotation_over_the_limit_is_ignored_not_fatal(cluster):
    """The BPF maps hold 16 excluded ports per pod and direction. An annotation that would go
    over (with the node's own) is ignored with a warning; the pod stays meshed, also across a
    restart (it used to fail its re-mesh: the pod dropped out of the mesh)."""
    node = cluster.add_node("node1", agent_args=["--exclude-outbound-ports", "9999"])
    client = deployment_pods(node, "client", 1, "e2e")[0]
    server = deployment_pods(node, "plainsrv", 1, "e2e", meshed=False)[0]
    for port in (8080, 9999):
        server.start_server("http", port, cluster.workdir, cluster.cleanup)
    client_object = manifests.pod_object(client)
    client_object["metadata"].setdefault("annotations", {})[
        "weft.io/exclude-outbound-ports"] = ",".join(str(p) for p in range(7001, 7017))
    cluster.publish_and_wait("pods.json", [client_object, manifests.pod_object(server)])
    node.agent.restart()
    assert "pod.annotation_ignored" in node.agent.log() and "at most 16" in node.agent.log()
    assert client.container_id in node.agent.pod_ids(), "the pod was not meshed again"

    agent = node.agent
    before = agent.metrics()
    assert json.loads(client.curl(f"http://{server.ip}:8080/"))["peer"] == client.ip
    procs.wait_until(lambda: delta(before, agent.metrics(), OPENED, reporter="source") == 1,
                     5, what="the meshed client's connection counted by the agent")
    before = agent.metrics()
    assert json.loads(client.curl(f"http://{server.ip}:9999/"))["peer"] == client.ip
    assert delta(before, agent.metrics(), OPENED) == 0, "the node's own exclusion was lost"
