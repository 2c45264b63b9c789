"""MeshPolicy (issue 3): `allow` lists decide which peer principals reach the selected pods
across nodes, STRICT refuses plaintext from non-meshed sources, PERMISSIVE lets it in as
connection_security_policy="none" (its HTTP requests counted one by one). Every refusal is
counted with its reason."""
import json

from weftsim import manifests, procs
from weftsim.manifests import principal
from weftsim.metrics import delta
from weftsim.scenarios import ECHO_PORT, deployment_pods, echo_service, two_nodes

DENIED = "weft_tcp_connections_denied_total"
OPENED = "weft_tcp_connections_opened_total"
REQUESTS = "weft_requests_total"
ATTEMPTS = 5


def _refused(pod, url):
    """True when curl got no response at all (connection reset/closed, no body)."""
    r = pod.curl(url, timeout=5, check=False)
    return r.returncode != 0 and r.stdout == ""


def _denied_lines(metrics):
    return "\n".join(line for line in metrics.text.splitlines() if line.startswith(DENIED))


def _http_refused(pod, url):
    """True when the agent answered curl with 403 (an HTTP request refused by policy)."""
    r = pod.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url],
                check=False, timeout=15)
    return r.stdout.strip() == "403"


def _tcp_refused(pod, sc):
    """True when a raw TCP connection to the Service got nothing back (reset)."""
    result = pod.client("echo", sc.cluster_ip, ECHO_PORT, "--connections", 1, "--size", 100)
    return result["ok"] == 0


def test_allow_list_admits_principal_x_and_refuses_principal_y(cluster):
    """Refusals happen on the destination's node: a raw TCP connection is reset and counted
    in weft_tcp_connections_denied_total, an HTTP request is answered 403 and counted in
    weft_requests_total with response_code 403."""
    n1, n2 = two_nodes(cluster)
    sc = echo_service(cluster, client_node=n1, server_node=n2, modes=("http", "echo"))
    intruder = deployment_pods(n1, "intruder", 1, sc.namespace)[0]
    cluster.publish("intruder.json", [manifests.pod_object(intruder)])
    procs.wait_until(lambda: intruder.curl(sc.url, timeout=2, check=False).returncode == 0, 15,
                     what="the intruder reaching echo before any policy (control)")

    x, y = principal(sc.namespace, "client"), principal(sc.namespace, "intruder")
    cluster.publish("policy.json", [manifests.mesh_policy(
        "echo-callers", sc.namespace, match_labels={"app": "echo"}, principals=[x])])
    procs.wait_until(lambda: _http_refused(intruder, sc.url), 15,
                     what="the MeshPolicy refusing the intruder")

    before1, before2 = n1.agent.metrics(), n2.agent.metrics()
    for _ in range(ATTEMPTS):
        answer = json.loads(sc.client.curl(sc.url))
        assert answer["peer"] == sc.client.ip
        assert sc.client.client("echo", sc.cluster_ip, ECHO_PORT, "--connections", 1,
                                "--size", 100)["ok"] == 1
        assert _http_refused(intruder, sc.url), f"principal {y} was not refused over HTTP"
        assert _tcp_refused(intruder, sc), f"principal {y} was not refused over TCP"

    denied = {"reason": "not_allowed", "source_principal": y,
              "destination_principal": principal(sc.namespace, "echo"),
              "destination_workload": "echo"}
    forbidden = {"reporter": "destination", "source_principal": y, "response_code": "403",
                 "destination_principal": principal(sc.namespace, "echo"),
                 "connection_security_policy": "mutual_tls"}

    def counted():
        now = n2.agent.metrics()
        return (delta(before2, now, DENIED, **denied),
                delta(before2, now, REQUESTS, **forbidden)) == (ATTEMPTS, ATTEMPTS)
    try:
        procs.wait_until(counted, 10, what=f"{ATTEMPTS} TCP denials and {ATTEMPTS} 403s on node2")
    except TimeoutError as e:
        now = n2.agent.metrics()
        raise AssertionError(f"{e}\nTCP denials {delta(before2, now, DENIED, **denied)}, "
                             f"403s {delta(before2, now, REQUESTS, **forbidden)}\n"
                             f"node2:\n{_denied_lines(now)}"
                             f"\nnode1:\n{_denied_lines(n1.agent.metrics())}") from None
    after2 = n2.agent.metrics()
    # The allowed principal was never denied, and its calls were carried over mTLS.
    assert delta(before2, after2, DENIED, source_principal=x) == 0, _denied_lines(after2)
    assert delta(before2, after2, OPENED, reporter="destination", source_principal=x,
                 connection_security_policy="mutual_tls") >= ATTEMPTS, after2.text
    assert delta(before2, after2, REQUESTS, reporter="destination", source_principal=x,
                 response_code="200", connection_security_policy="mutual_tls") >= ATTEMPTS
    assert delta(before1, n1.agent.metrics(), DENIED, source_principal=x) == 0


