"""L7 gRPC: a meshed client's ONE gRPC channel (one HTTP/2 connection) to a Service ClusterIP
is split by the agent call by call over the Service's endpoints (power of two choices over
peak-EWMA latency x outstanding requests), every call is counted in weft_requests_total and
weft_request_duration_seconds with Istio's labels, and streaming calls of every kind pass
through intact. The Service port has no appProtocol and a neutral name: the agent must detect
HTTP/2 itself. One node: the source agent reports both sides."""
from weftsim import procs
from weftsim.manifests import principal
from weftsim.metrics import delta, settled
from weftsim.scenarios import grpc_echo_service

CALLS = 3000
CONCURRENCY = 8
REPLICAS = 3
SLOW_DELAY_MS = 50
# Identical replicas answer in a fixed 20 ms, so that their speed is set by the test and not
# by which Python server the scheduler favours on a 2-core machine: a balancer that weighs
# latency rightly sends more to a replica that is really faster. With 5 ms, a few ms of
# scheduling noise made one replica look slower and the 33% +- 5% spread failed about one run
# in five on a busy machine; with 20 ms, 0 of 10.
SERVICE_TIME_MS = 20
STREAM_CALLS = 10
STREAM_CONCURRENCY = 5
STREAM_MESSAGES = 100

REQUESTS = "weft_requests_total"
DURATION_COUNT = "weft_request_duration_seconds_count"
DURATION_SUM = "weft_request_duration_seconds_sum"


def _request_labels(sc, reporter):
    """Every label of a successful gRPC call from the client to the Service, except
    destination_workload (queries sum over it)."""
    return {
        "reporter": reporter,
        "source_workload": "client",
        "source_workload_namespace": sc.namespace,
        "source_principal": principal(sc.namespace, "client"),
        "destination_service": sc.service_host,
        "destination_workload_namespace": sc.namespace,
        "destination_principal": principal(sc.namespace, sc.name),
        "request_protocol": "grpc",
        "response_code": "200",
        "grpc_response_status": "0",
        # Meshed to meshed on one node counts as mutual_tls (issue 3's contract).
        "connection_security_policy": "mutual_tls",
    }


def _wait_requests(agent, before, sc, expected, reporters=("source", "destination")):
    """Waits until `agent` counted `expected` successful calls for each of `reporters` in the
    request counter and the duration histogram; returns the last scrape."""
    queries = [(reporter, name) for reporter in reporters
               for name in (REQUESTS, DURATION_COUNT)]

    def counts(now):
        return {f"{name}{{reporter={reporter}}}": delta(before, now, name,
                                                        **_request_labels(sc, reporter))
                for reporter, name in queries}
    seen = {}

    def counted():
        now = agent.metrics()
        seen.update(counts(now))
        return now if all(v == expected for v in seen.values()) else None
    try:
        return procs.wait_until(counted, 10, what=f"{expected} requests on {reporters}")
    except TimeoutError as e:
        lines = [line for line in agent.metrics().text.splitlines()
                 if line.startswith(("weft_request", "# TYPE weft_request"))]
        raise AssertionError(f"{e}\ncounted {seen}, want {expected} each\n"
                             f"labels={_request_labels(sc, reporters[0])}\n" + "\n".join(lines)
                             ) from None


def _assert_even(result, sc):
    assert result["ok"] == CALLS, result
    assert set(result["by_pod"]) <= {s.name for s in sc.servers}, result
    # Every replica takes a share: 20%..50% each (600..1500 of 3000). Not 33% +- 5%: peak-EWMA
    # sends more to the replica that answers faster, and on a shared 2-CPU host one replica's
    # latency can stay lower for seconds (measured side by side on 4697d22 and on the
    # restructured agent: 25%..44%, the old band failed 2 of 4 and 1 of 4 runs). Balancing per
    # connection instead of per call would give one replica all 3000.
    for pod in sc.servers:
        served = result["by_pod"].get(pod.name, 0)
        assert 0.20 * CALLS <= served <= 0.50 * CALLS, (
            f"{pod.name} served {served} of {CALLS} calls on one channel: {result}")
    # The endpoints see the client pod's address, as for TCP flows.
    assert result["by_peer"] == {sc.client.ip: CALLS}, result


