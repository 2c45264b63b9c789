"""Transfers must not stall, and a stalled one must not stay (issue 19, item 7).

Many multi-MiB transfers at once through one pooled tunnel session all complete byte-exact in
both directions, with protocol detection (Service port without appProtocol) and without it
(appProtocol tcp), and leave nothing open in the agents. A connection whose bytes stop moving
both ways while the agent holds some of them (the app stopped reading) is reset after
--stall-timeout-seconds and counted; an idle one that holds nothing is left alone."""
import json

import pytest

from weftsim import manifests, paths, procs
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, command_service, deployment_pods, two_nodes

MIB = 1 << 20
DETECTED_PORT = ECHO_PORT   # no appProtocol: the first bytes are read for HTTP first
DECLARED_PORT = 9001        # appProtocol tcp: carried as TCP at once


def bulk(client, cluster_ip, port, connections, size, deadline):
    r = client.run([paths.PYTHON, paths.BULK_CLIENT, cluster_ip, str(port), "--connections",
                    str(connections), "--bytes", str(size), "--deadline", str(deadline)],
                   timeout=deadline + 120)
    return json.loads(r.stdout)


@pytest.fixture
def across_nodes(cluster):
    """A client on node1; one echo server on node2 behind a Service with two ports, one
    detected and one declared tcp: every transfer shares the tunnel sessions to that pod."""
    n1, n2 = two_nodes(cluster)
    client = deployment_pods(n1, "client", 1, "e2e")[0]
    server = deployment_pods(n2, "echo", 1, "e2e")[0]
    server.start_server("echo", ECHO_PORT, cluster.workdir, cluster.cleanup)
    objs = [manifests.service("echo", "e2e", "10.96.0.10", [("echo", DETECTED_PORT, ECHO_PORT),
                                                            ("raw", DECLARED_PORT, ECHO_PORT)]),
            manifests.endpoint_slice("echo", "e2e", [server], [("echo", ECHO_PORT),
                                                               ("raw", ECHO_PORT)]),
            manifests.pod_object(server), manifests.pod_object(client)]
    objs[0]["spec"]["ports"][1]["appProtocol"] = "tcp"
    cluster.publish_and_wait("echo.json", objs)
    procs.wait_until(lambda: bulk(client, "10.96.0.10", DECLARED_PORT, 1, 1, 5)["ok"] == 1, 20,
                     what="the echo Service answering across nodes")
    return n1, n2, client


def fds(agent):
    return len(procs.run(["ls", f"/proc/{agent.pid}/fd"]).stdout.split())


@pytest.mark.parametrize("port", [DETECTED_PORT, DECLARED_PORT], ids=["detected", "declared"])
def test_parallel_multi_mib_transfers_across_nodes_all_complete(cluster, across_nodes, port):
    n1, n2, client = across_nodes
    before = fds(n1.agent), fds(n2.agent)
    for connections, size in ((200, 1 * MIB), (50, 4 * MIB)):
        result = bulk(client, "10.96.0.10", port, connections, size, deadline=90)
        print(f"{connections} x {size // MIB} MiB echoed on port {port}: {result}")
        assert result["hung"] == 0 and result["failed"] == 0 and \
            result["ok"] == connections, result
    # Nothing of the finished transfers stays open in either agent.
    procs.wait_until(lambda: fds(n1.agent) <= before[0] + 4 and fds(n2.agent) <= before[1] + 4,
                     30, what=f"both agents back to their fds before the transfers {before}")


HOLD_PORT = 9200
STALL_TIMEOUT = 3


def pod_server(mode, port):
    return lambda pod, i: [paths.PYTHON, paths.POD_SERVER, "--mode", mode, "--port", str(port),
                           "--name", pod.name]


def accepted(server_pod, port):
    return "accept " in server_pod.servers[port].log()


def test_a_connection_whose_bytes_stop_moving_is_reset_and_counted(cluster):
    n1, n2 = two_nodes(cluster, agent_args=["--stall-timeout-seconds", str(STALL_TIMEOUT)])
    # The same client reaches a server that never reads on its own node and on the other one,
    # and an echo server on the other node that it leaves idle for longer than the timeout.
    remote = command_service(cluster, n1, "held", pod_server("hold", HOLD_PORT), HOLD_PORT,
                             HOLD_PORT, replicas=1, server_node=n2, cluster_ip="10.96.0.30")
    client = remote.client
    local = command_service(cluster, n1, "held-local", pod_server("hold", HOLD_PORT), HOLD_PORT,
                            HOLD_PORT, replicas=1, cluster_ip="10.96.0.31", client=client)
    idle = command_service(cluster, n1, "idle-echo", pod_server("echo", ECHO_PORT), ECHO_PORT,
                           ECHO_PORT, replicas=1, server_node=n2, cluster_ip="10.96.0.32",
                           client=client)
    for sc in (remote, local):
        procs.wait_until(lambda: client.client("push", sc.cluster_ip, HOLD_PORT, "--bytes", 1)
                         and accepted(sc.servers[0], HOLD_PORT), 20,
                         what=f"{sc.name} reached through the agent")
    procs.wait_until(lambda: client.client("echo", idle.cluster_ip, ECHO_PORT)["ok"] == 1, 20,
                     what="idle-echo reached through the agent")
    before = [n.agent.metrics() for n in (n1, n2)]

    pause = STALL_TIMEOUT * 3
    quiet = procs.Service(client.exec_argv([
        paths.PYTHON, paths.POD_CLIENT, "echo", idle.cluster_ip, str(ECHO_PORT), "--pause",
        str(pause)]), f"{cluster.workdir}/idle-echo-client.log", "idle echo client",
        stdout_pipe=True)
    cluster.cleanup.push(f"stop {quiet.name}", quiet.stop)
    for sc, where in ((local, "same node"), (remote, "across nodes")):
        result = client.client("push", sc.cluster_ip, HOLD_PORT, "--bytes", 1 << 30, timeout=90)
        print(f"{where}: pushing to a server that never reads: {result}")
        # The client's send fails once the agent gives up: reset, not hung until its own
        # timeout, and long before 1 GiB fitted in the buffers.
        assert result["error"] is not None and "timed out" not in result["error"], result
        assert result["sent"] < 1 << 30, result
        assert result["seconds"] < STALL_TIMEOUT + 30, result
        # Counted by the agent that held the bytes: across nodes usually the destination's,
        # whose reset then reaches the source as RST_STREAM.
        procs.wait_until(lambda: sum(n.agent.metrics().sum(
            "weft_tcp_connections_stalled_total", destination_workload=sc.name)
            for n in (n1, n2)) >= 1, 10, what=f"the {where} stall counted")
    echoed = json.loads(quiet.readline(timeout=pause + 30))
    assert echoed["ok"] == 1 and echoed["failed"] == 0, \
        f"an idle connection holding nothing must outlive the stall timeout: {echoed}"
    for n, earlier in zip((n1, n2), before):
        assert delta(earlier, n.agent.metrics(), "weft_tcp_connections_stalled_total",
                     destination_workload="idle-echo") == 0
    assert "flow.stalled" in n1.agent.log()
