"""Fair shares of the node (issue 23): one agent serves every pod on its node, so one source
may hold at most --max-connections-per-source of its connections. A pod that opens connections
until it is refused gets resets past its share, counted with its identity; another pod's
requests all succeed meanwhile; the shares come back as the greedy pod's connections close."""
import json
import textwrap
import threading

from weftsim import manifests, paths, procs
from weftsim.scenarios import ECHO_PORT, deployment_pods, echo_service

LIMIT = 30
OPENED = 60
HOLD_SECONDS = 8

# Opens OPENED connections to the echo Service, one round trip each, keeps the ones that echoed
# for HOLD_SECONDS, then closes them all. Prints how many echoed and how many were refused.
GREEDY = textwrap.dedent("""
    import json, socket, sys, time
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    echoed, refused, kept = 0, 0, []
    for i in range(count):
        s = None
        try:  # a refused connection may be reset before connect() even returns
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"ping")
            if s.recv(4) == b"ping":
                echoed += 1
                kept.append(s)
                continue
            refused += 1
        except OSError:
            refused += 1
        if s is not None:
            s.close()
    print(json.dumps({"echoed": echoed, "refused": refused}), flush=True)
    time.sleep(hold)
    for s in kept:
        s.close()
""")


def test_one_pod_past_its_share_is_refused_and_the_others_are_served(cluster):
    node = cluster.add_node("node1", agent_args=["--max-connections-per-source", str(LIMIT)])
    assert f"agent.source_limit connections_per_source={LIMIT}" in node.agent.log()
    sc = echo_service(cluster, node, servers=1, modes=("http", "echo"))
    greedy = deployment_pods(node, "greedy", 1, sc.namespace)[0]
    cluster.publish("greedy.json", [manifests.pod_object(greedy)])  # its identity
    node.agent.wait_for_manifest("greedy.json")

    result = {}

    def run_greedy():
        r = greedy.run([paths.PYTHON, "-c", GREEDY, sc.cluster_ip, str(ECHO_PORT), str(OPENED),
                        str(HOLD_SECONDS)], timeout=60)
        result.update(json.loads(r.stdout))

    thread = threading.Thread(target=run_greedy)
    thread.start()
    procs.wait_until(lambda: node.agent.metrics().sum(
        "weft_tcp_connections_refused_total", reason="source_limit") >= OPENED - LIMIT, 30,
        what="the greedy pod refused past its share")
    # The greedy pod holds its whole share: another pod's new connections are still served.
    served = [sc.client.curl(sc.url, timeout=3) for _ in range(20)]
    thread.join()
    print(f"greedy pod: {result}; other pod: {len(served)} of 20 requests served")
    assert result == {"echoed": LIMIT, "refused": OPENED - LIMIT}, result
    assert len(served) == 20

    metrics = node.agent.metrics()
    refused = metrics.series("weft_tcp_connections_refused_total", reason="source_limit")
    assert [ls["source_workload"] for ls in refused] == [greedy.workload], refused
    assert metrics.sum("weft_tcp_connections_refused_total") == OPENED - LIMIT
    warnings = node.agent.log(tail_bytes=10**7).count("flow.source_limit")
    assert 1 <= warnings <= 2 * 10, f"{warnings} flow.source_limit lines"

    # Its connections closed, the greedy pod has its whole share again.
    procs.wait_until(lambda: json.loads(greedy.run(
        [paths.PYTHON, "-c", GREEDY, sc.cluster_ip, str(ECHO_PORT), str(LIMIT), "0"],
        timeout=60).stdout) == {"echoed": LIMIT, "refused": 0}, 20,
        what="the greedy pod's share given back")


HEAD_BUDGET = 65536
PAD = 10240

# Opens `count` connections to the Service's HTTP port, each with a request head that never ends:
# the request line, then PAD bytes of one header. Prints, per connection, the status line the
# agent answered within a second ("431 ...") or "pending".
SLOW_HEADS = textwrap.dedent("""
    import json, socket, sys, time
    host, port, count, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    conns, answers = [], []
    for i in range(count):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\\r\\nhost: echo\\r\\n")
        time.sleep(0.2)  # detection has taken the request line: the rest goes to HTTP
        s.sendall(b"x-pad: " + b"a" * pad + b"\\r\\n")
        s.settimeout(1)
        try:
            first = s.recv(4096).split(b"\\r\\n")[0].decode()
            answers.append(first.split(" ", 1)[1] if first else "closed")
        except socket.timeout:
            answers.append("pending")
        conns.append(s)
    print(json.dumps(answers), flush=True)
""")


def test_a_source_past_its_request_head_bytes_gets_431_and_the_others_are_served(cluster):
    node = cluster.add_node("node1", agent_args=["--max-header-bytes-per-source",
                                                 str(HEAD_BUDGET)])
    sc = echo_service(cluster, node, servers=1, modes=("http",))
    slow = deployment_pods(node, "slow", 1, sc.namespace)[0]
    r = slow.run([paths.PYTHON, "-c", SLOW_HEADS, sc.cluster_ip, "80", "10", str(PAD)],
                 timeout=60)
    answers = json.loads(r.stdout)
    print(f"slow heads of {PAD} bytes under a budget of {HEAD_BUDGET}: {answers}")
    fit = HEAD_BUDGET // PAD
    assert answers[:fit] == ["pending"] * fit, answers
    assert all(a.startswith("431") for a in answers[fit:]), answers
    for _ in range(10):
        sc.client.curl(sc.url, timeout=3)  # another source's heads are not this one's
    metrics = node.agent.metrics()
    assert metrics.sum("weft_tcp_connections_refused_total",
                       reason="source_head_bytes") == 10 - fit, metrics.text
