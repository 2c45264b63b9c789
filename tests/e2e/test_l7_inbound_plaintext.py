"""Plaintext from outside the mesh to a meshed pod (captured by tc into the agent's :15006): the
destination agent detects the protocol as it does outbound. HTTP/1.1 and gRPC are terminated
and every request is counted by the destination (source principal "unknown",
connection_security_policy "none") and delivered to the app from the client's own address; a
WebSocket upgrade goes on as TCP; a server-speaks-first protocol is carried as TCP after the
detection wait, or at once when a Service port in front of the app declares appProtocol tcp;
a policy that turns STRICT during the wait refuses the connection when the wait ends.
One node: a non-meshed client pod and three meshed server pods."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

from weftsim import manifests, paths, procs
from weftsim.manifests import principal
from weftsim.metrics import delta, settled
from weftsim.scenarios import GRPC_PORT, HTTP_APP_PORT, deployment_pods

NS = "e2e"
REQUESTS = "weft_requests_total"
DURATION_COUNT = "weft_request_duration_seconds_count"
OPENED = "weft_tcp_connections_opened_total"
DENIED = "weft_tcp_connections_denied_total"
DETECTION_MS = 300
BANNER_PORT = 7000
HTTP_REQUESTS = 10
GRPC_CALLS = 20
WS_MESSAGES = 5

def _labels(server, **extra):
    """What the destination agent must say of a request from the non-meshed client."""
    return {"reporter": "destination", "source_workload": "plain", "source_principal": "unknown",
            "destination_workload": server.workload, "destination_principal":
            principal(NS, server.workload), "connection_security_policy": "none", **extra}


def _wait_counted(agent, before, name, labels, expected, what):
    def counted():
        return delta(before, agent.metrics(), name, **labels) == expected
    try:
        procs.wait_until(counted, 10, what=what)
    except TimeoutError as e:
        now = agent.metrics()
        lines = [line for line in now.text.splitlines() if line.startswith(name)]
        raise AssertionError(f"{e}: {delta(before, now, name, **labels)} of {expected} with "
                             f"{labels}\n" + "\n".join(lines)) from None


def _banner(client, ip):
    return client.client("banner", ip, BANNER_PORT, timeout=30)


def test_plaintext_requests_from_outside_the_mesh_are_counted_one_by_one(cluster):
    node = cluster.add_node(
        "node1", agent_args=["--protocol-detection-timeout-ms", str(DETECTION_MS)])
    agent = node.agent
    plain = deployment_pods(node, "plain", 1, NS, meshed=False)[0]
    web = deployment_pods(node, "web", 1, NS)[0]
    grpc = deployment_pods(node, "grpc", 1, NS)[0]
    greeter = deployment_pods(node, "greeter", 1, NS)[0]
    web.start_process([paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT),
                       "--name", web.name], "web", "http app", cluster.workdir, cluster.cleanup)
    grpc.start_process([paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(GRPC_PORT),
                        "--name", grpc.name], "grpc", "grpc echo", cluster.workdir,
                       cluster.cleanup)
    greeter.start_server("banner", BANNER_PORT, cluster.workdir, cluster.cleanup)
    pods = [plain, web, grpc, greeter]
    cluster.publish_and_wait("pods.json", [manifests.pod_object(p) for p in pods])
    web_url = f"http://{web.ip}:{HTTP_APP_PORT}"

    # HTTP/1.1: ten requests and a 404 on one keep-alive connection (curl reuses it).
    before = settled(agent)
    urls = [f"{web_url}/" for _ in range(HTTP_REQUESTS)] + [f"{web_url}/missing"]
    r = plain.run(["curl", "-sS", "--max-time", "10", "-w", "\\n"] + urls, timeout=30)
    answers = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(answers) == HTTP_REQUESTS + 1, r.stdout
    assert {a["pod"] for a in answers} == {web.name}, answers
    assert {a["peer"] for a in answers} == {plain.ip}, \
        f"the app must see the client's own address {plain.ip}: {answers}"
    assert len({a["conn"] for a in answers}) == 1, \
        f"one client connection, one connection to the app (kept alive): {answers}"
    http = _labels(web, request_protocol="http")
    _wait_counted(agent, before, REQUESTS, {**http, "response_code": "200"}, HTTP_REQUESTS,
                  "the destination counting each plaintext HTTP/1.1 request")
    after = agent.metrics()
    assert delta(before, after, REQUESTS, **http, response_code="404") == 1, after.text
    assert delta(before, after, DURATION_COUNT, **http) == HTTP_REQUESTS + 1, after.text
    assert delta(before, after, OPENED, destination_workload="web") == 0, \
        "an HTTP connection is counted by its requests, not as TCP"

    # gRPC (HTTP/2, prior knowledge) on one channel.
    before = settled(agent)
    r = plain.run([paths.PYTHON, paths.GRPC_CLIENT, "--target", f"{grpc.ip}:{GRPC_PORT}",
                   "--calls", str(GRPC_CALLS), "--concurrency", "4", "--timeout", "10"],
                  timeout=120)
    result = json.loads(r.stdout)
    assert result["ok"] == GRPC_CALLS, result
    assert result["by_peer"] == {plain.ip: GRPC_CALLS}, \
        f"the app must see the client's own address {plain.ip}: {result}"
    _wait_counted(agent, before, REQUESTS,
                  _labels(grpc, request_protocol="grpc", response_code="200",
                          grpc_response_status="0"),
                  GRPC_CALLS, "the destination counting each plaintext gRPC call")

    # A WebSocket upgrade leaves HTTP: the connection goes on to the app as TCP.
    before = agent.metrics()
    r = plain.run([paths.PYTHON, paths.WS_CLIENT, web.ip, str(HTTP_APP_PORT),
                   "--messages", str(WS_MESSAGES), "--sizes", "10,70000"], timeout=60)
    ws = json.loads(r.stdout)
    assert ws["ok"] == WS_MESSAGES and ws["closed"] and not ws["errors"], ws
    assert ws["pod"] == web.name, ws
    _wait_counted(agent, before, OPENED, _labels(web), 1,
                  "the upgraded connection counted as TCP by the destination")

    # Server speaks first: carried as TCP once the agent gave up waiting for the client...
    answer = _banner(plain, greeter.ip)
    assert answer["banner"] == f"hello from {greeter.name}\n" and answer["echo"] == "ping", \
        answer
    assert DETECTION_MS / 1000 * 0.9 <= answer["waited"] < DETECTION_MS / 1000 + 1.0, answer

    # ...and at once when a Service port in front of it declares appProtocol tcp.
    svc = manifests.service("greeter", NS, "10.96.0.70", [("banner", BANNER_PORT, BANNER_PORT)])
    svc["spec"]["ports"][0]["appProtocol"] = "tcp"
    cluster.publish_and_wait("greeter.json", [
        svc, manifests.endpoint_slice("greeter", NS, [greeter], [("banner", BANNER_PORT)])])
    deadline = time.monotonic() + 10
    while True:  # publish_and_wait saw the World; a worker may take a moment to get its view
        answer = _banner(plain, greeter.ip)
        if answer["waited"] < DETECTION_MS / 1000 / 2 or time.monotonic() > deadline:
            break
    assert answer["banner"] == f"hello from {greeter.name}\n" and answer["echo"] == "ping", \
        answer
    assert answer["waited"] < DETECTION_MS / 1000 / 2, \
        f"appProtocol tcp must spare the detection wait: {answer}"


# Runs in the client pod: one keep-alive HTTP/1.1 connection; a first request, then one every
# 0.1 s until one is refused (or 15 s pass). Prints "ready <status>" after the first, then
# one JSON line: every status in order and the app's connection numbers of the 200s.
_KEEPALIVE_CLIENT = r"""
import http.client, json, sys, time
c = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
def get():
    c.request("GET", "/")
    r = c.getresponse()
    body = r.read()
    return r.status, (json.loads(body)["conn"] if r.status == 200 else None)
