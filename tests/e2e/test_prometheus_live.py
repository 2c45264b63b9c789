"""weft's recording rules (manifests/monitoring/prometheusrule.yaml) live: a real Prometheus
(Debian's) scrapes two real agents every second while a client on node1 sends a known number of
HTTP requests, each on a new connection, to a Service whose one endpoint is on node2. Every
rule must return data for that traffic, and the request rates must agree with what the client
sent (within 5 %): the server's agent (reporter="destination") per workload and namespace, the
client's (reporter="source") per edge and per route rule (an HTTPRoute with one rule, "all",
sends web's requests to web). `weftctl stat --prometheus` must read the same rates from the
server, per workload and per Service, and `weftctl edges --prometheus` the edge client → web,
secured."""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

from weftsim import manifests, netns, paths, procs
from weftsim.hardening import start_with_ready_line
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods, two_nodes

NS = "e2e"
CLUSTER_IP = "10.96.0.80"
RATE = 20           # requests per second
SECONDS = 80        # long enough for a full 1m rate window of steady load
PROMETHEUS_PORT = 19090
SLOWLORIS = os.path.join(paths.SERVERS_DIR, "slowloris.py")
RULES = os.path.join(paths.REPO_ROOT, "tools", "monitoring", "rules.py")


def _link_address(node):
    out = netns.ip(node.netns, "-4", "-o", "addr", "show", "dev", node.links[0]).stdout
    return re.search(r"inet (\S+)/", out).group(1)


def _start_prometheus(cluster, node, targets):
    """Prometheus in `node`'s netns scraping `targets` (host:port) every second with weft's
    rules, its data in the cluster's workdir; returns the query function once it is ready."""
    assert shutil.which("prometheus"), \
        "prometheus is missing: apt-get install prometheus (tools/packages.txt)"
    home = os.path.join(cluster.workdir, "prometheus")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "weft.rules.yml"), "w", encoding="utf-8") as f:
        subprocess.run(["/usr/bin/python3", RULES], stdout=f, check=True)
    config = os.path.join(home, "prometheus.yml")
    with open(config, "w", encoding="utf-8") as f:
        json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                   "rule_files": ["weft.rules.yml"],
                   "scrape_configs": [{"job_name": "weft-agent",
                                       "static_configs": [{"targets": targets}]}]}, f)
    svc = procs.Service(netns.exec_argv(node.netns, [
        "prometheus", f"--config.file={config}", f"--storage.tsdb.path={home}/data",
        f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}", "--log.level=warn"]),
        os.path.join(cluster.workdir, "prometheus.log"), "prometheus")
    cluster.cleanup.push("stop prometheus", svc.stop)

    def get(path):
        r = procs.run(netns.exec_argv(node.netns, [
            "curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{PROMETHEUS_PORT}{path}"]),
            check=False, timeout=15)
        return r.stdout if r.returncode == 0 else None
    procs.wait_until(lambda: get("/-/ready") is not None, 30, what="prometheus ready")

    def query(expr):
        body = get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]
    return query, get


