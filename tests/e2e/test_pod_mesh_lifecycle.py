"""ADD meshes a pod, DEL unmeshes it, CHECK tells meshed from unknown pods."""
import json

import pytest

from weftsim import manifests, procs
from weftsim.cni_runtime import CniError
from weftsim.metrics import delta
from weftsim.netns import path as netns_path
from weftsim.scenarios import deployment_pods

OPENED = "weft_tcp_connections_opened_total"
OUTBOUND_PORT = 15001
INBOUND_PORT = 15006
TUNNEL_PORT = 15008  # mTLS from other nodes' agents (issue 3)


def _listed(agent, pod):
    return [p for p in agent.pods() if p["containerId"] == pod.container_id]


def test_add_meshes_the_pod_and_del_unmeshes_it(cluster):
    node = cluster.add_node("node1")
    agent = node.agent
    server = deployment_pods(node, "web", 1, "e2e", meshed=False)[0]
    server.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    client = deployment_pods(node, "client", 1, "e2e")[0]
    cluster.publish("pods.json", [manifests.pod_object(p) for p in (client, server)])

    # ADD: listed with what CNI_ARGS and the bridge's result said.
    entry = procs.wait_until(lambda: _listed(agent, client), 5, what="client in /pods")[0]
    assert entry["name"] == client.name
    assert entry["namespace"] == "e2e"
    assert entry["netns"] == netns_path(client.netns)
    assert any(ip.split("/")[0] == client.ip for ip in entry["ips"])
    assert not _listed(agent, server), "a pod added without weft-cni must not be meshed"
    # The agent's listeners live inside the pod.
    assert {OUTBOUND_PORT, INBOUND_PORT, TUNNEL_PORT} <= client.listening_ports()

    # Redirected: the connection to the plain server's pod IP is carried and counted by the
    # agent, and the server still sees the client pod's address.
    before = agent.metrics()
    answer = json.loads(client.curl(f"http://{server.ip}:8080/"))
    assert answer["pod"] == server.name and answer["peer"] == client.ip
    procs.wait_until(lambda: delta(before, agent.metrics(), OPENED, reporter="source",
                                   source_workload="client") == 1,
                     5, what="one outbound connection counted for the client")

    # DEL through the whole chain (what the runtime does when the sandbox goes away).
    assert node.cni_del(client) == []
    assert not _listed(agent, client)
    procs.wait_until(lambda: not ({OUTBOUND_PORT, INBOUND_PORT, TUNNEL_PORT}
                                  & client.listening_ports()),
                     5, what="the agent's in-pod listeners to close")

    # Give the same netns a network again without weft-cni: its traffic no longer passes
    # the agent (had the redirect stayed, the connect would hit a closed 15001).
    client.meshed = False
    node.cni_add(client)
    before = agent.metrics()
    answer = json.loads(client.curl(f"http://{server.ip}:8080/"))
    assert answer["peer"] == client.ip
    after = agent.metrics()
    assert delta(before, after, OPENED) == 0, after.text


def test_check_passes_for_a_meshed_pod_and_fails_for_an_unknown_one(cluster):
    node = cluster.add_node("node1")
    meshed = node.add_pod("meshed-pod")
    node.cni.check(node.conflist(meshed=True), meshed.ref)

    # A sandbox the agent never heard of (added without weft-cni), checked with the weft
    # chain and the result the runtime cached.
    stranger = node.add_pod("stranger", meshed=False)
    node.cni.cache_result(node.conflist(meshed=True), stranger.ref, stranger.cni_result)
    with pytest.raises(CniError) as err:
        node.cni.check(node.conflist(meshed=True), stranger.ref)
    result = err.value.result
    assert result.plugin == "weft-cni"
    assert result.returncode != 0
    error = result.json()
    assert isinstance(error["code"], int) and error["code"] > 0
    assert error["msg"]
    assert error["cniVersion"] == "1.0.0"
