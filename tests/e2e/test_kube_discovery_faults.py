"""The agent's reflectors against the API stand-in's faults, one agent and no pods: what it
does on 429, 5xx, 401, dropped, stalled and expired (410) watches, a rotated token, a missing
Gateway API CRD and an object its decoders refuse. The agent's own metrics
(weft_discovery_*) and the stand-in's request log are the evidence."""
import os
import time
import urllib.parse

from weftsim import kubelet, manifests, procs
from weftsim.kube_resources import GATEWAY_GROUP

WATCH_TIMEOUT = 2  # watches ask for 2-3 s; a stalled one is given up after 2 x 2 + 5 s


def kube_node(cluster, api, kubeconfig=None, start=True, extra=()):
    return cluster.add_node("node1", start_agent=start, agent_args=[
        "--discovery", "kubernetes", "--kubeconfig", kubeconfig or api.kubeconfig_path,
        "--kube-watch-timeout-seconds", str(WATCH_TIMEOUT), *extra])


def requests_for(api, resource_path, since=0, watch=None):
    return [e for e in api.request_log(since) if e["path"] == resource_path and
            (watch is None or e["watch"] == watch)]


def query(entry):
    return {k: v[0] for k, v in urllib.parse.parse_qs(entry["raw_query"]).items()}


def metric(agent, name, resource):
    return agent.metrics().sum(name, resource=resource)


def last_seq(api):
    log = api.request_log()
    return log[-1]["seq"] if log else 0


def service(name, ip):
    return kubelet.api_object(manifests.service(name, "e2e", ip, [("http", 80, 8080)]))


def test_throttled_and_failing_lists_wait_and_back_off(cluster):
    """429 + Retry-After: 2 on the first two Service lists -> the next list comes >= 2 s later;
    three 500s on EndpointSlices -> retried with growing waits (0.8 s, then more); the agent is
    ready once both succeed, not before."""
    api = cluster.add_apiserver()
    api.throttle(2, 2, match="/api/v1/services")
    api.fail(3, 500, match="/endpointslices")
    node = kube_node(cluster, api, start=False)
    node.agent.start(wait_ready=False)
    node.agent.wait_ready(timeout=30)
    lists = [e for e in requests_for(api, "/api/v1/services", watch=False)]
    assert [e["status"] for e in lists[:3]] == [429, 429, 200], lists
    gaps = [b["time"] - a["time"] for a, b in zip(lists, lists[1:3])]
    assert all(g >= 1.9 for g in gaps), f"Retry-After: 2 not honoured: {gaps}"
    slices = requests_for(api, "/apis/discovery.k8s.io/v1/endpointslices", watch=False)
    assert [e["status"] for e in slices[:4]] == [500, 500, 500, 200], slices
    waits = [b["time"] - a["time"] for a, b in zip(slices, slices[1:4])]
    assert waits[0] >= 0.75, f"no backoff after a 500: {waits}"
    assert waits[2] > waits[0], f"backoff not growing: {waits}"
    assert waits[2] < 10, waits


def test_wrong_token_keeps_the_agent_unready_and_is_never_logged(cluster):
    api = cluster.add_apiserver()
    good = api.token
    api.set_tokens(["not-the-agent-token"])
    node = kube_node(cluster, api, start=False)
    node.agent.start(wait_ready=False)
    procs.wait_until(lambda: any(e["status"] == 401 for e in api.request_log()), 10,
                     what="the agent's requests refused with 401")
    time.sleep(2)
    assert node.agent.get("/ready")[0] != 200
    assert node.agent.get("/live")[0] == 200
    api.set_tokens([good])
    node.agent.wait_ready(timeout=40)
    log = node.agent.log(tail_bytes=10**7)
    assert "status=401" in log and "Unauthorized" in log, log[-3000:]
    assert good not in log, "the bearer token appears in the agent's log"


def test_rotated_token_file_is_read_again(cluster, tmp_path):
    """A projected token (tokenFile) rotated by the 'kubelet': once the old one stops being
    accepted, the agent's requests carry the new one and nothing is refused."""
    api = cluster.add_apiserver()
    token_file = str(tmp_path / "token")
    api.write_token_file(token_file)
    kubeconfig = api.kubeconfig(str(tmp_path / "kubeconfig"), auth="token-file",
                                token_file=token_file)
    node = kube_node(cluster, api, kubeconfig=kubeconfig)
    api.rotate_token(token_file, keep_old=False)
    since = last_seq(api)
    # Watches end every 2-3 s: each new request must carry the new token.
    procs.wait_until(lambda: len(api.request_log(since)) >= 10, 15,
                     what="ten requests after the rotation")
    api.create(service("after-rotation", "10.96.0.31"))
    procs.wait_until(lambda: metric(node.agent, "weft_discovery_objects", "services") == 1, 20,
                     what="the Service created after the rotation seen by the agent")
    refused = [e for e in api.request_log(since) if e["status"] == 401]
    assert not refused, refused