def _assert_slow_avoided(result, sc):
    slow = sc.servers[0]
    assert result["ok"] == CALLS, result
    assert _share(result, slow) <= 0.15, (
        f"the {SLOW_DELAY_MS} ms replica {slow.name} served "
        f"{result['by_pod'].get(slow.name, 0)} of {CALLS} calls: {result}")
    assert all(result["by_pod"].get(p.name, 0) > 0 for p in sc.servers[1:]), result


def _share(result, pod):
    return result["by_pod"].get(pod.name, 0) / CALLS


def test_one_channel_spreads_unary_calls_evenly(cluster):
    node = cluster.add_node("node1")
    sc = grpc_echo_service(cluster, node, replicas=REPLICAS,
                           server_args=lambda i: ["--delay-ms", SERVICE_TIME_MS])
    agent = node.agent
    before = settled(agent)

    result = sc.grpc(calls=CALLS, concurrency=CONCURRENCY, timeout=10)
    _assert_even(result, sc)

    after = _wait_requests(agent, before, sc, CALLS)
    for reporter in ("source", "destination"):
        labels = _request_labels(sc, reporter)
        seconds = delta(before, after, DURATION_SUM, **labels)
        assert 0 < seconds < CALLS * 10, f"{reporter}: duration sum {seconds}s"
        workloads = {ls.get("destination_workload")
                     for ls in after.series(REQUESTS, **labels)}
        assert workloads == {sc.name}, f"{reporter}: destination_workload {workloads}"


def test_slow_replica_gets_few_calls(cluster):
    node = cluster.add_node("node1")
    sc = grpc_echo_service(cluster, node, replicas=REPLICAS,
                           server_args=lambda i: ["--delay-ms", SLOW_DELAY_MS] if i == 0
                           else [])

    result = sc.grpc(calls=CALLS, concurrency=CONCURRENCY, timeout=10)
    _assert_slow_avoided(result, sc)


def test_streaming_calls_stream_through(cluster):
    node = cluster.add_node("node1")
    sc = grpc_echo_service(cluster, node, replicas=REPLICAS)
    agent = node.agent
    before = settled(agent)

    for method in ("stream", "collect", "chat"):
        result = sc.grpc(method=method, calls=STREAM_CALLS, concurrency=STREAM_CONCURRENCY,
                         messages=STREAM_MESSAGES, timeout=30)
        assert result["ok"] == STREAM_CALLS, result
        assert result["messages_per_call"] == [STREAM_MESSAGES] * STREAM_CALLS, result
        # Calls of one channel are balanced one by one, streaming ones too.
        assert len(result["by_pod"]) >= 2, f"{method}: every call went to one pod: {result}"

    _wait_requests(agent, before, sc, 3 * STREAM_CALLS)


def _two_nodes(cluster):
    n1 = cluster.add_node("node1")
    n2 = cluster.add_node("node2")
    cluster.link(n1, n2)
    return n1, n2


def test_one_channel_spreads_calls_over_replicas_across_nodes(cluster):
    """The replicas run behind another node's agent: each call travels as its own stream in
    the mTLS tunnel, and the destination agent delivers it to the app and counts it."""
    n1, n2 = _two_nodes(cluster)
    sc = grpc_echo_service(cluster, n1, replicas=REPLICAS, server_node=n2,
                           server_args=lambda i: ["--delay-ms", SERVICE_TIME_MS])
    before1, before2 = settled(n1.agent), settled(n2.agent)

    result = sc.grpc(calls=CALLS, concurrency=CONCURRENCY, timeout=10)
    _assert_even(result, sc)
    _wait_requests(n1.agent, before1, sc, CALLS, reporters=("source",))
    after2 = _wait_requests(n2.agent, before2, sc, CALLS, reporters=("destination",))
    # One tunnel session per replica pod (per worker) carried the calls, not one per call.
    sessions = after2.sum("weft_tunnel_sessions_opened_total", role="server") - \
        before2.sum("weft_tunnel_sessions_opened_total", role="server")
    assert sessions <= 2 * REPLICAS, f"{sessions} tunnel sessions for {CALLS} calls"


def test_slow_replica_across_nodes_gets_few_calls(cluster):
    n1, n2 = _two_nodes(cluster)
    sc = grpc_echo_service(cluster, n1, replicas=REPLICAS, server_node=n2,
                           server_args=lambda i: ["--delay-ms", SLOW_DELAY_MS] if i == 0
                           else [])
    result = sc.grpc(calls=CALLS, concurrency=CONCURRENCY, timeout=10)
    _assert_slow_avoided(result, sc)
