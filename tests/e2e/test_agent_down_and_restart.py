"""No pod starts unmeshed while the agent is down; a restarted agent re-meshes registered pods
from its state file and pinned maps, without any CNI call."""
import json

import pytest

from weftsim import procs
from weftsim.cni_runtime import CniError
from weftsim.scenarios import echo_service


def test_add_fails_with_cni_error_while_the_agent_is_down(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node)
    assert node.agent.stop() == 0, f"agent did not exit cleanly on SIGTERM\n{node.agent.log()}"

    late = node.new_pod("late")
    with pytest.raises(CniError) as err:
        node.cni_add(late)
    result = err.value.result
    assert result.plugin == "weft-cni"
    assert result.returncode != 0
    error = result.json()
    assert error["code"] == 11, error
    assert error["msg"] and error["cniVersion"] == "1.0.0"

    # The runtime cleans a failed ADD up with DEL, which succeeds with the agent gone.
    assert node.cni_del(late) == []

    # After a restart, the same pods work without being added again.
    node.agent.start()
    registered = {sc.client.container_id} | {s.container_id for s in sc.servers}
    procs.wait_until(lambda: registered <= node.agent.pod_ids(), 10,
                     what="registered pods listed again after restart")
    assert late.container_id not in node.agent.pod_ids()
    seen = set()
    deadline_answers = procs.wait_until(
        lambda: sc.client.curl(sc.url, timeout=2), 15, what="service reachable after restart")
    seen.add(json.loads(deadline_answers)["pod"])
    for _ in range(20):
        answer = json.loads(sc.client.curl(sc.url))
        assert answer["peer"] == sc.client.ip
        seen.add(answer["pod"])
    assert seen == {s.name for s in sc.servers}
    # Counters restart with the process, so any count proves the traffic passes the agent.
    metrics = node.agent.metrics()
    assert metrics.sum("weft_requests_total", reporter="source", source_workload="client",
                       destination_workload="echo", response_code="200") >= 20

    # And ADD works again.
    again = node.add_pod("again")
    assert again.container_id in node.agent.pod_ids()
