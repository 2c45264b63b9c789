"""L7 resilience: request timeouts (a route rule's timeouts.request, the client's
grpc-timeout), retries (a route rule's retry block, bounded by a retry budget) and circuit
breaking (5 consecutive failures eject an endpoint; ejected endpoints are only probed; all of
them ejected = the agent answers at once). One node: the client, the replicas and one agent,
which reports both sides.

What the agent answers itself: 504 to an HTTP request past its deadline, a trailers-only gRPC
response with grpc-status 4 (DEADLINE_EXCEEDED) to a call past its deadline, 503 /
UNAVAILABLE when every endpoint is ejected. weft_requests_total counts each client request
once, with the status the client got (never once per try); weft_request_retries_total counts
the retries and weft_endpoint_ejections_total the ejections (reporter="source" and the usual
identity labels; a retry also with why its attempt failed: `reason` and that attempt's
`response_code` / `grpc_response_status`).
"""
import json
import re
import time

from weftsim import manifests as m
from weftsim import paths, procs
from weftsim.metrics import delta, settled
from weftsim.scenarios import (GRPC_SERVICE_PORT, HTTP_APP_PORT, grpc_echo_service,
                               http_app_service)

NS = "e2e"
PORT = 80
# The retry budget is per Service per agent worker (20% of requests + 10 retries per second
# over 10 s): the harness pins the worker count so the bound below is known.
WORKERS = 2
BUDGET_RATIO = 0.2
BUDGET_PER_SECOND = 10
BUDGET_WINDOW_S = 10

ROUTE_TIMEOUT = "500ms"
SLOW_MS = 3000
FAST_MS = 100
GRPC_ROUTE_TIMEOUT = "300ms"
GRPC_SLOW_MS = 2000
GRPC_TIMEOUT_HEADER = "200m"

HTTP_RETRY_REQUESTS = 2000
HTTP_RETRY_CONNECTIONS = 4
GRPC_RETRY_CALLS = 3000
GRPC_RETRY_CONCURRENCY = 8
MIN_SUCCESS = 0.999

WARMUP_REQUESTS = 20
FAST_FAIL_REQUESTS = 200
FAST_FAIL_MEAN_S = 0.050

REQUESTS = "weft_requests_total"
RETRIES = "weft_request_retries_total"
EJECTIONS = "weft_endpoint_ejections_total"


# -- helpers ---------------------------------------------------------------------------------

def _node(cluster):
    return cluster.add_node("node1", agent_args=["--workers", str(WORKERS)])


def _url(sc, path="/"):
    return f"http://{sc.address}{path}"


def _assert_agent_alive(node):
    svc = node.agent.service
    assert svc is not None and svc.alive(), (
        f"weft-agent exited (status {svc.proc.poll() if svc else None}) while the client ran")


def _source(sc):
    """The labels every source-side series of client -> sc carries (queries sum over the
    rest: destination_workload, codes, ...)."""
    return {"reporter": "source", "source_workload": "client",
            "source_workload_namespace": sc.namespace, "destination_service": sc.service_host}


def _assert_ejected_and_retried(before, after, sc, protocol, answer, total, elapsed):
    """The failing replica (answering `answer` to everything) was ejected at least once, and
    the source side retried within the retry budget, both counted with `protocol`."""
    ejections = delta(before, after, EJECTIONS, request_protocol=protocol, **_source(sc))
    assert ejections >= 1, (
        f"the replica answering {answer} to everything was never ejected:\n"
        f"{_series(after, EJECTIONS)}")
    retries = delta(before, after, RETRIES, request_protocol=protocol, **_source(sc))
    budget = _budget(total, elapsed)
    assert 0 < retries <= budget, (
        f"{retries} retries for {total} requests in {elapsed:.1f}s, want 1..{budget:.0f} "
        f"(the retry budget):\n{_series(after, RETRIES)}")
    # Each retry says why: the failing replica's answer.
    why = ({"response_code": "503", "grpc_response_status": ""} if protocol == "http"
           else {"response_code": "200", "grpc_response_status": "14"})
    assert delta(before, after, RETRIES, request_protocol=protocol, reason="response", **why,
                 **_source(sc)) == retries, (
        f"retries not all labelled reason=response {why}:\n{_series(after, RETRIES)}")


