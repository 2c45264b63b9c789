"""Large transfers arrive byte-exact through the agent, and half-close works both ways."""
from weftsim import procs
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, SHA_PORT, echo_service

GIB = 1 << 30


def test_one_gib_through_the_agent_arrives_byte_exact(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node, modes=("http", "sha"))
    agent = node.agent
    before = agent.metrics()

    result = sc.client.client("sha", sc.cluster_ip, SHA_PORT, "--bytes", GIB, timeout=180)
    assert result["reply"] == f"{result['sentSha256']} {GIB}", result
    assert result["seconds"] < 60, f"1 GiB took {result['seconds']} s"

    labels = {"reporter": "source", "source_workload": "client", "destination_workload": "echo"}

    def counted():
        now = agent.metrics()
        return (delta(before, now, "weft_tcp_connections_closed_total", **labels) == 1
                and delta(before, now, "weft_tcp_sent_bytes_total", **labels) == GIB
                and delta(before, now, "weft_tcp_received_bytes_total", **labels)
                == len(result["reply"]) + 1)
    procs.wait_until(counted, 10, what="1 GiB sent and the 76-byte reply received, counted")


def test_half_close_keeps_the_reverse_direction_open(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node, modes=("echo", "sha"), wait=False)
    # No HTTP server here: wait on the sha port instead.
    procs.wait_until(lambda: sc.client.client("sha", sc.cluster_ip, SHA_PORT, "--bytes", 1,
                                              timeout=10)["reply"], 15, what="service ready")

    # The servers answer only after the client's FIN (sha) or keep sending after it (echo).
    for size in (1, 65536, 5 << 20):
        result = sc.client.client("sha", sc.cluster_ip, SHA_PORT, "--bytes", size)
        assert result["reply"] == f"{result['sentSha256']} {size}"
    echo = sc.client.client("echo", sc.cluster_ip, ECHO_PORT, "--connections", 4, "--size",
                            3 << 20)
    assert echo["ok"] == 4, echo
