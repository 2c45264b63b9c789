"""TLS session resumption between agents (issue 3): once a pooled tunnel session has closed
(idle for 30 s), the next connection to the same destination pod resumes with the ticket the
peer agent issued instead of a full handshake with certificate checks."""
from weftsim import procs
from weftsim.metrics import delta
from weftsim.scenarios import echo_service, two_nodes

HANDSHAKES = "weft_tls_handshakes_total"
# Tickets are kept per worker (2 here): enough connections that each worker has dialled.
CONNECTIONS = 20


def _calls(sc):
    for _ in range(CONNECTIONS):
        sc.client.curl(sc.url)


def test_a_new_session_after_idle_close_resumes_instead_of_a_full_handshake(cluster):
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, servers=1, modes=("http",))
    _calls(sc)
    procs.wait_until(lambda: n1.agent.metrics().sum("weft_tunnel_sessions", role="client") == 0,
                     45, interval=1, what="the idle tunnel sessions to close (30 s idle timeout)")

    before1, before2 = n1.agent.metrics(), n2.agent.metrics()
    _calls(sc)
    after1, after2 = n1.agent.metrics(), n2.agent.metrics()
    resumed = delta(before1, after1, HANDSHAKES, role="client", resumed="true")
    full = delta(before1, after1, HANDSHAKES, role="client", resumed="false")
    assert resumed >= 1 and full == 0, \
        f"client handshakes after the idle close: {resumed} resumed, {full} full\n{after1.text}"
    assert delta(before2, after2, HANDSHAKES, role="server", resumed="true") == resumed, \
        after2.text
