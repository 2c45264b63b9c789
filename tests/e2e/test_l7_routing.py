"""L7 routing: Gateway API HTTPRoute and GRPCRoute objects (gateway.networking.k8s.io/v1, read
from the manifests directory like every other object) attached to a Service through
parentRefs [{group: "", kind: Service, name, port}] (the GAMMA mesh profile). A request from a
meshed pod to that Service's ClusterIP that matches a rule goes to one of the rule's backend
Services (by weight), balanced over that Service's endpoints, with the rule's header filters
applied; a request that matches no rule goes to the parent Service's own endpoints. A route of
the Service's own namespace applies to every client, a route of another namespace only to that
namespace's clients (GEP-1426); where a GRPCRoute and HTTPRoutes of one such group attach to
a port, only the GRPCRoute applies (GEP-1426, route types). One node: the clients, every
Service's replicas and one agent.

Which replica answered is read from the apps' JSON answers (http_app.py and
grpc_echo_server.py name their pod); each Service runs its own Deployment, so a pod name says
which Service the request was routed to.
"""
import json
import re

from weftsim import manifests as m
from weftsim import paths, procs
from weftsim.metrics import delta
from weftsim.scenarios import (GRPC_SERVICE_PORT, HTTP_APP_PORT, ServiceSpec,
                               deployment_pods, grpc_echo_services, http_app_services)

NS = "e2e"
PORT = 80
SPLIT_CONNECTIONS = 4
SPLIT_REQUESTS = 500      # per connection: 2000 requests in all
SPLIT_WEIGHTS = (90, 10)
SPLIT_TOLERANCE = 0.03    # +- 3 percentage points: > 4 standard deviations at n = 2000
GRPC_SAY_CALLS = 50
GRPC_STREAM_CALLS = 5


# -- helpers ---------------------------------------------------------------------------------

def _url(sc, path="/"):
    return f"http://{sc.address}{path}"


def _app_requests(pod):
    """Requests the pod's http_app.py has answered so far (its "request ..." log lines)."""
    with open(pod.servers[HTTP_APP_PORT].log_path, "rb") as f:
        return sum(1 for line in f.read().decode(errors="replace").splitlines()
                   if line.startswith("request "))


def _curl_cases(client, cases, timeout=5):
    """One curl in the client pod making every case's request, one after the other (curl
    --next: one keep-alive connection as long as nobody closes it). cases = [(url, method or
    None, [header lines])]. Returns per case {"status": int, "pod": the pod the JSON answer
    named or None, "answer": the JSON answer or None}."""
    argv = ["curl"]
    for i, (url, method, headers) in enumerate(cases):
        if i:
            argv.append("--next")
        argv += ["-sS", "--max-time", str(timeout), "-w", f"\n## {i} %{{http_code}}\n"]
        if method:
            argv += ["-X", method]
        for h in headers:
            argv += ["-H", h]
        argv.append(url)
    r = client.run(argv, check=False, timeout=timeout * len(cases) + 30)
    out = [{"status": None, "pod": None, "answer": None} for _ in cases]
    last_json = None
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            try:
                last_json = json.loads(line)
            except ValueError:
                last_json = None
        mark = re.match(r"## (\d+) (\d+)$", line)
        if mark:
            i = int(mark.group(1))
            out[i]["status"] = int(mark.group(2))
            if last_json is not None:
                out[i]["answer"] = last_json
                out[i]["pod"] = last_json.get("pod")
            last_json = None
    return out


def _curl_head_and_json(client, url, headers=(), timeout=5):
    """curl -i: (status, {lower-case response header: [values]}, JSON body or None)."""
    argv = ["curl", "-sS", "-i", "--max-time", str(timeout)]
    for h in headers:
        argv += ["-H", h]
    r = client.run(argv + [url], check=False, timeout=timeout + 20)
    head, _, body = r.stdout.partition("\n\n")  # procs.run reads text: CRLF became LF
    lines = head.splitlines()
    status = None
    if lines and lines[0].startswith("HTTP/"):
        status = int(lines[0].split()[1])
    response_headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            response_headers.setdefault(name.strip().lower(), []).append(value.strip())
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    return status, response_headers, answer, r


