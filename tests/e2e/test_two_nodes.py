"""Two simulated nodes on one kernel, each with its own agent, do not interfere; a client on
one node reaches a Service whose endpoints are on the other."""
import json

from weftsim import manifests, procs
from weftsim.metrics import delta
from weftsim.scenarios import deployment_pods, echo_service

# curl speaks HTTP: the agents count its requests (HTTP is not counted as TCP flows).
REQUESTS = "weft_requests_total"


def test_two_agents_mesh_only_their_own_pods_and_carry_cross_node_traffic(cluster):
    n1 = cluster.add_node("node1")
    n2 = cluster.add_node("node2")
    cluster.link(n1, n2)
    sc = echo_service(cluster, client_node=n1, server_node=n2)
    local_client = deployment_pods(n2, "neighbour", 1, sc.namespace)[0]
    cluster.publish("neighbour.json", [manifests.pod_object(local_client)])

    # Each agent lists exactly the pods of its node.
    assert n1.agent.pod_ids() == {sc.client.container_id}
    assert n2.agent.pod_ids() == {s.container_id for s in sc.servers} | {
        local_client.container_id}

    before1, before2 = n1.agent.metrics(), n2.agent.metrics()
    seen = set()
    for _ in range(20):
        answer = json.loads(sc.client.curl(sc.url))
        seen.add(answer["pod"])
    assert seen == {s.name for s in sc.servers}

    def counted():
        m1, m2 = n1.agent.metrics(), n2.agent.metrics()
        src = delta(before1, m1, REQUESTS, reporter="source", source_workload="client",
                    destination_service=sc.service_host, destination_workload="echo")
        dst = delta(before2, m2, REQUESTS, reporter="destination", source_workload="client",
                    destination_workload="echo",
                    destination_principal=manifests.principal(sc.namespace, "echo"))
        return (src, dst) == (20, 20)
    procs.wait_until(counted, 10, what="20 requests reported by node1 (source) and "
                                       "node2 (destination)")

    # A flow local to node2 shows only on node2.
    mid1, mid2 = n1.agent.metrics(), n2.agent.metrics()
    procs.wait_until(lambda: local_client.curl(sc.url, timeout=2), 10,
                     what="node2's own client reaching the Service")
    for _ in range(10):
        assert json.loads(local_client.curl(sc.url))["peer"] == local_client.ip
    end1 = n1.agent.metrics()
    procs.wait_until(lambda: delta(mid2, n2.agent.metrics(), REQUESTS, reporter="source",
                                   source_workload="neighbour") >= 10, 10,
                     what="node2 counting its own client's requests")
    assert not end1.series(REQUESTS, source_workload="neighbour"), end1.text
    assert delta(mid1, end1, REQUESTS) == 0, "node1 counted traffic it never carried"
    assert not n2.agent.metrics().series(REQUESTS, reporter="source", source_workload="client")
