"""Issue 22: while agents hand a node over, pods keep being added and deleted through the CNI
chain. Every ADD and DEL reaches exactly one agent (the predecessor answers what it had queued
before the successor took the registration socket, the successor the rest), so at the end the
node's agent meshes exactly the pods that exist: each once, with one listener per worker on
each port, in the state file and in the pinned weft_pods map, and a deleted pod has no
listener left."""
import json
import threading

from weftsim import procs, rollout

def pinned_pod_count(agent):
    r = procs.run(["bpftool", "-j", "map", "dump", "pinned", f"{agent.bpffs_dir}/weft_pods"])
    return len(json.loads(r.stdout))


def test_pods_added_and_deleted_during_hand_overs_are_meshed_exactly_once(cluster):
    node = cluster.add_node("node1")
    first = node.add_pod("first")
    first.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    per_address = rollout.agent_listeners(first)
    # One socket per worker in each SO_REUSEPORT group, the same number on every address.
    assert min(per_address.values()) >= 1 and len(set(per_address.values())) == 1, per_address

    live, deleted, errors = [first], [], []
    stop = threading.Event()

    def churn():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                live.append(node.add_pod(f"churn-{i}"))
                if i % 3 == 0:
                    victim = live.pop(1)
                    failures = node.cni_del(victim)
                    if failures:
                        errors.append(f"DEL {victim.name}: {failures}")
                    deleted.append(victim)
            except Exception as e:  # noqa: BLE001 - every failed ADD/DEL is the finding
                errors.append(f"churn-{i}: {e!r}")

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        hand_overs = [node.agent.hand_over() for _ in range(3)]
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not errors, errors
    assert all(h.status == 0 for h in hand_overs), hand_overs
    assert len(live) + len(deleted) >= 6, "too few pods came and went during the hand-overs"

    listed = [p["containerId"] for p in node.agent.pods()]
    assert len(listed) == len(set(listed)), listed
    expected = {p.container_id for p in live}
    assert set(listed) == expected
    with open(node.agent.state_file) as f:
        saved = [json.loads(line)["containerId"] for line in f if line.strip()]
    assert sorted(saved) == sorted(expected)
    assert pinned_pod_count(node.agent) == len(expected)
    for pod in live:
        assert rollout.agent_listeners(pod) == per_address, pod
    for pod in deleted:
        assert set(rollout.agent_listeners(pod).values()) == {0}, pod
    assert node.agent.metrics().sum("weft_meshed_pods") == len(expected)
    # Meshed, not just listed: a connect from the last pod added is redirected to the agent,
    # which carries it to the first pod.
    before = node.agent.metrics().sum("weft_redirect_events_total", reason="connect_redirected")
    answer = json.loads(live[-1].curl(f"http://{first.ip}:8080/"))
    assert answer["pod"] == first.name
    after = node.agent.metrics().sum("weft_redirect_events_total", reason="connect_redirected")
    assert after > before