def _wait_routed(client, url, pods, headers=(), timeout=15, what=None):
    """Repeats one GET until the pod that answers is one of `pods` three times in a row (the
    route is in force on the agent's workers)."""
    streak = [0]

    def routed():
        answer = _curl_cases(client, [(url, None, list(headers))])[0]
        streak[0] = streak[0] + 1 if answer["pod"] in pods else 0
        return streak[0] >= 3
    procs.wait_until(routed, timeout, interval=0.2,
                     what=what or f"{url} {list(headers)} answered by one of {sorted(pods)}")


def _wait_grpc_routed(sc, pods, timeout=15):
    """Repeats one unary Say until it is answered by one of `pods` three times in a row."""
    streak = [0]

    def routed():
        result = sc.grpc(calls=1, timeout=5, run_timeout=30)
        streak[0] = streak[0] + 1 if set(result["by_pod"]) and \
            set(result["by_pod"]) <= pods else 0
        return streak[0] >= 3
    procs.wait_until(routed, timeout, interval=0.2,
                     what=f"gRPC Say to {sc.address} answered by one of {sorted(pods)}")


def _parent(name="web", port=PORT):
    return [m.service_parent(name, port)]


def _to(name, port=PORT, weight=None):
    return m.backend(name, port, weight)


# -- a. weighted split -----------------------------------------------------------------------

def test_httproute_splits_90_10_between_backend_services(cluster):
    node = cluster.add_node("node1")
    fleet = http_app_services(cluster, node, [ServiceSpec("web", "10.96.0.30"),
                                              ServiceSpec("web-v1", "10.96.0.31"),
                                              ServiceSpec("web-v2", "10.96.0.32")])
    web = fleet["web"]
    route = m.http_route("web-split", NS, _parent(), [
        m.route_rule(backends=[_to("web-v1", weight=SPLIT_WEIGHTS[0]),
                               _to("web-v2", weight=SPLIT_WEIGHTS[1])])])
    cluster.publish_and_wait("route-web-split.json", [route])
    _wait_routed(fleet.client, _url(web), fleet.pod_names("web-v1", "web-v2"))

    own_before = {p.name: _app_requests(p) for p in web.servers}
    r = fleet.client.run([paths.PYTHON, paths.HTTP_CLIENT, web.cluster_ip, str(PORT),
                          "--connections", str(SPLIT_CONNECTIONS),
                          "--requests", str(SPLIT_REQUESTS)], timeout=300)
    result = json.loads(r.stdout)
    total = SPLIT_CONNECTIONS * SPLIT_REQUESTS
    assert result["ok"] == total, result

    by_service = {}
    for pod, n in result["by_pod"].items():
        service = fleet.service_of(pod)
        by_service[service] = by_service.get(service, 0) + n
    assert set(by_service) <= {"web-v1", "web-v2"}, (
        f"requests to web reached pods outside its route's backends: {by_service} {result}")
    share = by_service.get("web-v1", 0) / total
    want = SPLIT_WEIGHTS[0] / sum(SPLIT_WEIGHTS)
    assert abs(share - want) <= SPLIT_TOLERANCE, (
        f"web-v1 got {share:.1%} of {total} requests, want {want:.0%} +- "
        f"{SPLIT_TOLERANCE:.0%}: {by_service}")
    # Both backends were balanced over their own replicas.
    for service in ("web-v1", "web-v2"):
        served = {p: n for p, n in result["by_pod"].items() if fleet.service_of(p) == service}
        assert len(served) == len(fleet[service].servers), (
            f"{service}: only {served} answered of {fleet.pod_names(service)}")
    own_after = {p.name: _app_requests(p) for p in web.servers}
    assert own_after == own_before, (
        f"web's own pods answered requests while the route sent everything elsewhere: "
        f"before {own_before}, after {own_after}")


