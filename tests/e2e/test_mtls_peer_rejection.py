"""Tunnel peers that must be rejected (issue 3): a client with a certificate from another trust
anchor or an expired one from the real issuer fails the handshake at a meshed pod's :15008
(counted role=server reason=verify); a server that discovery says runs as SA "echo" but
presents a valid certificate for SA "impostor" is refused by the dialling agent (counted
role=client reason=identity_mismatch). Controls: the same fake peers with correct
certificates get through to data."""
import os

from weftsim import certs, fake_peer, manifests, procs
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, deployment_pods, two_nodes

FAILURES = "weft_tls_handshake_failures_total"
SEND = 4096


def _wait_delta(agent, before, name, want, **labels):
    def reached():
        return delta(before, agent.metrics(), name, **labels) >= want
    try:
        procs.wait_until(reached, 10, what=f"{name}{labels} to grow by {want}")
    except TimeoutError as e:
        text = "\n".join(line for line in agent.metrics().text.splitlines()
                         if line.startswith("weft_tls_"))
        raise AssertionError(f"{e}\n{text}") from None


def test_server_side_rejects_foreign_anchor_and_expired_client_certificates(cluster):
    n1, n2 = two_nodes(cluster)
    ns = "e2e"
    echo = deployment_pods(n2, "echo", 1, ns)[0]
    echo.start_server("echo", ECHO_PORT, cluster.workdir, cluster.cleanup)
    # The fake client runs in a non-meshed pod (its traffic is not redirected); discovery
    # knows it as SA "prober".
    prober = deployment_pods(n1, "prober", 1, ns, meshed=False)[0]
    cluster.publish("pods.json", [manifests.pod_object(p) for p in (echo, prober)])
    procs.wait_until(lambda: 15008 in echo.listening_ports(), 15,
                     what="the echo pod's :15008 listener")

    ca = cluster.mesh_ca
    cert_dir = os.path.join(cluster.workdir, "peer-certs")
    good = ca.workload(ns, "prober", cert_dir)
    expired = ca.workload(ns, "prober", cert_dir, expired=True)
    foreign_ca = certs.new_ca("not the mesh's anchor")
    foreign = certs.new_workload(foreign_ca, principal(ns, "prober")).write(cert_dir, "foreign")
    authority = f"{echo.ip}:{ECHO_PORT}"

    # Control: a correct certificate gets through the handshake, the CONNECT and the echo,
    # and the agent presented the echo pod's identity.
    ok = fake_peer.dial(prober, echo.ip, *good, ca.trust_anchor, connect=authority, send=SEND)
    assert ok["accepted"] and ok["status"] == 200 and ok["echoed"], ok
    assert ok["version"] == "TLSv1.3" and ok["alpn"] == "h2", ok
    assert ok["peerUri"] == principal(ns, "echo"), ok

    for label, (crt, key) in (("foreign anchor", foreign), ("expired", expired)):
        before = n2.agent.metrics()
        r = fake_peer.dial(prober, echo.ip, crt, key, ca.trust_anchor, connect=authority,
                           send=SEND)
        assert not r["accepted"] and r["status"] is None and r["received"] == 0, (label, r)
        _wait_delta(n2.agent, before, FAILURES, 1, role="server", reason="verify")
        after = n2.agent.metrics()
        assert delta(before, after, "weft_tls_handshakes_total", role="server") == 0, \
            f"{label}: a handshake was counted as successful"
        assert delta(before, after, "weft_tunnel_sessions_opened_total", role="server") == 0


def test_client_side_refuses_a_server_with_the_wrong_identity(cluster):
    n1, n2 = two_nodes(cluster)
    ns = "e2e"
    client = deployment_pods(n1, "client", 1, ns)[0]
    # A non-meshed pod whose published Pod object says: SA "echo", redirection enabled.
    # Its :15008 is our fake server, not an agent.
    fake = n2.add_pod("echo-fake", namespace=ns, service_account="echo", deployment="echo",
                      meshed=False)
    cluster.publish("pods.json", [manifests.pod_object(client),
                                  manifests.pod_object(fake, redirection=True)])
    ca = cluster.mesh_ca
    cert_dir = os.path.join(cluster.workdir, "peer-certs")
    impostor = ca.workload(ns, "impostor", cert_dir)
    right = ca.workload(ns, "echo", cert_dir)
    procs.wait_until(lambda: 15001 in client.listening_ports(), 15,
                     what="the client pod meshed")

    server = fake_peer.FakeServer(fake, *impostor, ca.trust_anchor, cluster.workdir,
                                  cluster.cleanup)
    # The agent on node1 may only see discovery's view of the fake pod after the manifest
    # watch fired: retry until it tunnels there (the fake logs a handshake).
    def tunnelled():
        client.client("echo", fake.ip, ECHO_PORT, "--connections", 1, "--size", SEND,
                      timeout=30)
        return server.events("handshake")
    procs.wait_until(tunnelled, 15, interval=0.5, what="node1 dialling the fake :15008")
    before = n1.agent.metrics()
    result = client.client("echo", fake.ip, ECHO_PORT, "--connections", 3, "--size", SEND,
                           timeout=60)
    assert result["ok"] == 0 and result["received"] == 0, \
        f"data flowed through a peer with the wrong identity: {result}"
    _wait_delta(n1.agent, before, FAILURES, 3, role="client", reason="identity_mismatch")
    assert not server.events("connect"), "the agent sent a CONNECT to the impostor"
    handshakes = server.events("handshake")
    assert all(ev["ok"] and ev["peerUri"] == principal(ns, "client") for ev in handshakes), \
        f"the agent did not present the client pod's certificate: {handshakes}"
    server.service.stop()

    # Control: the same fake with the identity discovery expects is accepted: the client
    # gets its bytes echoed through the CONNECT stream.
    server = fake_peer.FakeServer(fake, *right, ca.trust_anchor, cluster.workdir,
                                  cluster.cleanup)
    before = n1.agent.metrics()
    result = client.client("echo", fake.ip, ECHO_PORT, "--connections", 3, "--size", SEND,
                           timeout=60)
    assert result["ok"] == 3, result
    assert {ev["authority"] for ev in server.events("connect")} == {f"{fake.ip}:{ECHO_PORT}"}
    assert delta(before, n1.agent.metrics(), FAILURES, role="client") == 0

