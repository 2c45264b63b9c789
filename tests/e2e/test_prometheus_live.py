"""weft's recording rules (manifests/monitoring/prometheusrule.yaml) live: a real Prometheus
(Debian's) scrapes two real agents every second while a client on node1 sends a known number of
HTTP requests, each on a new connection, to a Service whose one endpoint is on node2. Every
rule must return data for that traffic, and the request rates must agree with what the client
sent (within 5 %): the server's agent (reporter="destination") per workload and namespace, the
client's (reporter="source") per edge and per route rule (an HTTPRoute with one rule, "all",
sends web's requests to web). `weftctl stat --prometheus` must read the same rates from the
server, per workload and per Service, and `weftctl edges --prometheus` the edge client → web,
secured.

The Grafana dashboards (manifests/monitoring/dashboards/*.json; Grafana itself is not on these
machines) against the same server at one moment of steady load: every panel target of every
dashboard, its variables set to this test's namespace, workloads, Service and all agents and
$__rate_interval to 1m, must return data (the workload dashboard is evaluated for web, the
server, and for client, whose outbound panels it fills; a panel needs data for one of them),
except the few panels in NO_DATA, each with the reason this scenario cannot fill it. Every
series of a request-rate panel (unit reqps) must agree with the client's rate within 5 %, the
success and mTLS shares must be 1, the TCP connections opened/s must agree with a second
client's rate of opaque TCP connections (a Service port with appProtocol tcp), and every query
variable must offer this test's values."""
import importlib.util
import json
import os
import subprocess
import time

from weftsim import manifests, netns, paths, procs
from weftsim.hardening import start_with_ready_line
from weftsim.prometheus import Prometheus
from weftsim.scenarios import HTTP_APP_PORT, deployment_pods, two_nodes

NS = "e2e"
CLUSTER_IP = "10.96.0.80"
TCP_CLUSTER_IP = "10.96.0.81"  # web-tcp: the same app behind a port with appProtocol tcp
RATE = 20           # requests per second
TCP_RATE = 5        # opaque TCP connections per second, to web-tcp
SECONDS = 80        # long enough for a full 1m rate window of steady load
PROMETHEUS_PORT = 19090
SLOWLORIS = os.path.join(paths.SERVERS_DIR, "slowloris.py")
RULES = os.path.join(paths.REPO_ROOT, "tools", "monitoring", "rules.py")
_spec = importlib.util.spec_from_file_location(
    "dashboards", os.path.join(paths.REPO_ROOT, "tools", "monitoring", "dashboards.py"))
dashboards = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dashboards)

# Variables of the dashboards for this scenario: one dict per view a dashboard gets.
BINDINGS = {
    "weft-top-line": [{}],
    "weft-namespace": [{"namespace": NS}],
    "weft-workload": [{"namespace": NS, "workload": "web"}, {"namespace": NS, "workload": "client"}],
    "weft-route": [{"namespace": NS, "service": f"web.{NS}.svc.cluster.local"}],
    "weft-agent": [{"instance": ".+"}],
}
# What each query variable must offer in this scenario (among others).
VARIABLE_VALUES = {
    ("weft-namespace", "namespace"): {NS},
    ("weft-workload", "namespace"): {NS},
    ("weft-workload", "workload"): {"web", "client"},
    ("weft-route", "namespace"): {NS},
    ("weft-route", "service"): {f"web.{NS}.svc.cluster.local"},
    ("weft-agent", "instance"): None,  # both agents' scrape addresses, filled in by the test
}
# Panels this scenario cannot fill, and why; any other panel without data fails the test.
NO_DATA = {
    ("weft-workload", "Outbound retries/s by destination and reason"):
        "every request succeeded at its first try: no retry series exists",
    ("weft-route", "Retries/s by rule and reason"):
        "every request succeeded at its first try: no retry series exists",
    ("weft-agent", "Endpoint ejections/s"):
        "web's one endpoint never failed, so nothing was ejected",
    ("weft-agent", "TCP connections refused or failed/s"):
        "no policy denies, no source holds its share, every connect succeeds (stalled, created "
        "with each TCP flow, may show 0)",
}
# Shares (unit percentunit) this scenario fixes: everything succeeded over mTLS, so 1, except:
SHARES = {("weft-route", "Retries per request"): 0.0,
          ("weft-agent", "File descriptors used"): None}  # None: any share in (0, 1)