# -- b. header, path, method and query matches; precedence -----------------------------------

# Gateway API (HTTPRouteRule, "matches"): across all rules of the routes attached to a parent,
# precedence goes to the match with
#   1. an "Exact" path match,
#   2. the "PathPrefix" path match with the most characters,
#   3. a method match,
#   4. the largest number of header matches,
#   5. the largest number of query param matches,
# then the oldest route, then namespace/name, then rule order. A match without a path is
# PathPrefix "/"; PathPrefix matches whole path elements ("/api" matches "/api", "/api/" and
# "/api/x", not "/apiary"); header names compare case-insensitively, Exact values exactly.
ROUTING_CASES = [
    # (why, path, method, headers, the Service that must answer)
    ("no rule but the catch-all matches", "/", None, [], "web-v1"),
    ("catch-all (PathPrefix /) takes any path", "/some/page", None, [], "web-v1"),
    ("header match", "/", None, ["x-canary: true"], "web-v2"),
    ("header value compares exactly", "/", None, ["x-canary: false"], "web-v1"),
    ("header name compares case-insensitively", "/", None, ["X-Canary: true"], "web-v2"),
    ("PathPrefix /api", "/api", None, [], "web-api"),
    ("PathPrefix /api, trailing slash", "/api/", None, [], "web-api"),
    ("PathPrefix /api, deeper path", "/api/items", None, [], "web-api"),
    ("PathPrefix matches whole path elements only", "/apiary", None, [], "web-v1"),
    ("longer path prefix (/api) before header matches (2 before 4)", "/api/items", None,
     ["x-canary: true"], "web-api"),
    ("Exact path before a PathPrefix (1 before 2)", "/api/v2", None, [], "web-v2"),
    ("Exact path only matches exactly", "/api/v2/x", None, [], "web-api"),
    ("Exact path before a method match (1 before 3)", "/api/v2", "PUT", [], "web-v2"),
    ("query param match", "/?canary=1", None, [], "web-api"),
    ("header matches before query param matches (4 before 5)", "/?canary=1", None,
     ["x-canary: true"], "web-v2"),
    ("method match", "/", "PUT", [], "web-api"),
    ("method match before header matches (3 before 4)", "/", "PUT", ["x-canary: true"],
     "web-api"),
]


def test_httproute_matches_and_precedence(cluster):
    node = cluster.add_node("node1")
    specs = [ServiceSpec("web", "10.96.0.30", replicas=1),
             ServiceSpec("web-v1", "10.96.0.31", replicas=1),
             ServiceSpec("web-v2", "10.96.0.32", replicas=1),
             ServiceSpec("web-api", "10.96.0.33", replicas=1)]
    fleet = http_app_services(cluster, node, specs)
    web = fleet["web"]
    route = m.http_route("web-matches", NS, _parent(), [
        m.route_rule(matches=[m.http_match(headers={"x-canary": "true"})],
                     backends=[_to("web-v2")]),
        m.route_rule(matches=[m.http_match(path="/api")], backends=[_to("web-api")]),
        m.route_rule(matches=[m.http_match(path="/api/v2", path_type="Exact")],
                     backends=[_to("web-v2")]),
        m.route_rule(matches=[m.http_match(query_params={"canary": "1"})],
                     backends=[_to("web-api")]),
        m.route_rule(matches=[m.http_match(method="PUT")], backends=[_to("web-api")]),
        m.route_rule(backends=[_to("web-v1")]),  # no matches: PathPrefix "/"
    ])
    cluster.publish_and_wait("route-web-matches.json", [route])
    _wait_routed(fleet.client, _url(web), fleet.pod_names("web-v2"),
                 headers=["x-canary: true"])

    own_before = {p.name: _app_requests(p) for p in web.servers}
    # Every case on one keep-alive connection: routing is decided per request.
    answers = _curl_cases(fleet.client, [(_url(web, path), method, headers)
                                         for _, path, method, headers, _ in ROUTING_CASES])
    wrong = []
    for (why, path, method, headers, want), got in zip(ROUTING_CASES, answers):
        service = fleet.service_of(got["pod"]) if got["pod"] else None
        if service != want:
            wrong.append(f"{method or 'GET'} {path} {headers}: answered by {service} "
                         f"(pod {got['pod']}, status {got['status']}), want {want}: {why}")
    assert not wrong, "misrouted requests:\n" + "\n".join(wrong)
    own_after = {p.name: _app_requests(p) for p in web.servers}
    assert own_after == own_before, (
        f"web's own pods answered although the catch-all rule covers every request: "
        f"{own_before} -> {own_after}")


