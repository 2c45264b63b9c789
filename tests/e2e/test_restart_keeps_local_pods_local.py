"""A restarting agent serves its pods only once every one of them is back (issue 19, item 3):
it opens the listeners of all the pods in its state file before its workers take connections,
with one view of the node that holds them all, so a restored client never takes a same-node
backend that is not restored yet for another node's pod and dials its tunnel port. Under a
new connection every 20 ms to a Service of four same-node backends, a restart makes no
tunnel attempt to a local pod and no connection fails once the agent reports ready. Twenty
more pods, each with its own service account (a certificate to issue), make the restore take
long enough for the loop to land in it."""
import json
import os
import time

from weftsim import manifests, paths, procs
from weftsim.scenarios import ECHO_PORT, deployment_pods, echo_service

SECONDS = 8


def test_restart_never_tunnels_to_a_local_pod(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node, servers=4, modes=("http", "echo"))
    fillers = [deployment_pods(node, f"filler{i}", 1, "e2e")[0] for i in range(20)]
    cluster.publish_and_wait("fillers.json", [manifests.pod_object(p) for p in fillers])
    local_ips = {p.ip for p in sc.servers}
    began = time.time()
    churn = procs.Service(sc.client.exec_argv([
        paths.PYTHON, paths.POD_CLIENT, "churn", sc.cluster_ip, str(ECHO_PORT), "--interval-ms",
        "20", "--seconds", str(SECONDS)]), os.path.join(cluster.workdir, "churn.log"),
        "churn client", stdout_pipe=True)
    cluster.cleanup.push(f"stop {churn.name}", churn.stop)
    time.sleep(1.5)
    log_from = node.agent.log_size()
    node.agent.stop()
    node.agent.start()
    ready_at = time.time()  # the harness saw /ready at or after the agent reported it
    result = json.loads(churn.readline(timeout=SECONDS + 30))
    after_ready = [f for f in result["failures"] if f[0] > ready_at]
    print(f"{result['attempts']} connections, {result['ok']} ok, "
          f"{len(result['failures'])} failed, {len(after_ready)} after ready")
    assert ready_at < began + SECONDS - 2, "the restart took the whole run: nothing measured"
    assert after_ready == [], after_ready[:5]
    restarted = node.agent.log_since(log_from)
    to_local = [line for line in restarted.splitlines()
                if "tunnel.failed" in line and any(f"destination={ip} " in line
                                                  for ip in local_ips)]
    assert to_local == [], "\n".join(to_local[:5])
