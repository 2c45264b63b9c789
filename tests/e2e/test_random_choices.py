"""The agents' random choices are not synchronised (issue 19, item 2): each worker seeds its
generator from getrandom(), so a restarted agent (like every other agent) draws another
sequence of route weights, endpoint picks and jitter; --random-seed makes the choices repeat,
for tests that need that.

The sequence is read where the draws show most directly: one worker (--workers 1) and a 50/50
HTTPRoute split between two one-replica Services, so each request on one keep-alive connection
is one draw, and the pod that answers it says which way the draw went."""
from weftsim import manifests as m
from weftsim.scenarios import ServiceSpec, http_app_services

REQUESTS = 64


def routed_sequence(fleet, url):
    """REQUESTS GETs on one connection; the Service that answered each, in order."""
    r = fleet.client.run(["curl", "-sS", "--fail", "--max-time", "10"] + [url] * REQUESTS,
                         timeout=60)
    answers = [line for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == REQUESTS, r.stdout
    return "".join("a" if '"web-a-' in line else "b" for line in answers)


def test_restarts_choose_differently_unless_seeded(cluster):
    node = cluster.add_node("node1", agent_args=["--workers", "1"])
    fleet = http_app_services(cluster, node, [ServiceSpec("web", "10.96.0.30", replicas=1),
                                              ServiceSpec("web-a", "10.96.0.31", replicas=1),
                                              ServiceSpec("web-b", "10.96.0.32", replicas=1)])
    route = m.http_route("web-split", "e2e", [m.service_parent("web", 80)], [
        m.route_rule(backends=[m.backend("web-a", 80, 50), m.backend("web-b", 80, 50)])])
    cluster.publish_and_wait("route.json", [route])
    url = f"http://{fleet['web'].address}/"

    # Each sequence is read right after a start: the first requests are the first draws.
    node.agent.restart()
    first = routed_sequence(fleet, url)
    node.agent.restart()
    second = routed_sequence(fleet, url)
    print(f"unseeded: {first}\n          {second}")
    assert "a" in first and "b" in first, f"the 50/50 split sent everything one way: {first}"
    assert first != second, "two starts of the agent made the same 64 choices"

    # Control: with a seed, two starts make the same choices, so the sequence is the draws.
    node.agent.extra_args += ["--random-seed", "7"]
    node.agent.restart()
    seeded = routed_sequence(fleet, url)
    node.agent.restart()
    again = routed_sequence(fleet, url)
    print(f"seeded:   {seeded}\n          {again}")
    assert seeded == again