# -- c. producer and consumer routes (GEP-1426) ----------------------------------------------

CONSUMER_REQUESTS = 10


def test_consumer_route_applies_only_to_its_namespace(cluster):
    """A route in web's own namespace (producer) applies to every client; a route of another
    namespace (consumer) to that namespace's clients only, and for them in place of the
    producer route; once it is deleted they follow the producer route again."""
    node = cluster.add_node("node1")
    fleet = http_app_services(cluster, node, [ServiceSpec("web", "10.96.0.30", replicas=1),
                                              ServiceSpec("web-v1", "10.96.0.31", replicas=1),
                                              ServiceSpec("web-v2", "10.96.0.32", replicas=1)])
    web = fleet["web"]
    clients = {NS: fleet.client}
    for ns in ("team-a", "team-b"):
        clients[ns] = deployment_pods(node, "client", 1, ns)[0]
    cluster.publish("clients.json", [m.pod_object(clients[ns]) for ns in ("team-a", "team-b")])
    producer = m.http_route("web-producer", NS, _parent(), [
        m.route_rule(backends=[_to("web-v1")])])
    consumer = m.http_route("web-team-a", "team-a", [m.service_parent("web", PORT, NS)], [
        m.route_rule(backends=[m.backend("web-v2", PORT, namespace=NS)])])
    cluster.publish_and_wait("route-web-producer.json", [producer])
    cluster.publish_and_wait("route-web-team-a.json", [consumer])

    def services_seen(ns):
        answers = _curl_cases(clients[ns], [(_url(web), None, [])] * CONSUMER_REQUESTS)
        return {fleet.service_of(a["pod"]) if a["pod"] else f"status {a['status']}"
                for a in answers}

    want = {NS: {"web-v1"}, "team-a": {"web-v2"}, "team-b": {"web-v1"}}
    for ns, services in want.items():
        _wait_routed(clients[ns], _url(web), fleet.pod_names(*services),
                     what=f"a client of {ns} routed to {services}")
    seen = {ns: services_seen(ns) for ns in want}
    assert seen == want, f"services that answered each namespace's clients: {seen}"

    cluster.publish_and_wait("route-web-team-a.json", [])
    _wait_routed(clients["team-a"], _url(web), fleet.pod_names("web-v1"),
                 what="team-a back on the producer route once its consumer route is gone")
    assert services_seen("team-a") == {"web-v1"}


# -- d. header filters -----------------------------------------------------------------------

