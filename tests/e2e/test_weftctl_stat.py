"""`weftctl stat --direct` (issue 24): golden signals read from two real agents' own /metrics,
no Prometheus. A client on node1 sends known loads across nodes to two Services on node2: web
(20 requests/s, all answered 200) and broken (5/s, every one answered 503 by its app). Over
10 s windows the rows must say so: per Service from the clients' agent (JSON), per workload
(table, with the pods each one has meshed) and per namespace (wide) from the servers'; per route
rule of web (an HTTPRoute whose rule "rest" takes the load, "api" none) and of broken (no route:
[DEFAULT]) with `weftctl routes`; `weftctl edges` must show client → web, secured, with the
identities each side proved. An agent that cannot be read, or an address that serves something
other than Prometheus text, is a clear error with exit status 1."""
import json
import os
import re
import time

from weftsim import manifests, netns, paths, procs
from weftsim.hardening import start_with_ready_line
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods, two_nodes

NS = "e2e"
WEB_IP, BROKEN_IP = "10.96.0.81", "10.96.0.82"
WEB_RATE, BROKEN_RATE = 20, 5  # requests per second
WINDOW_S = 10
SLOWLORIS = os.path.join(paths.SERVERS_DIR, "slowloris.py")



def _weftctl(build, node, *args, timeout=60):
    """weftctl run in `node`'s netns, where both agents' admin ports are reachable."""
    return procs.run(netns.exec_argv(node.netns, [build.weftctl] + list(args)), check=False,
                     timeout=timeout)


