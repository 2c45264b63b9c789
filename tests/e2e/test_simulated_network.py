"""The harness's own network, without weft: nodes, pods wired by the real bridge/host-local/
loopback plugins, node-to-node routing and the pod servers all work, so a failure in the other
tests points at weft, not at the topology."""
import json

from weftsim.scenarios import deployment_pods


def test_pods_on_two_nodes_reach_each_other_through_the_cni_bridge(bare_cluster):
    n1 = bare_cluster.add_node("node1", with_agent=False)
    n2 = bare_cluster.add_node("node2", with_agent=False)
    bare_cluster.link(n1, n2)
    client = deployment_pods(n1, "client", 1, "e2e", meshed=False)[0]
    local, remote = (deployment_pods(n, "srv", 1, "e2e", meshed=False)[0] for n in (n1, n2))

    assert client.ip.startswith("10.77.1.") and remote.ip.startswith("10.77.2.")
    assert client.cni_result["cniVersion"] == "1.0.0"
    assert {"lo", "eth0"} <= set(client.run(["ls", "/sys/class/net"]).stdout.split())
    for server in (local, remote):
        server.start_server("http", 8080, bare_cluster.workdir, bare_cluster.cleanup)
        server.start_server("udp", 53, bare_cluster.workdir, bare_cluster.cleanup)
        server.start_server("sha", 9100, bare_cluster.workdir, bare_cluster.cleanup)
        answer = json.loads(client.curl(f"http://{server.ip}:8080/"))
        assert answer == {"pod": server.name, "peer": client.ip,
                          "peerPort": answer["peerPort"], "path": "/"}
        assert client.client("udp", server.ip, 53)["reply"]["peer"] == client.ip
        sha = client.client("sha", server.ip, 9100, "--bytes", 8 << 20)
        assert sha["reply"] == f"{sha['sentSha256']} {8 << 20}"


def test_cni_check_and_del_follow_the_runtime_contract(bare_cluster):
    node = bare_cluster.add_node("node1", with_agent=False)
    pod = node.add_pod("p", meshed=False)
    node.cni.check(node.conflist(meshed=False), pod.ref)
    assert node.cni_del(pod) == []
    assert "eth0" not in pod.run(["ls", "/sys/class/net"]).stdout.split()
    # DEL is idempotent, as runtimes retry it.
    assert node.cni_del(pod) == []