def test_httproute_header_modifier_filters(cluster):
    node = cluster.add_node("node1")
    fleet = http_app_services(cluster, node, [ServiceSpec("web", "10.96.0.30", replicas=1),
                                              ServiceSpec("web-v1", "10.96.0.31", replicas=1),
                                              ServiceSpec("web-v2", "10.96.0.32", replicas=1)])
    web = fleet["web"]
    route = m.http_route("web-filters", NS, _parent(), [
        m.route_rule(matches=[m.http_match(headers={"x-canary": "true"})],
                     backends=[_to("web-v2")],
                     request_headers=m.header_modifier(set={"x-route": "canary"},
                                                       add={"x-added": "by-route"},
                                                       remove=["x-drop-me"]),
                     response_headers=m.header_modifier(add={"x-served-by": "canary-rule"})),
        m.route_rule(backends=[_to("web-v1")]),
    ])
    cluster.publish_and_wait("route-web-filters.json", [route])
    _wait_routed(fleet.client, _url(web), fleet.pod_names("web-v2"),
                 headers=["x-canary: true"])

    # The canary rule: x-route set (replacing the client's own value), x-added appended,
    # x-drop-me removed before the app; x-served-by added to the response.
    status, response_headers, answer, r = _curl_head_and_json(
        fleet.client, _url(web, "/headers"),
        ["x-canary: true", "x-route: spoofed-by-client", "x-drop-me: 1"])
    assert status == 200 and answer, r.stdout
    assert fleet.service_of(answer["pod"]) == "web-v2", answer
    seen = answer["headers"]
    assert seen.get("x-route") == ["canary"], (
        f"RequestHeaderModifier set x-route: canary, the app saw {seen.get('x-route')}: {seen}")
    assert seen.get("x-added") == ["by-route"], (
        f"RequestHeaderModifier add x-added: by-route, the app saw {seen.get('x-added')}: "
        f"{seen}")
    assert "x-drop-me" not in seen, f"RequestHeaderModifier remove x-drop-me: the app saw {seen}"
    assert seen.get("x-canary") == ["true"], seen
    assert response_headers.get("x-served-by") == ["canary-rule"], (
        f"ResponseHeaderModifier add x-served-by: canary-rule, curl saw "
        f"{response_headers}")

    # The other rule has no filters: the request and the response pass unchanged.
    status, response_headers, answer, r = _curl_head_and_json(
        fleet.client, _url(web, "/headers"), ["x-route: mine", "x-drop-me: 1"])
    assert status == 200 and answer, r.stdout
    assert fleet.service_of(answer["pod"]) == "web-v1", answer
    seen = answer["headers"]
    assert seen.get("x-route") == ["mine"] and seen.get("x-drop-me") == ["1"], seen
    assert "x-added" not in seen, seen
    assert "x-served-by" not in response_headers, response_headers


# -- e. GRPCRoute ----------------------------------------------------------------------------

def test_grpcroute_method_match(cluster):
    node = cluster.add_node("node1")
    fleet = grpc_echo_services(cluster, node, [ServiceSpec("grpc", "10.96.0.40", replicas=1),
                                               ServiceSpec("grpc-v1", "10.96.0.41"),
                                               ServiceSpec("grpc-v2", "10.96.0.42")])
    sc = fleet["grpc"]
    route = m.grpc_route("grpc-methods", NS, _parent("grpc", GRPC_SERVICE_PORT), [
        m.route_rule(matches=[m.grpc_match(service="weft.test.Echo", method="Say")],
                     backends=[_to("grpc-v2", GRPC_SERVICE_PORT)]),
        m.route_rule(backends=[_to("grpc-v1", GRPC_SERVICE_PORT)]),
    ])
    cluster.publish_and_wait("route-grpc-methods.json", [route])
    v1, v2 = fleet.pod_names("grpc-v1"), fleet.pod_names("grpc-v2")
    _wait_grpc_routed(sc, v2)

    # /weft.test.Echo/Say -> grpc-v2, calls of one channel balanced over its replicas.
    result = sc.grpc(calls=GRPC_SAY_CALLS, concurrency=4, timeout=10)
    assert result["ok"] == GRPC_SAY_CALLS, result
    assert set(result["by_pod"]) == v2, (
        f"Say calls must all go to grpc-v2 {sorted(v2)}, over both replicas: {result}")

    # Every other method -> grpc-v1 (the rule without matches).
    for method in ("stream", "collect", "chat"):
        result = sc.grpc(method=method, calls=GRPC_STREAM_CALLS, concurrency=GRPC_STREAM_CALLS,
                         messages=10, timeout=30)
        assert result["ok"] == GRPC_STREAM_CALLS, result
        assert set(result["by_pod"]) <= v1, (
            f"{method} calls must go to grpc-v1 {sorted(v1)}: {result}")