def test_strict_refuses_plaintext_and_permissive_admits_it_as_none(cluster):
    n1, n2 = two_nodes(cluster)
    ns = "e2e"
    strict = deployment_pods(n2, "strict", 1, ns)[0]
    open_ = deployment_pods(n2, "open", 1, ns)[0]
    meshed_client = deployment_pods(n1, "client", 1, ns)[0]
    plain = deployment_pods(n1, "plain", 1, ns, meshed=False)[0]
    for pod in (strict, open_):
        pod.start_server("http", 8080, cluster.workdir, cluster.cleanup)
    cluster.publish("pods.json", [manifests.pod_object(p)
                                  for p in (strict, open_, meshed_client, plain)])
    cluster.publish("policy.json", [manifests.mesh_policy(
        "strict-only", ns, mode="STRICT", match_labels={"app": "strict"})])
    strict_url, open_url = f"http://{strict.ip}:8080/", f"http://{open_.ip}:8080/"

    # Control: the meshed client reaches the STRICT pod (through the tunnel, mTLS).
    procs.wait_until(lambda: meshed_client.curl(strict_url, timeout=2), 15,
                     what="the meshed client reaching the STRICT pod")
    procs.wait_until(lambda: _refused(plain, strict_url), 15,
                     what="the STRICT pod refusing plaintext")

    before = n2.agent.metrics()
    for _ in range(ATTEMPTS):
        r = plain.curl(strict_url, timeout=5, check=False)
        assert r.returncode != 0 and r.stdout == "", \
            f"plaintext reached the STRICT pod: exit {r.returncode} body {r.stdout!r}"
        answer = json.loads(plain.curl(open_url))
        assert answer["pod"] == open_.name and answer["peer"] == plain.ip

    denied = {"reason": "plaintext_in_strict", "destination_workload": "strict",
              "destination_principal": principal(ns, "strict"),
              "connection_security_policy": "none"}
    # PERMISSIVE: curl's plaintext HTTP is read as HTTP by the destination agent, and each
    # request counted there (no TCP connection is counted for an HTTP one).
    admitted = {"reporter": "destination", "destination_workload": "open",
                "destination_principal": principal(ns, "open"),
                "source_principal": "unknown", "connection_security_policy": "none",
                "response_code": "200", "request_protocol": "http"}

    def counted():
        now = n2.agent.metrics()
        return (delta(before, now, DENIED, **denied) == ATTEMPTS
                and delta(before, now, REQUESTS, **admitted) == ATTEMPTS)
    try:
        procs.wait_until(counted, 10, what="STRICT denials and PERMISSIVE admissions counted")
    except TimeoutError as e:
        now = n2.agent.metrics()
        raise AssertionError(
            f"{e}\ndenied labels={denied}: {delta(before, now, DENIED, **denied)}\n"
            f"admitted labels={admitted}: {delta(before, now, REQUESTS, **admitted)}\n"
            f"{_denied_lines(now)}\n"
            + "\n".join(line for line in now.text.splitlines()
                        if line.startswith(REQUESTS))) from None
    # The meshed client's mTLS flows to the STRICT pod were not refused.
    now = n2.agent.metrics()
    assert delta(before, now, DENIED, source_principal=principal(ns, "client")) == 0
