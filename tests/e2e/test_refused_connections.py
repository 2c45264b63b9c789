"""A connection to a port nobody listens on fails as fast across nodes, and from outside the
mesh, as on one node (issue 19, item 8): the destination agent connects to the app from the
client's address, and the pod's kernel answers with a RST that, with fwmark_reflect, carries the
delivery mark and comes back to the agent at once; the agent passes the refusal on (the tunnel
stream's 502, then a reset to the client) instead of waiting out its connect timeout."""
from weftsim import manifests, procs
from weftsim.scenarios import deployment_pods, two_nodes

CLOSED_PORT = 7777        # nothing listens there
CONNECT_TIMEOUT_MS = 5000  # the agent's default, stated so the bound below means something
FAST = 1.0                 # seconds: far from the connect timeout


def test_a_closed_port_is_refused_at_once_on_every_path(cluster):
    args = ["--connect-timeout-ms", str(CONNECT_TIMEOUT_MS)]
    n1, n2 = two_nodes(cluster, agent_args=args)
    client = deployment_pods(n1, "client", 1, "e2e")[0]
    plain = deployment_pods(n1, "plain", 1, "e2e", meshed=False)[0]
    local = deployment_pods(n1, "local", 1, "e2e")[0]
    remote = deployment_pods(n2, "remote", 1, "e2e")[0]
    for pod in (local, remote):
        pod.start_server("echo", 9000, cluster.workdir, cluster.cleanup)
    cluster.publish_and_wait("pods.json", [manifests.pod_object(p)
                                           for p in (client, plain, local, remote)])
    # Controls: the open port answers on every path.
    for who, pod in (("meshed, same node", local), ("meshed, across nodes", remote),
                     ("unmeshed", remote)):
        caller = plain if who == "unmeshed" else client
        procs.wait_until(lambda: caller.client("echo", pod.ip, 9000)["ok"] == 1, 20,
                         what=f"{who}: the open port answering")

    for who, caller, pod in (("meshed, same node", client, local),
                             ("meshed, across nodes", client, remote),
                             ("unmeshed to a meshed pod", plain, remote)):
        result = caller.client("knock", pod.ip, CLOSED_PORT)
        print(f"{who}: {result}")
        # Refused is passed on as a reset, not as an empty answer and a clean end.
        assert result["received"] == "" and "ConnectionResetError" in (result["error"] or ""), \
            result
        assert result["seconds"] < FAST, \
            f"{who}: the refusal took {result['seconds']} s (connect timeout 5 s): {result}"