# -- f. route types (GEP-1426) ---------------------------------------------------------------

OTHER_GRPC_METHODS = ("stream", "collect", "chat")   # what grpc-say's rule does not match


def _grpc_services(fleet, result):
    """{Service: calls} from a grpc_client.py summary (which Service's pods answered)."""
    out = {}
    for pod, n in result["by_pod"].items():
        service = fleet.service_of(pod)
        out[service] = out.get(service, 0) + n
    return out


def _other_methods_reach(sc, fleet, service, why):
    """Calls of every method but Say (GRPC_STREAM_CALLS each) must all succeed and be answered
    by `service`'s own pods."""
    for method in OTHER_GRPC_METHODS:
        result = sc.grpc(method=method, calls=GRPC_STREAM_CALLS,
                         concurrency=GRPC_STREAM_CALLS, messages=10, timeout=30)
        assert result["ok"] == GRPC_STREAM_CALLS, result
        services = _grpc_services(fleet, result)
        assert set(services) == {service}, (
            f"{method} calls must all reach {service} {sorted(fleet.pod_names(service))} "
            f"({why}); answered by {services}: {result}")


def test_grpcroute_wins_over_httproute_at_one_port(cluster):
    """Where an HTTPRoute and a GRPCRoute attach to one Service port (both producer routes),
    only the GRPCRoute applies (GEP-1426, "Route types"): its method goes to its backend, every
    other gRPC method to the Service's own pods, not to the HTTPRoute's backend (before, a gRPC
    request no GRPCRoute matched fell back to the HTTPRoutes); the agent logs the ignored
    HTTPRoute as manifest.conflict. Once the GRPCRoute is deleted, the HTTPRoute applies again,
    to gRPC requests too."""
    node = cluster.add_node("node1")
    fleet = grpc_echo_services(cluster, node, [ServiceSpec("grpc", "10.96.0.40", replicas=1),
                                               ServiceSpec("grpc-v1", "10.96.0.41", replicas=1),
                                               ServiceSpec("grpc-v2", "10.96.0.42", replicas=1)])
    sc = fleet["grpc"]
    parent = _parent("grpc", GRPC_SERVICE_PORT)
    http_all = m.http_route("grpc-http", NS, parent, [
        m.route_rule(matches=[m.http_match(path="/")],
                     backends=[_to("grpc-v1", GRPC_SERVICE_PORT)])])
    grpc_say = m.grpc_route("grpc-say", NS, parent, [
        m.route_rule(matches=[m.grpc_match(service="weft.test.Echo", method="Say")],
                     backends=[_to("grpc-v2", GRPC_SERVICE_PORT)])])

    # Control: alone at the port, the HTTPRoute (PathPrefix /) takes every gRPC method.
    cluster.publish_and_wait("route-grpc-http.json", [http_all])
    _wait_grpc_routed(sc, fleet.pod_names("grpc-v1"))
    _other_methods_reach(sc, fleet, "grpc-v1", "the HTTPRoute alone at the port takes them")

    # The GRPCRoute attaches to the same port: the HTTPRoute is ignored there.
    offset = node.agent.log_size()
    cluster.publish_and_wait("route-grpc-say.json", [grpc_say])
    _wait_grpc_routed(sc, fleet.pod_names("grpc-v2"))
    result = sc.grpc(calls=GRPC_SAY_CALLS, concurrency=4, timeout=10)
    assert result["ok"] == GRPC_SAY_CALLS, result
    assert _grpc_services(fleet, result) == {"grpc-v2": GRPC_SAY_CALLS}, (
        f"Say calls must all go to the GRPCRoute's backend grpc-v2: {result}")
    _other_methods_reach(sc, fleet, "grpc",
                         "no GRPCRoute rule matches them and the HTTPRoute grpc-http, which "
                         "would send them to grpc-v1, is ignored where a GRPCRoute attaches")

    warning = (f"HTTPRoute {NS}/grpc-http ignored at Service {NS}/grpc port "
               f"{GRPC_SERVICE_PORT}: GRPCRoute {NS}/grpc-say attaches there")
    logged = node.agent.log_since(offset)
    conflicts = [line for line in logged.splitlines() if "manifest.conflict" in line]
    assert any(warning in line for line in conflicts), (
        f"the agent did not log manifest.conflict with {warning!r}; its manifest.conflict "
        f"lines since the GRPCRoute was published: {conflicts}")

    # The GRPCRoute is deleted: the HTTPRoute applies again, to every method.
    cluster.publish_and_wait("route-grpc-say.json", [])
    _wait_grpc_routed(sc, fleet.pod_names("grpc-v1"))
    _other_methods_reach(sc, fleet, "grpc-v1",
                         "the HTTPRoute applies again once the GRPCRoute is gone")