status, conn = get()
statuses, conns = [status], [conn]
print("ready", status, flush=True)
deadline = time.monotonic() + 15
while statuses[-1] != 403 and time.monotonic() < deadline:
    time.sleep(0.1)
    status, conn = get()
    statuses.append(status)
    if conn is not None:
        conns.append(conn)
print(json.dumps({"statuses": statuses, "conns": conns}), flush=True)
"""


def test_a_policy_turned_strict_refuses_the_next_request_on_an_open_connection(cluster):
    """The TCP path decides once per connection; HTTP from outside the mesh is decided per
    request: once the pod's MeshPolicy says STRICT, the next request on a connection admitted
    under PERMISSIVE is answered 403 and counted so."""
    node = cluster.add_node("node1")
    agent = node.agent
    plain = deployment_pods(node, "plain", 1, NS, meshed=False)[0]
    web = deployment_pods(node, "web", 1, NS)[0]
    web.start_process([paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT),
                       "--name", web.name], "web", "http app", cluster.workdir, cluster.cleanup)
    cluster.publish_and_wait("pods.json", [manifests.pod_object(p) for p in (plain, web)])

    before = settled(agent)
    client = plain.start_process([paths.PYTHON, "-c", _KEEPALIVE_CLIENT, web.ip,
                                  str(HTTP_APP_PORT)], "keepalive", "keep-alive client",
                                 cluster.workdir, cluster.cleanup)
    cluster.publish_and_wait("policy.json", [manifests.mesh_policy(
        "web-strict", NS, mode="STRICT", match_labels={"app": "web"})])
    result = json.loads(client.readline(timeout=30))
    statuses = result["statuses"]
    assert statuses[0] == 200 and statuses[-1] == 403, \
        f"admitted under PERMISSIVE, then refused once STRICT: {statuses}"
    assert set(statuses) == {200, 403} and statuses.index(403) == len(statuses) - 1, statuses
    assert len(set(result["conns"])) == 1, f"one connection to the app throughout: {result}"
    _wait_counted(agent, before, REQUESTS, _labels(web, request_protocol="http",
                                                   response_code="403"), 1,
                  "the refused request counted with response_code 403")


def test_a_policy_turned_strict_while_detecting_refuses_the_connection(cluster):
    """A connection is admitted when it is accepted, then waits for its first bytes; if the pod's
    MeshPolicy turns STRICT meanwhile, the agent refuses it when the wait ends instead of
    carrying it to the app under the policy it was accepted with."""
    detection_s = 4
    node = cluster.add_node(
        "node1", agent_args=["--protocol-detection-timeout-ms", str(detection_s * 1000)])
    agent = node.agent
    plain = deployment_pods(node, "plain", 1, NS, meshed=False)[0]
    greeter = deployment_pods(node, "greeter", 1, NS)[0]
    greeter.start_server("banner", BANNER_PORT, cluster.workdir, cluster.cleanup)
    cluster.publish_and_wait("pods.json", [manifests.pod_object(p) for p in (plain, greeter)])
    banner = [paths.PYTHON, paths.POD_CLIENT, "banner", greeter.ip, str(BANNER_PORT)]

    # Control: under PERMISSIVE the connection is carried as TCP once the wait is over.
    answer = _banner(plain, greeter.ip)
    assert answer["banner"] == f"hello from {greeter.name}\n" and answer["echo"] == "ping", \
        answer

    before = settled(agent)
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        client = pool.submit(plain.run, banner, check=False, timeout=30)
        time.sleep(0.3)  # the client has connected and is waiting for the greeting
        cluster.publish_and_wait("policy.json", [manifests.mesh_policy(
            "greeter-strict", NS, mode="STRICT", match_labels={"app": "greeter"})])
        published = time.monotonic() - started
        r = client.result()
        waited = time.monotonic() - started
    assert published < detection_s * 0.8, \
        f"the policy took {published:.1f} s to load: the test needs it within the wait"
    assert r.returncode != 0 and "hello" not in r.stdout, \
        f"the app was reached under the policy the connection was accepted with: {r.stdout!r}"
    assert waited >= detection_s * 0.9, \
        f"refused after {waited:.1f} s: it must be admitted on accept, refused after the wait"
    denied = {"reason": "plaintext_in_strict", "destination_workload": "greeter",
              "connection_security_policy": "none"}
    _wait_counted(agent, before, DENIED, denied, 1, "the refusal counted as a denial")
    assert delta(before, agent.metrics(), OPENED, destination_workload="greeter") == 0