def _app(cluster, pod, *extra):
    pod.servers[HTTP_APP_PORT] = pod.start_process(
        [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name", pod.name]
        + list(extra), pod.name, "http app", cluster.workdir, cluster.cleanup)


def test_stat_direct_reports_what_the_clients_sent(build, cluster):
    n1, n2 = two_nodes(cluster)
    client = deployment_pods(n1, "client", 1, NS)[0]
    web = deployment_pods(n2, "web", 1, NS)[0]
    broken = deployment_pods(n2, "broken", 1, NS)[0]
    _app(cluster, web)
    _app(cluster, broken, "--fail-status", "503")
    objects = [manifests.pod_object(p) for p in (client, web, broken)]
    for name, ip, pod in (("web", WEB_IP, web), ("broken", BROKEN_IP, broken)):
        objects += [manifests.service(name, NS, ip, [("http", 80, HTTP_APP_PORT)]),
                    manifests.endpoint_slice(name, NS, [pod], [("http", HTTP_APP_PORT)])]
    objects.append(manifests.http_route("web", NS, [manifests.service_parent("web", 80)], [
        manifests.route_rule(matches=[manifests.http_match(path="/api")],
                             backends=[manifests.backend("web", 80)], name="api"),
        manifests.route_rule(backends=[manifests.backend("web", 80)], name="rest")]))
    cluster.publish_and_wait("stat.json", objects)
    for ip in (WEB_IP, BROKEN_IP):
        procs.wait_until(lambda ip=ip: client.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3",
             f"http://{ip}/"], check=False).stdout in ("200", "503"), 30,
            what=f"{ip} answering client across nodes")

    for ip, rate in ((WEB_IP, WEB_RATE), (BROKEN_IP, BROKEN_RATE)):
        start_with_ready_line(client, cluster, [
            paths.PYTHON, SLOWLORIS, "probe", ip, "80", "--interval-ms", str(1000 / rate),
            "--timeout", "5", "--seconds", str(WINDOW_S * 7 + 20)], f"load-{ip}", "load", 30)
    time.sleep(2)  # the loads are steady before the window opens
    agents = f"127.0.0.1:{n1.agent.admin_port},{n2.link_addresses[0]}:{n2.agent.admin_port}"
    common = ["--direct", "--agents", agents, "-t", f"{WINDOW_S}s"]

    # Per Service, as the clients' agent counted: what the client asked for. broken's endpoint
    # is soon ejected by the client's agent (every answer a 5xx), which then answers its
    # requests 503 itself: they still count here, as failures.
    r = _weftctl(build, n1, "stat", "svc", "-n", NS, "-o", "json", *common)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    print("stat svc -o json:", json.dumps(rows, indent=1))
    assert set(rows) == {"web", "broken"}, rows
    for name, rate, success in (("web", WEB_RATE, 1.0), ("broken", BROKEN_RATE, 0.0)):
        row = rows[name]
        assert abs(row["rps"] - rate) <= 0.1 * rate, f"{name}: {row['rps']} rps, sent {rate}/s"
        assert row["success"] == success, row

    # Per workload, as the servers' agent counted: web got every request; broken only those its
    # clients' agent still let through (each answered 503 by its app), if any.
    r = _weftctl(build, n1, "stat", "deploy", "-n", NS, *common)
    print("stat deploy:\n" + r.stdout)
    assert r.returncode == 0, r.stderr
    head, *lines = r.stdout.splitlines()
    assert head.split() == ["NAMESPACE", "NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50",
                            "LATENCY_P95", "LATENCY_P99", "TCP_CONN"], r.stdout
    cells = {line.split()[1]: line.split() for line in lines}
    # client: meshed, sending only (no request reached it as a server)
    assert set(cells) == {"web", "broken", "client"}, r.stdout
    assert [cells[w][2] for w in ("web", "broken", "client")] == ["1", "1", "1"], r.stdout
    assert cells["client"][3:5] == ["-", "0.0rps"], r.stdout
    # broken: "-" when its endpoint stayed ejected through the window (no request reached it)
    assert cells["web"][3] == "100.00%" and cells["broken"][3] in ("0.00%", "-"), r.stdout
    rps = float(cells["web"][4].removesuffix("rps"))
    assert abs(rps - WEB_RATE) <= 0.1 * WEB_RATE, r.stdout
    p50, p95, p99 = (float(c.removesuffix("ms")) for c in cells["web"][5:8])
    assert 0 < p50 <= p95 <= p99 < 1000, r.stdout

    # Per route rule, as the clients' agent counted.
    r = _weftctl(build, n1, "routes", "svc/web", "-n", NS, "-o", "wide", *common)
    print("routes svc/web -o wide:\n" + r.stdout)
    assert r.returncode == 0, r.stderr
    head, *lines = r.stdout.splitlines()
    assert head.split() == ["ROUTE", "SERVICE", "EFFECTIVE_SUCCESS", "EFFECTIVE_RPS",
                            "ACTUAL_SUCCESS", "ACTUAL_RPS", "LATENCY_P50", "LATENCY_P95",
                            "LATENCY_P99"], r.stdout
    assert [line.split()[:3] + [line.split()[4]] for line in lines] == [
        ["web/rest", "web", "100.00%", "100.00%"]], r.stdout
    for column in (3, 5):  # no retries: actual = effective
        rps = float(lines[0].split()[column].removesuffix("rps"))
        assert abs(rps - WEB_RATE) <= 0.1 * WEB_RATE, r.stdout
    r = _weftctl(build, n1, "routes", "svc/broken", "-n", NS, "-o", "json", *common)
    assert r.returncode == 0, r.stderr
    routes = json.loads(r.stdout)
    assert [(x["route"], x["service"], x["success"]) for x in routes] == [
        ("[DEFAULT]", "broken", 0)], routes
    assert abs(routes[0]["rps"] - BROKEN_RATE) <= 0.1 * BROKEN_RATE, routes

    # Between two ends: --to's rows are the clients, --from's the servers.
    short = ["--direct", "--agents", agents, "-t", f"{WINDOW_S // 2}s", "-o", "json"]
    r = _weftctl(build, n1, "stat", "deploy", "-n", NS, "--to", "deploy/web", *short)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    print("stat deploy --to deploy/web:", rows)
    assert set(rows) == {"client"} and rows["client"]["meshed"] == 1, rows
    assert abs(rows["client"]["rps"] - WEB_RATE) <= 0.1 * WEB_RATE, rows
    r = _weftctl(build, n1, "stat", "deploy", "-n", NS, "--from", "deploy/client", *short)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(rows) <= {"web", "broken"} and "web" in rows, rows
    assert abs(rows["web"]["rps"] - WEB_RATE) <= 0.1 * WEB_RATE, rows

    r = _weftctl(build, n1, "stat", "ns", "-o", "wide", *common)
    print("stat ns -o wide:\n" + r.stdout)
    assert r.returncode == 0, r.stderr
    cells = dict(zip(r.stdout.splitlines()[0].split(), r.stdout.splitlines()[1].split()))
    assert cells["NAMESPACE"] == NS and cells["MTLS"] == "100.00%", r.stdout
    assert float(cells["RPS"].removesuffix("rps")) >= 0.9 * WEB_RATE, r.stdout
    # broken's 503s count while its endpoint is tried; once it stays ejected, none reach it.
    assert 0 < float(cells["SUCCESS"].removesuffix("%")) <= 100, r.stdout

    r = _weftctl(build, n1, "edges", "deploy", "-n", NS, "-o", "json", *common)
    print("edges deploy -o json:", r.stdout)
    assert r.returncode == 0, r.stderr
    edges = {(e["src"], e["dst"]): e for e in json.loads(r.stdout)}
    # broken's requests that its clients' agent answered itself (endpoint ejected) reached no
    # workload: they show as an edge to the Service, not secured (nothing went over mTLS).
    assert ("client", "web") in edges and set(edges) <= {
        ("client", "web"), ("client", "broken"),
        ("client", f"broken.{NS}.svc.cluster.local")}, edges
    for (_, dst), e in edges.items():
        assert e["src_namespace"] == NS and e["client_id"] == \
            f"spiffe://cluster.local/ns/{NS}/sa/client", e
        if "." not in dst:
            assert e["secured"] and e["dst_namespace"] == NS, e
            assert e["server_id"] == f"spiffe://cluster.local/ns/{NS}/sa/{dst}", e
    r = _weftctl(build, n1, "edges", "deploy", "-n", NS, *common)
    print("edges deploy:\n" + r.stdout)
    assert r.stdout.splitlines()[0].split() == ["SRC", "DST", "SRC_NS", "DST_NS", "SECURED"]
    assert ["client", "web", NS, NS, "\u221a"] in [
        line.split() for line in r.stdout.splitlines()[1:]], r.stdout


def test_stat_direct_names_an_agent_it_cannot_read(build, cluster):
    n1 = cluster.add_node("node1")
    pod = deployment_pods(n1, "web", 1, NS)[0]
    _app(cluster, pod, "--fail-status", "200")  # 200 and JSON for any path, /metrics too
    closed = f"127.0.0.1:{n1.agent.admin_port + 1}"
    r = _weftctl(build, n1, "stat", "deploy", "--direct", "--agents", closed, "-t", "1s")
    assert r.returncode == 1 and f"agent {closed}: GET http://{closed}/metrics:" in r.stderr, r
    # An HTTP server that is no agent: its JSON is not Prometheus text.
    not_agent = f"{pod.ip}:{HTTP_APP_PORT}"
    r = _weftctl(build, n1, "stat", "deploy", "--direct", "--agents", not_agent, "-t", "1s")
    assert r.returncode == 1 and \
        re.search(rf"agent {re.escape(not_agent)}: /metrics line 1: expected a metric name",
                  r.stderr), r
