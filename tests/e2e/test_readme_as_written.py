"""The README's instructions work as written (issue 19, item 4).

- Its example CNI chain (the ```json block of "CNI chain"), run by the CNI runtime on two
  nodes, gives pods a default route: a meshed client reaches a Service whose pod is on the
  other node (through the tunnel, which the agent dials from inside the client pod). What the
  test changes, only what a second node and a shared test machine need: each node's subnet
  (10.244.<node>.0/24, as the README's 10.244.1.0/24 for the first), the agent's socket path
  and host-local's dataDir (so no file lands in /var/lib/cni).
- An agent started with `ip netns exec`, which runs it in a private mount namespace with /sys
  mounted afresh, refuses at start with a message naming nsenter, before it mounts anything.
"""
import copy
import ipaddress
import json
import os
import re
import types

from weftsim import paths, procs
from weftsim.cluster import publish_service
from weftsim.scenarios import SERVICE_PORTS, deployment_pods, wait_for_service

README = os.path.join(paths.REPO_ROOT, "README.md")


def readme_conflist():
    """The JSON block that follows the README's "CNI chain" step."""
    with open(README) as f:
        text = f.read()
    step = text.index("**CNI chain**")
    block = re.search(r"```json\n(.*?)```", text[step:], re.S)
    assert block, "no ```json block after the README's CNI chain step"
    return json.loads(block.group(1))


def as_node(conflist, node, index):
    """The README's conflist for node `index` (see the module docstring for what changes)."""
    conf = copy.deepcopy(conflist)
    primary, weft = conf["plugins"][0], conf["plugins"][-1]
    assert weft["type"] == "weft-cni", conf
    subnet = f"10.244.{index}.0/24"
    primary["ipam"]["ranges"] = [[{"subnet": subnet}]]
    primary["ipam"]["dataDir"] = node.ipam_dir
    weft["agentSocket"] = node.agent.socket
    node.pod_cidr = ipaddress.ip_network(subnet)
    return conf


def test_the_readme_cni_chain_carries_traffic_across_nodes(cluster):
    written = readme_conflist()
    assert written["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24"}]], \
        "the README's example changed: update this test's substitutions"
    n1 = cluster.add_node("node1")
    n2 = cluster.add_node("node2")
    for index, node in ((1, n1), (2, n2)):
        meshed = as_node(written, node, index)
        plain = copy.deepcopy(meshed)
        plain["plugins"] = plain["plugins"][:-1]
        node.conflist = (lambda m, p: lambda meshed=True: m if meshed else p)(meshed, plain)
    cluster.link(n1, n2)
    client = deployment_pods(n1, "client", 1, "e2e")[0]
    server = deployment_pods(n2, "echo", 1, "e2e")[0]
    assert ipaddress.ip_address(client.ip) in n1.pod_cidr, client.ip
    routes = client.run(["ip", "-j", "route"]).stdout
    assert any(r.get("dst") == "default" for r in json.loads(routes)), \
        f"the README's chain gave the pod no default route: {routes}"
    server.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    publish_service(cluster, "echo", "e2e", "10.96.0.10", SERVICE_PORTS, [server],
                    extra_pods=[client])
    across = types.SimpleNamespace(client=client, url="http://10.96.0.10/")
    wait_for_service(across)
    answer = json.loads(client.curl(across.url))
    assert answer["pod"] == server.name and answer["peer"] == client.ip, answer
    # It went through the tunnel: mutual TLS on both agents.
    assert n1.agent.metrics().sum("weft_requests_total", reporter="source",
                                  connection_security_policy="mutual_tls") >= 1


def test_an_agent_under_ip_netns_exec_refuses_before_mounting_anything(cluster):
    node = cluster.add_node("node1", with_agent=False)
    bpffs = f"/sys/fs/bpf/{node.netns}-ipnetns"
    argv = ["ip", "netns", "exec", node.netns, cluster.build.agent, "--node-name", "node1",
            "--bpffs-dir", bpffs, "--state-file", os.path.join(node.workdir, "state.json"),
            "--registration-socket", os.path.join(node.workdir, "cni.sock"),
            "--manifests-dir", node.workdir, "--admin-address", "127.0.0.1:15020"]
    for name, value in cluster.mesh_ca.agent_settings():
        argv += [f"--{name}", value]
    r = procs.run(argv, check=False, timeout=30)
    out = r.stdout + r.stderr
    print(out)
    assert r.returncode != 0, out
    assert "agent.start_failed" in out and "nsenter --net=" in out and "ip netns exec" in out, out
    assert "bpffs_mounted" not in out and "bpf_link_attached" not in out, out
    assert not os.path.exists(bpffs)