def test_dropped_and_expired_watches_resume_or_relist(cluster):
    """A dropped stream resumes from the last resourceVersion seen (a bookmark's included)
    without a relist; an expired one (410 as an ERROR event, then as an HTTP status) relists,
    and what was deleted meanwhile is gone."""
    api = cluster.add_apiserver(bookmark_interval=0.5)
    node = kube_node(cluster, api)
    agent = node.agent
    api.create(service("one", "10.96.0.41"))
    procs.wait_until(lambda: metric(agent, "weft_discovery_objects", "services") == 1, 10,
                     what="Service one seen")
    # Other collections move the revision on; bookmarks carry it to the Services watch.
    for i in range(3):
        api.create(kubelet.api_object(manifests.mesh_policy(f"p{i}", "e2e")))
    time.sleep(1.5)
    revision = int(api.resource_version())
    relists = metric(agent, "weft_discovery_relists_total", "services")
    restarts = metric(agent, "weft_discovery_watch_restarts_total", "services")
    since = last_seq(api)
    api.drop_watches()
    resumed = procs.wait_until(lambda: requests_for(api, "/api/v1/services", since, True), 10,
                               what="the Services watch resumed")[0]
    assert int(query(resumed)["resourceVersion"]) == revision, (resumed, revision)
    assert query(resumed)["allowWatchBookmarks"] == "true"
    assert WATCH_TIMEOUT <= int(query(resumed)["timeoutSeconds"]) < 2 * WATCH_TIMEOUT
    assert not requests_for(api, "/api/v1/services", since, False), "relisted on a drop"
    procs.wait_until(lambda: metric(agent, "weft_discovery_watch_restarts_total", "services")
                     > restarts, 5, what="watch restart counted")
    assert metric(agent, "weft_discovery_relists_total", "services") == relists

    for mode in ("event", "http"):
        api.set_expired_watch(mode)
        api.create(service(f"gone-{mode}", "10.96.0.42"))
        procs.wait_until(lambda: metric(agent, "weft_discovery_objects", "services") == 2, 10,
                         what=f"Service gone-{mode} seen")
        api.stall_watches(1.5)
        api.delete("services", "e2e", f"gone-{mode}")
        api.compact()
        since = last_seq(api)
        procs.wait_until(lambda: metric(agent, "weft_discovery_relists_total", "services")
                         > relists, 15, what=f"a relist after a 410 ({mode})")
        relists = metric(agent, "weft_discovery_relists_total", "services")
        assert requests_for(api, "/api/v1/services", since, False), "no LIST after the 410"
        procs.wait_until(lambda: metric(agent, "weft_discovery_objects", "services") == 1, 10,
                         what=f"Service gone-{mode}, deleted unseen, dropped by the relist")


def test_stalled_watch_is_given_up_and_resumed(cluster):
    """A stream that sends nothing, not even its end: the agent gives it up (2 x timeout + 5 s)
    and watches again; the Service created during the stall arrives once it ends."""
    api = cluster.add_apiserver()
    node = kube_node(cluster, api)
    since = last_seq(api)
    started = time.monotonic()
    api.stall_watches(16)
    api.create(service("during-stall", "10.96.0.51"))
    procs.wait_until(lambda: requests_for(api, "/api/v1/services", since, True), 16,
                     what="a new Services watch while the old one is stalled")
    assert time.monotonic() - started < 2 * WATCH_TIMEOUT + 5 + 3  # + the first backoff step
    procs.wait_until(lambda: metric(node.agent, "weft_discovery_objects", "services") == 1, 25,
                     what="the Service created during the stall seen after it")
    assert "no complete answer within" in node.agent.log(tail_bytes=10**7)


