"""File descriptors (issue 19, item 9): the agent raises its soft RLIMIT_NOFILE to the hard limit
at start and logs both; when it runs out anyway, a CNI ADD fails with "Too many open files" (not
a misleading error from whatever call ran out), connections wait in the listen queue instead of
spinning the worker, every refusal is counted in weft_fd_exhaustion_total{operation}, and the
agent recovers once descriptors are free again."""
import json

from weftsim import paths, procs
from weftsim.cni_runtime import CniError
from weftsim.scenarios import ECHO_PORT, echo_service

SOFT, HARD = 64, 160


def max_open_files(pid):
    with open(f"/proc/{pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max open files"))
    return [int(x) for x in line.split()[3:5]]


def test_fd_limit_raised_and_exhaustion_named_counted_and_survived(cluster):
    node = cluster.add_node("node1", agent_exec_prefix=["prlimit", f"--nofile={SOFT}:{HARD}",
                                                        "--"])
    assert max_open_files(node.agent.pid) == [HARD, HARD]
    assert f"agent.fd_limit soft={HARD} hard={HARD} was={SOFT}" in node.agent.log()
    metrics = node.agent.metrics()
    assert metrics.sum("process_max_fds") == HARD
    assert 0 < metrics.sum("process_open_fds") < HARD

    sc = echo_service(cluster, node, servers=1, modes=("http", "echo"))
    # Pods until an ADD fails: each costs the agent its listeners (README, Limits).
    error = None
    for i in range(40):
        try:
            node.add_pod(f"filler-{i}")
        except CniError as e:
            error = e.result.json()
            break
    assert error is not None, "40 more pods fitted in 160 descriptors"
    print(f"ADD refused after {i} filler pods: {error}")
    reason = error.get("details", "")
    assert "Too many open files" in reason and "RLIMIT_NOFILE" in reason, error
    exhausted = node.agent.metrics()
    assert exhausted.sum("weft_fd_exhaustion_total", operation="pod_mesh") >= 1, exhausted.text

    # Connections beyond the descriptors left (each same-node flow costs two): those the
    # agent cannot accept wait in the listen queue and are served as others close; none hangs.
    r = sc.client.run([paths.PYTHON, paths.BULK_CLIENT, sc.cluster_ip, str(ECHO_PORT),
                       "--connections", "120", "--bytes", "1024", "--deadline", "60"], timeout=180)
    result = json.loads(r.stdout)
    print(f"120 connections at once: {result}")
    assert result["hung"] == 0 and result["ok"] + result["failed"] == 120, result
    after = node.agent.metrics()
    assert after.sum("weft_fd_exhaustion_total", operation="accept") + \
        after.sum("weft_fd_exhaustion_total", operation="upstream") >= 1, after.text
    # One warning per worker per second at most, not one per failed accept.
    warnings = node.agent.log(tail_bytes=10**7).count("worker.out_of_fds")
    assert warnings <= 2 * (result["seconds"] + 2), f"{warnings} out_of_fds lines"

    # Descriptors free again: the agent serves new connections and meshes new pods.
    procs.wait_until(lambda: sc.client.curl(sc.url, timeout=2), 20,
                     what="the Service reachable once the connections closed")
    for pod in node.pods[-5:]:
        node.cni_del(pod)
    node.add_pod("after")