def _wait_counted(agent, before, sc, expected, **labels):
    """Waits until the source side counted `expected` more requests client -> sc with
    `labels`; returns the scrape. The message lists every series on failure."""
    query = dict(_source(sc), **labels)
    seen = [None]

    def counted():
        now = agent.metrics()
        seen[0] = delta(before, now, REQUESTS, **query)
        return now if seen[0] == expected else None
    try:
        return procs.wait_until(counted, 10, interval=0.3,
                                what=f"{expected} requests counted with {query}")
    except TimeoutError as e:
        raise AssertionError(f"{e}: counted {seen[0]}\n{_series(agent.metrics(), REQUESTS)}"
                             ) from None


def _series(scrape, name):
    return "\n".join(f"{name}{ls} {v}" for _, ls, v in scrape.select(name)) or f"(no {name})"


def _budget(requests, elapsed_s):
    """Most retries the agent's budget allows for `requests` requests over elapsed_s seconds:
    per worker 20% of its requests + 10 per second over a 10 s window."""
    return BUDGET_RATIO * requests + BUDGET_PER_SECOND * WORKERS * (elapsed_s + BUDGET_WINDOW_S)


def _app_requests(pod):
    """Requests the pod's http_app.py has answered so far (its "request ..." log lines)."""
    with open(pod.servers[HTTP_APP_PORT].log_path, "rb") as f:
        return sum(1 for line in f.read().decode(errors="replace").splitlines()
                   if line.startswith("request "))


def _timed_gets(client, url, count=1, timeout=10):
    """One curl in the client pod making `count` GETs of url on one keep-alive connection;
    [(status, seconds)] as curl measured them (time_total: each request, inside the pod)."""
    argv = ["curl", "-sS", "--max-time", str(timeout),
            "-w", "\n## %{http_code} %{time_total}\n"]
    for _ in range(count):
        argv += ["-o", "/dev/null", url]  # each -o belongs to the next URL
    r = client.run(argv, check=False, timeout=timeout * count + 30)
    out = [(int(code), float(seconds))
           for code, seconds in re.findall(r"^## (\d+) ([0-9.]+)$", r.stdout, re.M)]
    assert len(out) == count, f"curl reported {len(out)} of {count} requests:\n" \
                              f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return out


def _grpc_raw(sc, *args, timeout=10):
    """servers/grpc_raw.py from the client pod to the Service: one hand-made gRPC Say."""
    r = sc.client.run([paths.PYTHON, paths.GRPC_RAW, sc.cluster_ip, str(sc.port),
                       "--timeout", str(timeout)] + [str(a) for a in args],
                      timeout=timeout + 30)
    return json.loads(r.stdout)


# -- e. HTTP request timeout -----------------------------------------------------------------

def test_http_route_request_timeout_answers_504(cluster):
    node = _node(cluster)
    sc = http_app_service(cluster, node, replicas=2)
    route = m.http_route("web-timeout", NS, [m.service_parent(sc.name, PORT)], [
        m.route_rule(matches=[m.http_match(path="/delay")],
                     backends=[m.backend(sc.name, PORT)], timeout=ROUTE_TIMEOUT)])
    cluster.publish_and_wait("route-web-timeout.json", [route])
    before = settled(node.agent)

    [(status, seconds)] = _timed_gets(sc.client, _url(sc, f"/delay/{SLOW_MS}"))
    assert status == 504 and 0.4 <= seconds <= 1.5, (
        f"GET /delay/{SLOW_MS} under a {ROUTE_TIMEOUT} request timeout: got {status} after "
        f"{seconds:.3f}s, want 504 in 0.4-1.5s")
    [(status, seconds)] = _timed_gets(sc.client, _url(sc, f"/delay/{FAST_MS}"))
    assert status == 200, f"GET /delay/{FAST_MS} (within the timeout): {status} after {seconds}s"
    [(status, _)] = _timed_gets(sc.client, _url(sc, "/"))
    assert status == 200, f"GET / (no rule matches: no timeout): {status}"

    _wait_counted(node.agent, before, sc, 1, response_code="504")


# -- f. gRPC deadlines -----------------------------------------------------------------------

