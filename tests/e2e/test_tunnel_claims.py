"""What a tunnel peer claims beyond its certificate is checked against discovery (issue 3):
the `forwarded` client address is believed only when that address's pod runs as the
certificate's identity, and `weft-service-address` names a Service on the destination's
metrics only when that Service has the stream's target as an endpoint. A peer with a valid
certificate gets its connection either way (authorization is by principal), but cannot put
another workload's or Service's name on the destination agent's metrics."""
import os

from weftsim import fake_peer, procs
from weftsim.cluster import publish_service
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, deployment_pods, two_nodes

OPENED = "weft_tcp_connections_opened_total"
ECHO_IP, OTHER_IP = "10.96.0.10", "10.96.0.11"


def _opened(agent, before, **labels):
    return delta(before, agent.metrics(), OPENED, reporter="destination", **labels)


def test_forwarded_and_service_claims_are_checked_against_discovery(cluster):
    n1, n2 = two_nodes(cluster)
    ns = "e2e"
    echo = deployment_pods(n2, "echo", 1, ns)[0]
    other = deployment_pods(n2, "other", 1, ns)[0]
    echo.start_server("echo", ECHO_PORT, cluster.workdir, cluster.cleanup)
    # The fake source agent runs in a non-meshed pod that discovery knows as SA "client".
    fake = deployment_pods(n1, "client", 1, ns, meshed=False)[0]
    ports = [("echo", ECHO_PORT, ECHO_PORT)]
    publish_service(cluster, "echo", ns, ECHO_IP, ports, [echo], extra_pods=[fake])
    publish_service(cluster, "other", ns, OTHER_IP, ports, [other])
    procs.wait_until(lambda: 15008 in echo.listening_ports(), 15,
                     what="the echo pod's :15008 listener")
    ca = cluster.mesh_ca
    cert = ca.workload(ns, "client", os.path.join(cluster.workdir, "peer-certs"))
    client_id = principal(ns, "client")

    def dial(headers):
        before = n2.agent.metrics()
        r = fake_peer.dial(fake, echo.ip, *cert, ca.trust_anchor,
                           connect=f"{echo.ip}:{ECHO_PORT}", send=1024, headers=headers)
        assert r["accepted"] and r["status"] == 200 and r["echoed"], r
        return before

    # Honest claims: its own address (the tunnel's source) and the Service it dialled.
    before = dial([("weft-service-address", f"{ECHO_IP}:{ECHO_PORT}")])
    procs.wait_until(lambda: _opened(n2.agent, before, source_principal=client_id,
                                     source_workload="client",
                                     destination_service=f"echo.{ns}.svc.cluster.local") == 1,
                     10, what="the honest stream labelled with the client workload and echo")

    # Forged: another workload's address and a Service that does not serve this pod.
    before = dial([("forwarded", f"for={echo.ip}"),
                   ("weft-service-address", f"{OTHER_IP}:{ECHO_PORT}")])
    procs.wait_until(lambda: _opened(n2.agent, before, source_principal=client_id) == 1, 10,
                     what="the forged stream counted under the certificate's principal")
    after = n2.agent.metrics()
    assert delta(before, after, OPENED, reporter="destination", source_workload="echo") == 0, \
        after.text
    assert delta(before, after, OPENED, reporter="destination",
                 destination_service=f"other.{ns}.svc.cluster.local") == 0, after.text
    assert delta(before, after, OPENED, reporter="destination", source_principal=client_id,
                 source_workload="", destination_service="") == 1, after.text