def _weftctl_stat(build, node, *args):
    """`weftctl stat ... --prometheus` in `node`'s netns, where the server listens: its rows."""
    r = procs.run(netns.exec_argv(node.netns, [
        build.weftctl, "stat", *args, "--prometheus", f"http://127.0.0.1:{PROMETHEUS_PORT}",
        "-t", "60s", "-o", "json"]), check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    return {row["name"]: row for row in json.loads(r.stdout)}


def test_recording_rules_agree_with_the_traffic_sent(build, cluster):
    n1, n2 = two_nodes(cluster)
    client = deployment_pods(n1, "client", 1, NS)[0]
    web = deployment_pods(n2, "web", 1, NS)[0]
    web.servers[HTTP_APP_PORT] = web.start_process(
        [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name", web.name],
        "web", "http app", cluster.workdir, cluster.cleanup)
    svc = manifests.service("web", NS, CLUSTER_IP, [("http", 80, HTTP_APP_PORT)])
    route = manifests.http_route("web", NS, [manifests.service_parent("web", 80)], [
        manifests.route_rule(backends=[manifests.backend("web", 80)], name="all")])
    cluster.publish_and_wait("web.json", [
        svc, manifests.endpoint_slice("web", NS, [web], [("http", HTTP_APP_PORT)]), route]
        + [manifests.pod_object(p) for p in (client, web)])
    procs.wait_until(lambda: client.run(["curl", "-sS", "--fail", "--max-time", "3",
                                         f"http://{CLUSTER_IP}/"], check=False).returncode == 0,
                     30, what="web answering client across nodes")

    query, get = _start_prometheus(cluster, n1, [f"127.0.0.1:{n1.agent.admin_port}",
                                                 f"{_link_address(n2)}:{n2.agent.admin_port}"])
    procs.wait_until(lambda: len(query('up{job="weft-agent"} == 1')) == 2, 30,
                     what="prometheus scraping both agents")

    load = start_with_ready_line(client, cluster, [
        paths.PYTHON, SLOWLORIS, "probe", CLUSTER_IP, "80", "--interval-ms", str(1000 / RATE),
        "--timeout", "5", "--seconds", str(SECONDS)], "load", "load", 30)
    started = time.monotonic()
    time.sleep(SECONDS - 2)  # the last minute of steady load is in every 1m rate
    workload = 'destination_workload_namespace="e2e", destination_workload="web"'
    edge = 'source_workload="client", ' + workload
    rule = f'destination_service="web.{NS}.svc.cluster.local", route="web/all"'
    figures = {name: query(expr) for name, expr in {
        "rate": f"workload:weft_requests:rate1m{{{workload}}}",
        "success_rate": f"workload:weft_requests_success:rate1m{{{workload}}}",
        "success_ratio": f"workload:weft_requests_success:ratio_rate1m{{{workload}}}",
        "mtls_rate": f"workload:weft_requests_mtls:rate1m{{{workload}}}",
        "p50": f"workload:weft_request_duration_seconds:p50_rate1m{{{workload}}}",
        "p95": f"workload:weft_request_duration_seconds:p95_rate1m{{{workload}}}",
        "p99": f"workload:weft_request_duration_seconds:p99_rate1m{{{workload}}}",
        "namespace_rate": 'namespace:weft_requests:rate1m{destination_workload_namespace="e2e"}',
        "namespace_success": 'namespace:weft_requests_success:rate1m'
                             '{destination_workload_namespace="e2e"}',
        "edge_rate": f"edge:weft_requests:rate1m{{{edge}}}",
        "route_rate": f"route:weft_requests:rate1m{{{rule}}}",
        "route_success": f"route:weft_requests_success:rate1m{{{rule}}}",
        "route_p50": f"route:weft_request_duration_seconds:p50_rate1m{{{rule}}}",
        "route_p95": f"route:weft_request_duration_seconds:p95_rate1m{{{rule}}}",
        "route_p99": f"route:weft_request_duration_seconds:p99_rate1m{{{rule}}}",
    }.items()}
    stat = {"deploy": _weftctl_stat(build, n1, "deploy", "-n", NS),
            "svc": _weftctl_stat(build, n1, "svc/web", "-n", NS)}
    edges = procs.run(netns.exec_argv(n1.netns, [
        build.weftctl, "edges", "deploy", "-n", NS, "--prometheus",
        f"http://127.0.0.1:{PROMETHEUS_PORT}", "-t", "60s", "-o", "json"]), check=False,
        timeout=60)
    shown = procs.run(netns.exec_argv(n1.netns, [
        build.weftctl, "stat", "deploy", "-n", NS, "--prometheus",
        f"http://127.0.0.1:{PROMETHEUS_PORT}", "--show-query"]), check=False, timeout=60)
    sent = json.loads(load.readline(timeout=SECONDS + 30 - (time.monotonic() - started)))
    values = {name: [float(s["value"][1]) for s in result] for name, result in figures.items()}
    print(f"client: {sent['sent']} sent, {sent['ok']} ok over {SECONDS} s ({RATE}/s)")
    print(f"recording rules at the end: {values}")

    assert sent["ok"] == sent["sent"], sent["outcomes"]
    empty = [name for name, v in values.items() if len(v) != 1]
    assert not empty, f"rules without exactly one series for web: {empty}\n{figures}"
    for name in ("rate", "success_rate", "mtls_rate", "namespace_rate", "namespace_success",
                 "edge_rate", "route_rate", "route_success"):
        assert abs(values[name][0] - RATE) <= 0.05 * RATE, \
            f"{name} = {values[name][0]:.2f}/s, the client sent {RATE}/s"
    assert values["success_ratio"][0] == 1
    print(f"weftctl stat --prometheus: {stat}")
    for kind, rows in stat.items():
        assert set(rows) == {"web"}, (kind, rows)
        assert abs(rows["web"]["rps"] - RATE) <= 0.05 * RATE, (kind, rows)
        assert rows["web"]["success"] == 1, (kind, rows)
    assert edges.returncode == 0, edges.stderr
    assert [(e["src"], e["dst"], e["secured"]) for e in json.loads(edges.stdout)] == [
        ("client", "web", True)], edges.stdout
    assert shown.returncode == 0, shown.stderr
    assert "increase(weft_requests_total{reporter=\"destination\"" in shown.stdout, shown.stdout
    assert shown.stdout.splitlines()[-1].split()[:2] == [NS, "web"], shown.stdout
    for p in ("", "route_"):
        assert 0 < values[f"{p}p50"][0] <= values[f"{p}p95"][0] <= values[f"{p}p99"][0] < 1, \
            values