def test_grpc_route_request_timeout_answers_deadline_exceeded(cluster):
    node = _node(cluster)
    sc = grpc_echo_service(cluster, node, replicas=2, wait=False,
                           server_args=lambda i: ["--delay-ms", GRPC_SLOW_MS])

    def answered_slowly():
        return sc.grpc(calls=1, timeout=10, run_timeout=40)["ok"] == 1
    procs.wait_until(answered_slowly, 30, interval=0.3,
                     what=f"gRPC {sc.address} answering (in {GRPC_SLOW_MS} ms)")
    route = m.grpc_route("grpc-timeout", NS, [m.service_parent(sc.name, GRPC_SERVICE_PORT)], [
        m.route_rule(matches=[m.grpc_match(service="weft.test.Echo", method="Say")],
                     backends=[m.backend(sc.name, GRPC_SERVICE_PORT)],
                     timeout=GRPC_ROUTE_TIMEOUT)])
    cluster.publish_and_wait("route-grpc-timeout.json", [route])
    before = settled(node.agent)

    calls = 3
    result = sc.grpc(calls=calls, concurrency=1, timeout=10)
    assert result["codes"] == {"DEADLINE_EXCEEDED": calls}, (
        f"Say to {GRPC_SLOW_MS} ms replicas under a {GRPC_ROUTE_TIMEOUT} route timeout, client "
        f"deadline 10 s: want DEADLINE_EXCEEDED every time: {result}")
    assert 250 <= result["min_ms"] and result["max_ms"] <= 1000, (
        f"DEADLINE_EXCEEDED after {result['min_ms']}-{result['max_ms']} ms, want 250-1000: "
        f"{result}")

    _wait_counted(node.agent, before, sc, calls, grpc_response_status="4")


def test_grpc_timeout_header_is_enforced_by_the_agent(cluster):
    """The replicas are plain HTTP/2 servers that answer every request 2 s after it ended and
    know nothing of grpc-timeout (grpc_echo_server.py --http-status 200 --delay-ms 2000), and
    grpc_raw.py enforces no deadline of its own: a DEADLINE_EXCEEDED within the 200 ms the
    call asked for can only come from the agent. No route: the header alone sets it."""
    node = _node(cluster)
    sc = grpc_echo_service(cluster, node, replicas=2, name="h2slow", wait=False,
                           server_args=lambda i: ["--http-status", 200,
                                                  "--delay-ms", GRPC_SLOW_MS])
    control = []

    def answered():
        control.append(_grpc_raw(sc))
        return control[-1]["status"] == 200
    procs.wait_until(answered, 30, interval=0.3,
                     what=f"h2c {sc.address} answering (in {GRPC_SLOW_MS} ms)")
    # Control: without grpc-timeout the call lasts as long as the replica takes.
    assert control[-1]["elapsed_s"] >= 0.9 * GRPC_SLOW_MS / 1000, control[-1]

    out = _grpc_raw(sc, "--grpc-timeout", GRPC_TIMEOUT_HEADER)
    assert out["ended"] and out["trailers_only"] and out["status"] == 200 and \
        out["grpc_status"] == 4, (
            f"grpc-timeout: {GRPC_TIMEOUT_HEADER}: want a trailers-only response with "
            f"grpc-status 4 from the agent: {out}")
    assert 0.15 <= out["elapsed_s"] <= 1.0, (
        f"grpc-timeout: {GRPC_TIMEOUT_HEADER}: DEADLINE_EXCEEDED after {out['elapsed_s']}s, "
        f"want 0.15-1.0s: {out}")


# -- g. HTTP retries and ejection ------------------------------------------------------------

