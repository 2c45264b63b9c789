"""A TCP connection to a Service goes to an endpoint that takes it (issue 23, from the chaos
soak). One endpoint of the Service on the client's node, one on the other node; the app sends
first (16 bytes, which protocol detection reads) and reads the echo.

- When the chosen endpoint refuses (its server killed: the local connect is refused, or the
  peer agent answers the tunnel's CONNECT with 502), the agent sends the connection to the other
  endpoint, what detection read first; the app sees no failure. The endpoint that refused gets
  new connections again only when nothing else is left, or 5 s later. Each is counted in
  weft_tcp_connect_failures_total{outcome="redialed"} with the refusing endpoint's identity,
  or outcome="reset" when no endpoint was left.
- When every endpoint is down the app is reset at once; the first connection after one endpoint
  is back is served (its connect is the probe: no backoff to wait out).
- The same for HTTP: with every endpoint ejected for refusing connections, a request tries them
  again, so the first request after one is back gets 200, not 503.
- An app that resets a connection as it accepts it, before a byte moved either way (it died or
  shed the connection), is one that refused: the connection goes to the other endpoint (the
  chaos soak's last failure: a banner server killed 1 ms after it accepted)."""
import signal
import time

import pytest

from weftsim import manifests, paths, procs
from weftsim.cluster import publish_service
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods, http_app_service, two_nodes

PORT = 9000
CLUSTER_IP = "10.96.0.70"
CHURN_SECONDS = 4
CHURN_INTERVAL_MS = 40
FAILURES = "weft_tcp_connect_failures_total"


def churn(client, seconds=CHURN_SECONDS):
    return client.client("churn", CLUSTER_IP, PORT, "--interval-ms", CHURN_INTERVAL_MS,
                         "--seconds", seconds, timeout=seconds + 60)


def tcp_service(cluster):
    n1, n2 = two_nodes(cluster)
    client = deployment_pods(n1, "client", 1, "e2e")[0]
    local = deployment_pods(n1, "tcp", 1, "e2e")[0]
    remote = deployment_pods(n2, "tcp", 1, "e2e")[0]
    for pod in (local, remote):
        pod.start_server("echo", PORT, cluster.workdir, cluster.cleanup)
    publish_service(cluster, "tcp", "e2e", CLUSTER_IP, [("main", PORT, PORT)], [local, remote],
                    extra_pods=[client])
    procs.wait_until(lambda: churn(client, seconds=0.5)["ok"] > 0, 20,
                     what="the client reaching the Service")
    return n1, client, local, remote


def assert_served(result, what):
    print(f"{what}: {result['ok']} of {result['attempts']} echoed, "
          f"failures {result['failures'][:5]}")
    assert result["attempts"] >= 20, result
    assert result["ok"] == result["attempts"], (what, result)


@pytest.mark.parametrize("refusing", ["same-node", "across-nodes"])
def test_a_refused_tcp_connection_goes_to_another_endpoint(cluster, refusing):
    n1, client, local, remote = tcp_service(cluster)
    victim = local if refusing == "same-node" else remote
    victim.servers[PORT].stop(sig=signal.SIGKILL)
    before = n1.agent.metrics()
    assert_served(churn(client), f"{refusing} endpoint down")
    # Each connection that met the dead endpoint was sent on, and counted with its identity.
    after = n1.agent.metrics()
    redialed = after.sum(FAILURES, outcome="redialed", destination_workload="tcp") - \
        before.sum(FAILURES, outcome="redialed", destination_workload="tcp")
    assert redialed >= 1, after.text

    # Both down: reset at once (no hang), and the first connection after one is back is served.
    (remote if victim is local else local).servers[PORT].stop(sig=signal.SIGKILL)
    down = churn(client, seconds=1)
    print("both down:", down)
    assert down["ok"] == 0, down
    assert down["attempts"] >= 10, f"connections were not refused at once: {down}"
    assert n1.agent.metrics().sum(FAILURES, outcome="reset") >= down["attempts"], n1.agent.log(6000)
    victim.start_server("echo", PORT, cluster.workdir, cluster.cleanup)
    first = client.client("echo", CLUSTER_IP, PORT, "--connections", 1, "--size", 16)
    assert first["ok"] == 1, f"the first connection after an endpoint came back: {first}"
    assert_served(churn(client, seconds=2), "one endpoint back")


def test_http_to_a_service_whose_endpoints_all_refused_is_served_once_one_is_back(cluster):
    n1, _ = two_nodes(cluster)
    sc = http_app_service(cluster, n1, replicas=2)
    url = f"http://{sc.cluster_ip}:{sc.port}/"
    for pod in sc.servers:
        pod.servers[HTTP_APP_PORT].stop(sig=signal.SIGKILL)
    # Enough requests to eject both endpoints (5 refused connections each, in a row).
    statuses = [sc.client.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                               "--max-time", "2", url], check=False).stdout
                for _ in range(15)]
    assert set(statuses) == {"503"}, statuses
    after = n1.agent.metrics()
    assert after.sum("weft_endpoint_ejections_total") >= 2, after.text
    victim = sc.servers[0]
    argv = [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name", victim.name]
    victim.servers[HTTP_APP_PORT] = victim.start_process(
        argv, f"web-{HTTP_APP_PORT}-again", "web server", cluster.workdir, cluster.cleanup)
    started = time.monotonic()
    body = sc.client.curl(url, timeout=2)
    print(f"first request after the restart answered in {time.monotonic() - started:.3f} s")
    assert victim.name in body, body


RESET_CONNECTIONS = 20


def test_a_connection_an_app_resets_before_any_byte_goes_to_another_endpoint(cluster):
    """Opaque TCP (appProtocol tcp: no detection), the app speaks first; on one node, one
    endpoint resets every connection as it accepts it, the other sends a banner and echoes.
    Every connection must get the banner; before, about half were reset."""
    node = cluster.add_node("node1")
    client = deployment_pods(node, "client", 1, "e2e")[0]
    resetting, greeting = deployment_pods(node, "tcp", 2, "e2e")
    resetting.start_server("reset", PORT, cluster.workdir, cluster.cleanup)
    greeting.start_server("banner", PORT, cluster.workdir, cluster.cleanup)
    svc = manifests.service("tcp", "e2e", CLUSTER_IP, [("main", PORT, PORT)])
    svc["spec"]["ports"][0]["appProtocol"] = "tcp"
    before = node.agent.metrics()
    cluster.publish_and_wait("tcp.json", [
        svc, manifests.endpoint_slice("tcp", "e2e", [resetting, greeting], [("main", PORT)])]
        + [manifests.pod_object(p) for p in (client, resetting, greeting)])
    outcomes = []
    for _ in range(RESET_CONNECTIONS):
        r = client.run([paths.PYTHON, paths.POD_CLIENT, "banner", CLUSTER_IP, str(PORT)],
                       check=False, timeout=60)
        outcomes.append(r.stdout.strip() or r.stderr.strip().splitlines()[-1])
    after = node.agent.metrics()
    greeted = sum(f"hello from {greeting.name}" in o for o in outcomes)
    redialed = after.sum(FAILURES, outcome="redialed") - before.sum(FAILURES, outcome="redialed")
    log = node.agent.log_since(0)
    print(f"{greeted} of {RESET_CONNECTIONS} connections got the banner; "
          f"{log.count('flow.reset_unused')} redialled after a reset, {redialed} counted")
    assert greeted == RESET_CONNECTIONS, "\n".join(outcomes)
    assert "flow.reset_unused" in log, log[-3000:]  # some did go to the resetting app first