def test_missing_gateway_api_means_no_routes_until_installed(cluster):
    """Without the Gateway API CRDs the agent is ready (no routes), says so once, and picks the
    routes up when they are installed. A Service its decoder refuses is counted and the
    previous version kept."""
    api = cluster.add_apiserver(crd_groups=("security.weft.io",))
    node = kube_node(cluster, api)
    agent = node.agent
    m = agent.metrics()
    assert m.sum("weft_discovery_crd_missing", resource="httproutes") == 1
    assert m.sum("weft_discovery_synced", resource="httproutes") == 1
    time.sleep(WATCH_TIMEOUT * 2 + 1)
    assert agent.log(tail_bytes=10**7).count("discovery.crd_missing resource=httproutes") == 1
    api.install(GATEWAY_GROUP)
    api.create(service("web", "10.96.0.61"))
    route = manifests.http_route("web", "e2e", [manifests.service_parent("web", port=80)],
                                 [manifests.route_rule(backends=[manifests.backend("web", 80)])])
    api.create(kubelet.api_object(route))
    procs.wait_until(lambda: metric(agent, "weft_discovery_objects", "httproutes") == 1,
                     WATCH_TIMEOUT + 10, what="the HTTPRoute read once the CRD exists")
    assert metric(agent, "weft_discovery_crd_missing", "httproutes") == 0

    bad = api.get("services", "e2e", "web")
    bad["spec"]["ports"][0]["port"] = 70000
    api.update(bad)
    procs.wait_until(lambda: metric(agent, "weft_discovery_decode_errors_total", "services")
                     == 1, 10, what="the refused Service counted")
    assert metric(agent, "weft_discovery_objects", "services") == 1
    assert "kept_previous=true" in agent.log(tail_bytes=10**7)


def test_client_certificate_kubeconfig(cluster, tmp_path):
    """A kubeconfig with client-certificate-data/client-key-data and no token: the stand-in
    verifies the certificate against its client CA and the agent gets ready on it."""
    api = cluster.add_apiserver()
    kubeconfig = api.kubeconfig(str(tmp_path / "kubeconfig"), auth="cert")
    kube_node(cluster, api, kubeconfig=kubeconfig)
    log = api.request_log()
    assert log and {e["auth"] for e in log} == {"cert"}, {e["auth"] for e in log}


def test_missing_meshpolicy_crd_keeps_the_agent_unready(cluster):
    """weft's own CRD is not optional: without it no pod may be meshed under a World that
    lacks policies, so the agent stays unready (and registers no pod) and says why."""
    api = cluster.add_apiserver(crd_groups=(GATEWAY_GROUP,))
    node = kube_node(cluster, api, start=False)
    node.agent.start(wait_ready=False)
    procs.wait_until(lambda: "is security.weft.io/v1alpha1 installed?" in node.agent.log(), 15,
                     what="the agent saying the MeshPolicy CRD is missing")
    assert node.agent.get("/ready")[0] != 200
    assert node.agent.metrics().sum("weft_discovery_synced", resource="meshpolicies") == 0
    assert not os.path.exists(node.agent.socket)
    api.install("security.weft.io")
    node.agent.wait_ready(timeout=40)


def test_expired_continue_token_starts_the_list_over(cluster):
    """150 Services are two pages of 100; the second page is held back (429, Retry-After 1 s,
    after which the same page is asked for again) while a write and a compaction expire its
    continue token (410 Expired): the agent lists again from the first page and ends up with
    every Service, the newer one included."""
    api = cluster.add_apiserver()
    for i in range(150):
        api.create(service(f"s{i}", f"10.96.1.{i}"))
    second_page = "/api/v1/services?limit=100&continue="
    api.throttle(1, 1, match=second_page)
    node = kube_node(cluster, api, start=False)
    node.agent.start(wait_ready=False)
    procs.wait_until(lambda: [e for e in requests_for(api, "/api/v1/services", watch=False)
                              if e["status"] == 429], 10, what="the second page held back")
    api.create(service("newer", "10.96.2.1"))  # the revision moves past the token's...
    api.compact()                               # ...and the token's is compacted away
    node.agent.wait_ready(timeout=30)
    lists = requests_for(api, "/api/v1/services", watch=False)
    held = next(i for i, e in enumerate(lists) if e["status"] == 429)
    assert lists[held + 1]["raw_query"] == lists[held]["raw_query"], "the page was not retried"
    expired = [i for i, e in enumerate(lists) if e["status"] == 410]
    assert expired and "continue=" in lists[expired[0]]["raw_query"], \
        [(e["status"], e["raw_query"]) for e in lists]
    assert "continue=" not in lists[expired[0] + 1]["raw_query"], "not started over"
    assert metric(node.agent, "weft_discovery_relists_total", "services") >= 1
    assert metric(node.agent, "weft_discovery_objects", "services") == 151