# -- g. the route label ----------------------------------------------------------------------

ROUTE_LABEL_REQUESTS = 6


def test_requests_are_counted_by_the_rule_that_routed_them(cluster):
    """weft_requests_total's `route` label names the rule that matched: "<route>/<rule name>",
    or "<route>/rule-<index>" for a rule without a name; the source's agent sets it (it routes),
    the destination's series leave it empty, and a request no route applies to has none."""
    node = cluster.add_node("node1")
    fleet = http_app_services(cluster, node, [ServiceSpec("web", "10.96.0.30", replicas=1),
                                              ServiceSpec("web-v1", "10.96.0.31", replicas=1),
                                              ServiceSpec("web-v2", "10.96.0.32", replicas=1)])
    web, v1 = fleet["web"], fleet["web-v1"]
    route = m.http_route("web-rules", NS, _parent(), [
        m.route_rule(matches=[m.http_match(headers={"x-canary": "true"})],
                     backends=[_to("web-v2")], name="canary"),
        m.route_rule(backends=[_to("web-v1")]),
    ])
    cluster.publish_and_wait("route-web-rules.json", [route])
    _wait_routed(fleet.client, _url(web), fleet.pod_names("web-v2"),
                 headers=["x-canary: true"])
    _wait_routed(fleet.client, _url(web), fleet.pod_names("web-v1"))
    before = node.agent.metrics()
    cases = [(_url(web), None, ["x-canary: true"])] * ROUTE_LABEL_REQUESTS + \
        [(_url(web), None, [])] * (2 * ROUTE_LABEL_REQUESTS) + \
        [(_url(v1), None, [])] * ROUTE_LABEL_REQUESTS  # web-v1 itself: no route applies
    answers = _curl_cases(fleet.client, cases)
    assert [a["status"] for a in answers] == [200] * len(cases), answers
    source = {"reporter": "source", "source_workload": "client", "response_code": "200"}
    want = {"web-rules/canary": ROUTE_LABEL_REQUESTS,
            "web-rules/rule-1": 2 * ROUTE_LABEL_REQUESTS, "": ROUTE_LABEL_REQUESTS}
    seen = {}

    def counted():
        after = node.agent.metrics()
        for label in want:
            seen[label] = delta(before, after, "weft_requests_total", route=label, **source)
        seen["destination, routed"] = sum(
            delta(before, after, "weft_requests_total", reporter="destination", route=label)
            for label in want if label)
        seen["destination"] = delta(before, after, "weft_requests_total",
                                    reporter="destination", source_workload="client",
                                    response_code="200")
        return seen == {**want, "destination, routed": 0, "destination": len(cases)}
    try:
        procs.wait_until(counted, 10, interval=0.3, what="requests counted by route")
    except TimeoutError as e:
        raise AssertionError(f"{e}: requests counted by route: {seen}, want {want}, none "
                             f"routed among the destination's and {len(cases)} in all") from e