def _weftctl_stat(build, node, *args, verb="stat", key="name"):
    """`weftctl stat ... --prometheus` (or `routes`) in `node`'s netns, where the server listens:
    its rows."""
    r = procs.run(netns.exec_argv(node.netns, [
        build.weftctl, verb, *args, "--prometheus", f"http://127.0.0.1:{PROMETHEUS_PORT}",
        "-t", "60s", "-o", "json"]), check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    return {row[key]: row for row in json.loads(r.stdout)}


def _unit(panel, ref_id):
    """A target's unit: the panel's, or for a table the override of its (renamed) column."""
    unit = panel["fieldConfig"]["defaults"].get("unit")
    if panel["type"] == "table":
        renamed = {}
        for t in panel.get("transformations", []):
            renamed.update(t["options"].get("renameByName", {}))
        column = renamed.get(f"Value #{ref_id}")
        for o in panel["fieldConfig"]["overrides"]:
            if o["matcher"]["options"] == column:
                unit = next((p["value"] for p in o["properties"] if p["id"] == "unit"), unit)
    return unit


def _evaluate_dashboards(query, at):
    """Every panel target of every dashboard in each of its BINDINGS, at time `at`: a list of
    (uid, panel, target, binding, [(labels, value)])."""
    out = []
    for path in dashboards.dashboard_files():
        d = dashboards.load(path)
        for binding in BINDINGS[d["uid"]]:
            values = dict(binding, __rate_interval="1m")
            for panel, target in dashboards.targets(d):
                result = query(dashboards.substitute(target["expr"], values), at)
                out.append((d["uid"], panel, target, binding,
                            [(s["metric"], float(s["value"][1])) for s in result]))
    return out


def _variable_options(query, at):
    """{(uid, variable): values Grafana would list}, each query variable's query run as
    tools/monitoring/dashboards.py's promtool test runs it (label_values as group by)."""
    out = {}
    for path in dashboards.dashboard_files():
        d = dashboards.load(path)
        values = dict(BINDINGS[d["uid"]][0])
        for v in dashboards.variables(d):
            if v["type"] != "query":
                continue
            inner, label = dashboards.label_values_query(dashboards.variable_query(v))
            inner = dashboards.substitute(inner, values)
            if label is None:
                texts = ["{" + ", ".join(f'{k}="{x}"' for k, x in sorted(r["metric"].items()))
                         + "}" for r in query(inner, at)]
            else:
                texts = [r["metric"].get(label, "") for r in
                         query(f"group by ({label}) ({inner})", at)]
            out[(d["uid"], v["name"])] = set(dashboards.apply_regex(v.get("regex", ""), texts))
    return out


def _judge_dashboards(evaluated, sent_rate, tcp_rate):
    """Faults of the evaluated panels (see the module's doc), and one line per panel."""
    faults, lines, with_data = [], [], set()
    panels = {}
    for uid, panel, target, binding, samples in evaluated:
        key = (uid, panel["title"])
        panels.setdefault(key, panel)
        if samples:
            with_data.add((uid, panel["title"], target["refId"]))
        unit = _unit(panel, target["refId"])
        for labels, value in samples:
            where = f"{uid} / {panel['title']} / {target['refId']} {binding} {labels}"
            if unit == "reqps" and abs(value - sent_rate) > 0.05 * sent_rate:
                faults.append(f"{where}: {value:.2f} requests/s, the client sent {sent_rate}/s")
            if unit == "percentunit":
                want = SHARES.get(key, 1.0)
                wrong = not 0 < value < 1 if want is None else abs(value - want) > 1e-9
                if wrong:
                    faults.append(f"{where}: share {value}, expected "
                                  f"{'in (0, 1)' if want is None else want}")
            if "weft_tcp_connections_opened_total" in target["expr"] and \
                    abs(value - tcp_rate) > 0.05 * tcp_rate:
                faults.append(f"{where}: {value:.2f} TCP connections/s, the client opened "
                              f"{tcp_rate}/s")
    for key in NO_DATA:
        if key not in panels:
            faults.append(f"NO_DATA names {key}, which no dashboard has")
    for (uid, title), panel in panels.items():
        refs = [t["refId"] for t in panel["targets"]]
        empty = [r for r in refs if (uid, title, r) not in with_data]
        shown = []
        for e_uid, e_panel, target, binding, samples in evaluated:
            if (e_uid, e_panel["title"]) == (uid, title) and samples:
                vals = ", ".join(f"{v:.4g}" for _, v in samples[:4])
                view = f" ({binding['workload']})" if "workload" in binding else ""
                shown.append(f"{target['refId']}{view}: {vals}")
        lines.append(f"{uid:15} {title:48} data={'no' if empty else 'yes':3} {'; '.join(shown)}")
        if empty and (uid, title) not in NO_DATA:
            faults.append(f"{uid} / {title}: targets {empty} returned no data")
    return faults, lines


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
    tcp_svc = manifests.service("web-tcp", NS, TCP_CLUSTER_IP, [("tcp", 80, HTTP_APP_PORT)])
    tcp_svc["spec"]["selector"] = {"app": "web"}
    tcp_svc["spec"]["ports"][0]["appProtocol"] = "tcp"
    cluster.publish_and_wait("web.json", [
        svc, manifests.endpoint_slice("web", NS, [web], [("http", HTTP_APP_PORT)]), route,
        tcp_svc, manifests.endpoint_slice("web-tcp", NS, [web], [("tcp", HTTP_APP_PORT)])]
        + [manifests.pod_object(p) for p in (client, web)])
    procs.wait_until(lambda: client.run(["curl", "-sS", "--fail", "--max-time", "3",
                                         f"http://{CLUSTER_IP}/"], check=False).returncode == 0,
                     30, what="web answering client across nodes")

    rules = subprocess.run(["/usr/bin/python3", RULES], capture_output=True, text=True,
                           check=True).stdout
    server = Prometheus(cluster, n1, [f"127.0.0.1:{n1.agent.admin_port}",
                                      f"{n2.link_addresses[0]}:{n2.agent.admin_port}"],
                        PROMETHEUS_PORT, rules=rules)
    query = server.query
    procs.wait_until(lambda: len(query('up{job="weft-agent"} == 1')) == 2, 30,
                     what="prometheus scraping both agents")

    load = start_with_ready_line(client, cluster, [
        paths.PYTHON, SLOWLORIS, "probe", CLUSTER_IP, "80", "--interval-ms", str(1000 / RATE),
        "--timeout", "5", "--seconds", str(SECONDS)], "load", "load", 30)
    tcp_load = start_with_ready_line(client, cluster, [
        paths.PYTHON, SLOWLORIS, "probe", TCP_CLUSTER_IP, "80", "--interval-ms",
        str(1000 / TCP_RATE), "--timeout", "5", "--seconds", str(SECONDS)], "tcp-load", "tcp load",
        30)
    started = time.monotonic()
    time.sleep(SECONDS - 2)  # the last minute of steady load is in every 1m rate
    at = time.time()  # the dashboards are evaluated at this moment, however long that takes
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
    routes = _weftctl_stat(build, n1, "svc/web", "-n", NS, verb="routes", key="route")
    edges = procs.run(netns.exec_argv(n1.netns, [
        build.weftctl, "edges", "deploy", "-n", NS, "--prometheus",
        f"http://127.0.0.1:{PROMETHEUS_PORT}", "-t", "60s", "-o", "json"]), check=False,
        timeout=60)
    shown = procs.run(netns.exec_argv(n1.netns, [
        build.weftctl, "stat", "deploy", "-n", NS, "--prometheus",
        f"http://127.0.0.1:{PROMETHEUS_PORT}", "--show-query"]), check=False, timeout=60)
    evaluated = _evaluate_dashboards(query, at)
    options = _variable_options(query, at)
    sent = json.loads(load.readline(timeout=SECONDS + 30 - (time.monotonic() - started)))
    tcp_sent = json.loads(tcp_load.readline(timeout=SECONDS + 30 - (time.monotonic() - started)))
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
    # Every meshed workload has a row with its pods (the client's without requests to it).
    assert {name: row["meshed"] for name, row in stat["deploy"].items()} == {
        "client": 1, "web": 1}, stat["deploy"]
    assert stat["deploy"]["client"]["requests"] == 0, stat["deploy"]
    assert set(stat["svc"]) == {"web"} and stat["svc"]["web"]["meshed"] is None, stat["svc"]
    for kind, rows in stat.items():
        assert abs(rows["web"]["rps"] - RATE) <= 0.05 * RATE, (kind, rows)
        assert rows["web"]["success"] == 1, (kind, rows)
    print(f"weftctl routes --prometheus: {routes}")
    assert set(routes) == {"web/all"}, routes
    assert abs(routes["web/all"]["rps"] - RATE) <= 0.05 * RATE, routes
    assert routes["web/all"]["success"] == 1 and routes["web/all"]["actual_rps"] == \
        routes["web/all"]["rps"], routes
    assert edges.returncode == 0, edges.stderr
    assert [(e["src"], e["dst"], e["secured"]) for e in json.loads(edges.stdout)] == [
        ("client", "web", True)], edges.stdout
    assert shown.returncode == 0, shown.stderr
    assert "increase(weft_requests_total{reporter=\"destination\"" in shown.stdout, shown.stdout
    assert shown.stdout.splitlines()[-1].split()[:2] == [NS, "web"], shown.stdout
    for p in ("", "route_"):
        assert 0 < values[f"{p}p50"][0] <= values[f"{p}p95"][0] <= values[f"{p}p99"][0] < 1, \
            values

    # The dashboards, every panel at `at`.
    print(f"tcp client: {tcp_sent['sent']} connections, {tcp_sent['ok']} ok ({TCP_RATE}/s)")
    assert tcp_sent["ok"] == tcp_sent["sent"], tcp_sent["outcomes"]
    faults, lines = _judge_dashboards(evaluated, RATE, TCP_RATE)
    print(f"dashboards at {at:.0f} ({len(evaluated)} panel queries):")
    print("\n".join(lines))
    instances = {f"127.0.0.1:{n1.agent.admin_port}", f"{n2.link_addresses[0]}:{n2.agent.admin_port}"}
    print(f"variables: {options}")
    for key, want in VARIABLE_VALUES.items():
        want = instances if want is None else want
        if not want <= options[key]:
            faults.append(f"variable {key} offers {sorted(options[key])}, not all of {sorted(want)}")
    assert set(VARIABLE_VALUES) == set(options), (set(options) ^ set(VARIABLE_VALUES))
    agents_up = [v for uid, p, _, _, samples in evaluated for _, v in samples
                 if (uid, p["title"]) == ("weft-top-line", "Agents up")]
    assert agents_up == [2], agents_up
    assert not faults, "dashboards:\n" + "\n".join(faults)