def test_http_retries_and_ejection_hide_a_failing_replica(cluster):
    node = _node(cluster)
    sc = http_app_service(cluster, node, replicas=3,
                          server_args=lambda i: ["--fail-status", 503] if i == 0 else [])
    failing = sc.servers[0]
    route = m.http_route("web-retry", NS, [m.service_parent(sc.name, PORT)], [
        m.route_rule(backends=[m.backend(sc.name, PORT)],
                     retry=m.retry_policy([503], attempts=2, backoff="10ms"))])
    cluster.publish_and_wait("route-web-retry.json", [route])
    before = settled(node.agent)
    failing_before = _app_requests(failing)

    began = time.monotonic()
    r = sc.client.run([paths.PYTHON, paths.HTTP_CLIENT, sc.cluster_ip, str(PORT),
                       "--connections", str(HTTP_RETRY_CONNECTIONS),
                       "--requests", str(HTTP_RETRY_REQUESTS // HTTP_RETRY_CONNECTIONS)],
                      timeout=300)
    elapsed = time.monotonic() - began
    result = json.loads(r.stdout)
    total = result["requests"]
    _assert_agent_alive(node)
    assert result["ok"] >= MIN_SUCCESS * total, (
        f"{result['ok']} of {total} GETs answered 200 with one replica of 3 answering 503 "
        f"and retry {{codes: [503], attempts: 2}}: {result}")

    after = _wait_counted(node.agent, before, sc, total)
    _assert_ejected_and_retried(before, after, sc, "http", "503", total, elapsed)
    failing_served = _app_requests(failing) - failing_before
    assert failing_served < 0.1 * total, (
        f"the failing replica {failing.name} still got {failing_served} of {total} requests "
        f"(ejected endpoints should only be probed)")
    assert delta(before, after, REQUESTS, response_code="200", **_source(sc)) == result["ok"], (
        f"weft_requests_total must count each request once with its final code:\n"
        f"{_series(after, REQUESTS)}")


# -- h. gRPC retries and ejection ------------------------------------------------------------

def test_grpc_retries_and_ejection_hide_a_failing_replica(cluster):
    node = _node(cluster)
    sc = grpc_echo_service(cluster, node, replicas=3,
                           server_args=lambda i: ["--fail-code", "UNAVAILABLE"] if i == 0
                           else [])
    failing = sc.servers[0]
    route = m.grpc_route("grpc-retry", NS, [m.service_parent(sc.name, GRPC_SERVICE_PORT)], [
        m.route_rule(backends=[m.backend(sc.name, GRPC_SERVICE_PORT)],
                     retry=m.retry_policy(["UNAVAILABLE"], attempts=2))])
    cluster.publish_and_wait("route-grpc-retry.json", [route])
    before = settled(node.agent)

    began = time.monotonic()
    result = sc.grpc(calls=GRPC_RETRY_CALLS, concurrency=GRPC_RETRY_CONCURRENCY, timeout=10)
    elapsed = time.monotonic() - began
    _assert_agent_alive(node)
    assert result["ok"] >= MIN_SUCCESS * GRPC_RETRY_CALLS, (
        f"{result['ok']} of {GRPC_RETRY_CALLS} calls OK with one replica of 3 answering "
        f"UNAVAILABLE and retry {{codes: [UNAVAILABLE], attempts: 2}}: {result}")
    assert failing.name not in result["by_pod"], result

    after = _wait_counted(node.agent, before, sc, GRPC_RETRY_CALLS)
    _assert_ejected_and_retried(before, after, sc, "grpc", "UNAVAILABLE", GRPC_RETRY_CALLS,
                                elapsed)
    assert delta(before, after, REQUESTS, grpc_response_status="0", **_source(sc)) == \
        result["ok"], (f"weft_requests_total must count each call once with its final "
                       f"status:\n{_series(after, REQUESTS)}")


# -- i. every replica failing: fail fast -----------------------------------------------------

def test_all_replicas_failing_fail_fast(cluster):
    """Three replicas answering 503 to everything, no route (no retries): once each endpoint
    has failed 5 times in a row it is ejected, and with all of them ejected the agent answers
    503 itself, at once; the replicas only see the probes (one request per ejected endpoint
    after 1 s, 2 s, 4 s...). All requests on one curl connection (one agent worker)."""
    node = _node(cluster)
    sc = http_app_service(cluster, node, replicas=3, wait=False,
                          server_args=lambda i: ["--fail-status", 503])

    def answered_503():
        return _timed_gets(sc.client, _url(sc), timeout=2)[0][0] == 503
    procs.wait_until(answered_503, 20, interval=0.3, what=f"{_url(sc)} answering 503")
    before = settled(node.agent)
    apps_before = sum(_app_requests(p) for p in sc.servers)

    results = _timed_gets(sc.client, _url(sc), count=WARMUP_REQUESTS + FAST_FAIL_REQUESTS)
    apps_served = sum(_app_requests(p) for p in sc.servers) - apps_before
    _assert_agent_alive(node)
    statuses = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    assert statuses == {503: len(results)}, f"want 503 for every request: {statuses}"
    later = results[WARMUP_REQUESTS:]
    mean = sum(s for _, s in later) / len(later)
    assert mean < FAST_FAIL_MEAN_S, (
        f"after the first {WARMUP_REQUESTS} requests, 503s took {mean * 1000:.1f} ms on "
        f"average, want < {FAST_FAIL_MEAN_S * 1000:.0f} ms (fail fast)")
    # The first ~15 reach the apps (5 per endpoint), then only probes.
    limit = WARMUP_REQUESTS + 0.1 * FAST_FAIL_REQUESTS
    assert apps_served <= limit, (
        f"the replicas answered {apps_served} of {len(results)} requests, want <= {limit:.0f}: "
        f"ejected endpoints must only be probed")

    after = _wait_counted(node.agent, before, sc, len(results), response_code="503")
    ejections = delta(before, after, EJECTIONS, **_source(sc))
    assert ejections >= len(sc.servers), (
        f"{ejections} ejections, want every one of the {len(sc.servers)} failing endpoints "
        f"ejected:\n{_series(after, EJECTIONS)}")
