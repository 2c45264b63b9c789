"""The tools the mTLS tests rely on, without weft: tcpdump on a node link captures what
crosses it (a plaintext marker is found in the pcap), tshark decodes a TLS 1.3 + h2 exchange
between two fake tunnel peers (weftsim/servers/tls_peer.py) and the marker sent inside it is not
in the pcap. A failure here points at weftsim or the machine, not at weft."""
import os
import secrets

from weftsim import certs, fake_peer
from weftsim.capture import Capture
from weftsim.scenarios import deployment_pods


def test_capture_sees_plaintext_and_tshark_decodes_fake_peers_tls13_h2(bare_cluster):
    n1 = bare_cluster.add_node("node1", with_agent=False)
    n2 = bare_cluster.add_node("node2", with_agent=False)
    bare_cluster.link(n1, n2)
    client = deployment_pods(n1, "client", 1, "e2e", meshed=False)[0]
    server = deployment_pods(n2, "echo", 1, "e2e", meshed=False)[0]
    server.start_server("http", 8080, bare_cluster.workdir, bare_cluster.cleanup)

    ca_dir = os.path.join(bare_cluster.workdir, "tooling-ca")
    anchor = certs.new_ca("tooling anchor")
    ca_path, _ = anchor.write(ca_dir, "anchor")
    srv_crt, srv_key = certs.new_workload(
        anchor, "spiffe://cluster.local/ns/e2e/sa/echo").write(ca_dir, "echo")
    cli_crt, cli_key = certs.new_workload(
        anchor, "spiffe://cluster.local/ns/e2e/sa/client").write(ca_dir, "client")
    peer = fake_peer.FakeServer(server, srv_crt, srv_key, ca_path, bare_cluster.workdir,
                                bare_cluster.cleanup)

    plain_marker = secrets.token_hex(32)
    with Capture(n1.netns, n1.links[0], bare_cluster.workdir, bare_cluster.cleanup) as cap:
        body = client.curl(f"http://{server.ip}:8080/{plain_marker}")
        assert plain_marker in body
        # The marker travels as CONNECT payload: 32 copies so it would be found however the
        # stream were cut into records.
        tls_marker = secrets.token_hex(32)
        result = fake_peer.dial(client, server.ip, cli_crt, cli_key, ca_path,
                                connect=f"{server.ip}:9000", send=4096, marker=tls_marker)
        assert result["accepted"] and result["echoed"], result
        assert result["version"] == "TLSv1.3" and result["alpn"] == "h2", result
        assert result["peerUri"] == "spiffe://cluster.local/ns/e2e/sa/echo", result
    assert peer.events("connect")[0]["authority"] == f"{server.ip}:9000"

    assert cap.contains(plain_marker), "the capture does not see plaintext on the node link"
    tls = cap.tls_summary()
    assert tls["client_hellos"] == 1 and tls["server_hellos"] == 1, tls
    assert tls["server_versions"] == ["0x0304"], tls
    assert tls["client_alpn"] == ["h2"], tls
    assert tls["client_conversations"] == [(client.ip, server.ip)], tls
    assert tls["app_data_records"] >= 2, tls
    assert not cap.contains(tls_marker)
