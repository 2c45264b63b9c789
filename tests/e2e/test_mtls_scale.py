"""Volume through the tunnel (issue 3): 1 GiB across nodes arrives byte-exact, and 200
parallel connections from one pod to the remote Service all work while sharing a handful of
pooled TLS sessions (sessions are pooled per source identity, destination pod and worker)."""
import json
import os

from weftsim import paths, procs
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, SHA_PORT, echo_service, two_nodes, \
    wait_for_sha_service

GIB = 1 << 30
PARALLEL = 200
# 2 endpoints x 2 workers (the agent's default on this 2-core machine): at most one session
# per (worker, destination pod).
MAX_SESSIONS = 4
MTLS = {"source_workload": "client", "destination_workload": "echo",
        "connection_security_policy": "mutual_tls"}


def test_one_gib_across_nodes_arrives_byte_exact(cluster):
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("sha",), wait=False)
    wait_for_sha_service(sc)
    before1, before2 = n1.agent.metrics(), n2.agent.metrics()

    result = sc.client.client("sha", sc.cluster_ip, SHA_PORT, "--bytes", GIB, timeout=300)
    assert result["reply"] == f"{result['sentSha256']} {GIB}", result

    # weft_tcp_sent_bytes_total counts source -> destination on both reporters. The 1-byte
    # readiness probe may be counted after `before` was read: allow exactly that byte.
    def counted():
        m1, m2 = n1.agent.metrics(), n2.agent.metrics()
        return (GIB <= delta(before1, m1, "weft_tcp_sent_bytes_total", reporter="source",
                             **MTLS) <= GIB + 1
                and GIB <= delta(before2, m2, "weft_tcp_sent_bytes_total",
                                 reporter="destination", **MTLS) <= GIB + 1)
    procs.wait_until(counted, 10, what="1 GiB counted as mutual_tls by both agents")
    print(f"1 GiB across nodes through the tunnel in {result['seconds']} s")


def test_200_parallel_connections_share_a_handful_of_tunnel_sessions(cluster):
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("http", "echo"),
                      wait=False)
    before = n1.agent.metrics()
    procs.wait_until(lambda: sc.client.curl(sc.url, timeout=2), 15, what="the Service reachable")

    release = os.path.join(cluster.workdir, "release-parallel")
    client = procs.Service(sc.client.exec_argv([
        paths.PYTHON, paths.PARALLEL_CLIENT, sc.cluster_ip, str(ECHO_PORT), "--connections",
        str(PARALLEL), "--release-file", release]),
        os.path.join(cluster.workdir, "parallel-client.log"), "parallel client",
        stdout_pipe=True)
    cluster.cleanup.push(f"stop {client.name}", client.stop)
    holding = client.readline(timeout=120)
    assert holding == f"holding {PARALLEL}", f"{holding}\n{client.log()}"

    # While all 200 are open: the agent's TLS connections leave from inside the client
    # pod's netns, so they are the pod's established TCP connections to :15008.
    ss = sc.client.run(["ss", "-Htn", "state", "established", "( dport = :15008 )"]).stdout
    tunnels = [line for line in ss.splitlines() if line.strip()]
    gauge = n1.agent.metrics().sum("weft_tunnel_sessions", role="client")
    with open(release, "w"):
        pass
    result = json.loads(client.readline(timeout=120))
    client.proc.wait(timeout=30)
    assert result == {"opened": PARALLEL, "ok": PARALLEL, "failed": 0, "errors": []}, result

    after = n1.agent.metrics()
    opened = delta(before, after, "weft_tunnel_sessions_opened_total", role="client")
    flows = delta(before, after, "weft_tcp_connections_opened_total", reporter="source", **MTLS)
    print(f"{PARALLEL} connections: {len(tunnels)} established TCP connections to :15008 in "
          f"the client pod, weft_tunnel_sessions{{role=client}}={gauge}, "
          f"{opened} client sessions opened, {flows} mutual_tls flows")
    # The readiness curl is HTTP: a request, not a TCP flow.
    assert flows >= PARALLEL, after.text
    assert 1 <= len(tunnels) <= MAX_SESSIONS, ss
    assert 1 <= gauge <= MAX_SESSIONS, after.text
    assert 1 <= opened <= MAX_SESSIONS, after.text
