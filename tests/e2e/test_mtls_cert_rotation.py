"""Workload certificates with a 30 s lifetime are renewed about every 15 s (issue 3) while
traffic runs: one long transfer across nodes streams for ~75 s through one connection and a
new connection is made every 0.5 s; every byte comes back exact, nothing fails, each agent
renews at least twice and the expiry gauge moves forward."""
import json

from weftsim import paths
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, echo_service, two_nodes

LIFETIME = 30
SOAK_SECONDS = 75
RENEWALS = "weft_identity_certificate_renewals_total"
EXPIRY = "weft_identity_certificate_expiry_timestamp_seconds"
FAILURES = "weft_tls_handshake_failures_total"


def _expiry(metrics, who):
    values = [v for _, _, v in metrics.select(EXPIRY, principal=who)]
    assert len(values) == 1, f"expected one {EXPIRY}{{principal={who!r}}}:\n{metrics.text}"
    return values[0]


def test_renewals_under_load_drop_nothing_and_corrupt_nothing(cluster):
    n1, n2 = two_nodes(cluster, cert_lifetime_seconds=LIFETIME)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("http", "echo"))
    client_id, echo_id = principal(sc.namespace, "client"), principal(sc.namespace, "echo")
    before1, before2 = n1.agent.metrics(), n2.agent.metrics()
    expiry_client, expiry_echo = _expiry(before1, client_id), _expiry(before2, echo_id)

    r = sc.client.run([paths.PYTHON, paths.SOAK_CLIENT, sc.cluster_ip, str(ECHO_PORT),
                       "--seconds", str(SOAK_SECONDS), "--interval", "0.5"],
                      timeout=SOAK_SECONDS + 90)
    soak = json.loads(r.stdout)
    after1, after2 = n1.agent.metrics(), n2.agent.metrics()

    assert soak["long"]["exact"], f"the long transfer was cut or corrupted: {soak['long']}"
    assert soak["long"]["sent"] >= SOAK_SECONDS * 100_000, soak["long"]
    assert soak["short"]["failed"] == 0, soak["short"]
    assert soak["short"]["ok"] >= SOAK_SECONDS, soak["short"]  # ~2 per second

    for node, before, after in ((n1, before1, after1), (n2, before2, after2)):
        ok = delta(before, after, RENEWALS, result="ok")
        assert ok >= 2, f"{node.name} renewed {ok} times in {soak['seconds']} s:\n{after.text}"
        assert delta(before, after, RENEWALS, result="error") == 0, after.text
        assert delta(before, after, FAILURES) == 0, f"{node.name}: handshake failures\n" + \
            "\n".join(line for line in after.text.splitlines() if line.startswith("weft_tls"))
    assert _expiry(after1, client_id) > expiry_client + LIFETIME / 2, after1.text
    assert _expiry(after2, echo_id) > expiry_echo + LIFETIME / 2, after2.text
