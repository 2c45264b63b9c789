"""The Kubernetes API stand-in (weftsim/kube_apiserver.py) speaks the real wire format, seen
from a simulated node the way the agent will reach it: LIST pages and their continue tokens,
selectors, chunked watch streams with bookmarks, 410 after compaction and restart, 401, 429,
404 for an absent CRD, and a merge PATCH seen by a watcher. Clients: http.client over ssl
from inside the node netns, and curl."""
import http.client
import json
import ssl
import subprocess

import pytest

from weftsim import kube_resources, kubelet, netns
from weftsim.cluster import API_ADDRESS


class Client(http.client.HTTPSConnection):
    """http.client connection to the stand-in made from inside netns `ns`; bearer token
    unless None; client certificate when `cert` is (cert, key)."""

    def __init__(self, ns, api, token="default", cert=None):
        ctx = ssl.create_default_context(cafile=api.ca_path)
        if cert:
            ctx.load_cert_chain(*cert)
        super().__init__(api.address, api.port, context=ctx, timeout=10)
        self.ns = ns
        self.token = api.token if token == "default" else token

    def connect(self):
        sock = netns.connect_in(self.ns, (self.host, self.port))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

    def start(self, method, path, body=None, content_type="application/json"):
        """Sends a request; returns the HTTPResponse with its body unread."""
        headers = {"Accept": "application/json", "User-Agent": "standin-test/1.0"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        self.request(method, path, body=data, headers=headers)
        return self.getresponse()

    def call(self, method, path, body=None, content_type="application/json"):
        """(status, headers, parsed JSON body)."""
        resp = self.start(method, path, body, content_type)
        return resp.status, resp.headers, json.loads(resp.read())


def events(resp, count):
    """The next `count` watch events of a streaming response."""
    return [json.loads(resp.readline()) for _ in range(count)]


@pytest.fixture
def env(bare_cluster):
    """One node (no agent) linked to a stand-in with 1 s bookmarks and no Gateway API."""
    node = bare_cluster.add_node("node1", with_agent=False)
    api = bare_cluster.add_apiserver(crd_groups=[kube_resources.WEFT_POLICY_GROUP])
    return node, api


def pod(name, node="node1", phase="Pending", ns="e2e"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns,
                                                            "labels": {"app": name}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "x"}]},
            "status": {"phase": phase}}


def test_list_pages_continue_tokens_and_selectors(env):
    node, api = env
    for i, where in enumerate(["node1", "node2", "node1", "node2", "node1"]):
        api.create(pod(f"p{i}", where))
    c = Client(node.netns, api)
    status, _, page = c.call("GET", "/api/v1/namespaces/e2e/pods?limit=2")
    assert status == 200 and page["kind"] == "PodList" and page["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in page["items"]] == ["p0", "p1"]
    assert "kind" not in page["items"][0] and page["metadata"]["remainingItemCount"] == 3
    item = page["items"][0]["metadata"]
    assert item["uid"] and item["creationTimestamp"].endswith("Z")
    assert item["managedFields"][0]["fieldsType"] == "FieldsV1"
    names, token = [], page["metadata"]["continue"]
    while token:
        _, _, more = c.call("GET", f"/api/v1/namespaces/e2e/pods?limit=2&continue={token}")
        assert more["metadata"]["resourceVersion"] == page["metadata"]["resourceVersion"]
        names += [i["metadata"]["name"] for i in more["items"]]
        token = more["metadata"].get("continue")
    assert names == ["p2", "p3", "p4"]

    _, _, on1 = c.call("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode1")
    assert [i["metadata"]["name"] for i in on1["items"]] == ["p0", "p2", "p4"]
    status, _, bad = c.call("GET", "/api/v1/pods?fieldSelector=spec.foo%3Dx")
    assert (status, bad["reason"], bad["message"]) == (400, "BadRequest",
                                                       "field label not supported: spec.foo")

    api.create({"apiVersion": "security.weft.io/v1alpha1", "kind": "MeshPolicy",
                "metadata": {"name": "strict", "namespace": "e2e"}, "spec": {"mode": "STRICT"}})
    _, _, policies = c.call("GET", "/apis/security.weft.io/v1alpha1/meshpolicies")
    assert policies["items"][0]["kind"] == "MeshPolicy"  # CRD items keep their type

    api.create(pod("p5"))
    api.compact()
    status, _, gone = c.call("GET", f"/api/v1/namespaces/e2e/pods?limit=2&continue="
                                    f"{page['metadata']['continue']}")
    assert (status, gone["reason"], gone["code"]) == (410, "Expired", 410)
    assert gone["message"].startswith("The provided continue parameter is too old")


def test_watch_stream_is_chunked_json_lines_with_bookmarks(env):
    node, api = env
    rv = api.resource_version()
    curl = subprocess.Popen(netns.exec_argv(node.netns, [
        "curl", "-sS", "-i", "--raw", "-N", "--cacert", api.ca_path, "-H",
        f"Authorization: Bearer {api.token}",
        f"{api.url}/api/v1/pods?watch=true&resourceVersion={rv}&allowWatchBookmarks=true"
        "&timeoutSeconds=3"]), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    api.wait_for_request(lambda e: e["watch"])
    api.create(pod("w1"))
    out, err = curl.communicate(timeout=15)
    assert curl.returncode == 0, err
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"HTTP/1.1 200" in head and b"Transfer-Encoding: chunked" in head
    assert b"Content-Type: application/json" in head
    assert body.endswith(b"0\r\n\r\n")
    chunks = []
    while body != b"0\r\n\r\n":
        size, rest = body.split(b"\r\n", 1)
        chunks.append(rest[:int(size, 16)])
        assert rest[int(size, 16):int(size, 16) + 2] == b"\r\n"
        body = rest[int(size, 16) + 2:]
    evs = [json.loads(c) for c in chunks]
    assert all(c.endswith(b"\n") for c in chunks)
    assert evs[0]["type"] == "ADDED" and evs[0]["object"]["kind"] == "Pod"
    assert evs[0]["object"]["metadata"]["name"] == "w1"
    marks = [e for e in evs if e["type"] == "BOOKMARK"]
    assert len(marks) >= 2
    assert marks[0]["object"] == {"kind": "Pod", "apiVersion": "v1", "metadata": {
        "resourceVersion": marks[0]["object"]["metadata"]["resourceVersion"],
        "creationTimestamp": None}}


def test_selector_watch_and_merge_patch(env):
    node, api = env
    api.create(pod("a"))
    rv = api.resource_version()
    w = Client(node.netns, api)
    stream = w.start("GET", f"/api/v1/namespaces/e2e/pods?watch=1&resourceVersion={rv}"
                            "&fieldSelector=status.phase%3DRunning")
    assert stream.status == 200
    api.patch_status("pods", "e2e", "a", {"phase": "Running"})
    status, _, patched = Client(node.netns, api).call(
        "PATCH", "/api/v1/namespaces/e2e/pods/a",
        {"metadata": {"annotations": {"weft.io/redirection": "enabled"}}},
        "application/merge-patch+json")
    assert status == 200 and patched["metadata"]["annotations"] == {
        "weft.io/redirection": "enabled"}
    api.patch_status("pods", "e2e", "a", {"phase": "Failed"})
    added, modified, deleted = events(stream, 3)
    assert added["type"] == "ADDED" and added["object"]["status"]["phase"] == "Running"
    assert modified["type"] == "MODIFIED"
    assert modified["object"]["metadata"]["annotations"]["weft.io/redirection"] == "enabled"
    assert int(modified["object"]["metadata"]["resourceVersion"]) > int(
        added["object"]["metadata"]["resourceVersion"])
    assert deleted["type"] == "DELETED" and deleted["object"]["status"]["phase"] == "Running"
    managers = {m["manager"] for m in patched["metadata"]["managedFields"]}
    assert "standin-test" in managers
    logged = api.wait_for_request(lambda e: e["method"] == "PATCH")
    assert logged["content_type"] == "application/merge-patch+json"
    assert logged["body"] == {"metadata": {"annotations": {"weft.io/redirection": "enabled"}}}


def test_too_old_resource_version_after_compaction_and_restart(env):
    node, api = env
    old = api.resource_version()
    api.create(pod("x"))
    api.compact()
    resp = Client(node.netns, api).start("GET", f"/api/v1/pods?watch=true&resourceVersion={old}")
    assert resp.status == 200
    error = events(resp, 1)[0]
    assert error["type"] == "ERROR" and error["object"]["code"] == 410
    assert error["object"]["reason"] == "Expired"
    assert error["object"]["message"].startswith(f"too old resource version: {old} (")
    assert resp.read() == b""  # the stream ended

    api.set_expired_watch("http")
    status, _, body = Client(node.netns, api).call(
        "GET", f"/api/v1/pods?watch=true&resourceVersion={old}")
    assert (status, body["reason"]) == (410, "Expired")
    api.set_expired_watch("event")

    last = api.resource_version()
    live = Client(node.netns, api).start("GET",
                                         f"/api/v1/pods?watch=true&resourceVersion={last}")
    api.wait_for_request(lambda e: e["watch"] and e["raw_query"].endswith(last))
    api.restart()
    with pytest.raises((http.client.IncompleteRead, ConnectionError, ssl.SSLError)):
        live.read()
    resumed = Client(node.netns, api).start("GET",
                                            f"/api/v1/pods?watch=true&resourceVersion={last}")
    assert events(resumed, 1)[0]["object"]["code"] == 410
    status, _, listed = Client(node.netns, api).call("GET", "/api/v1/namespaces/e2e/pods")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["x"]  # objects survive


def test_auth_throttling_and_absent_crd(env):
    node, api = env
    status, _, body = Client(node.netns, api, token="wrong").call("GET", "/api/v1/pods")
    assert (status, body["reason"], body["code"]) == (401, "Unauthorized", 401)
    status, _, _ = Client(node.netns, api, token=None,
                          cert=(api.client_cert, api.client_key)).call("GET", "/api/v1/pods")
    assert status == 200
    assert api.request_log()[-1]["auth"] == "cert"
    assert api.request_log()[-1]["user"] == "system:node:weft-agent"

    api.throttle(1, 2)
    status, headers, body = Client(node.netns, api).call("GET", "/api/v1/pods")
    assert (status, headers["Retry-After"], body["reason"]) == (429, "2", "TooManyRequests")
    assert body["details"] == {"retryAfterSeconds": 2}
    assert Client(node.netns, api).call("GET", "/api/v1/pods")[0] == 200

    path = "/apis/gateway.networking.k8s.io/v1/namespaces/e2e/httproutes"
    status, _, body = Client(node.netns, api).call("GET", path)
    assert status == 404 and body == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server could not find the requested resource", "reason": "NotFound",
        "details": {}, "code": 404}
    api.install(kube_resources.GATEWAY_GROUP)
    assert Client(node.netns, api).call("GET", path)[0] == 200

    api.set_tokens(["rotated"])
    assert Client(node.netns, api).call("GET", "/api/v1/pods")[0] == 401
    assert Client(node.netns, api, token="rotated").call("GET", "/api/v1/pods")[0] == 200


def test_kubelet_helpers_and_a_node_added_later(bare_cluster):
    api = bare_cluster.add_apiserver()
    node = bare_cluster.add_node("node2", with_agent=False)
    p = node.add_pod("web", deployment="web", meshed=False)
    kubelet.schedule_pod(api, p)
    running = kubelet.set_pod_ip(api, p)
    assert running["status"]["podIP"] == p.ip and running["metadata"]["uid"] == p.uid
    service, slice_ = kubelet.publish_service(api, "web", "e2e", "10.96.0.10",
                                              [("http", 80, 8080)], [p])
    assert slice_["endpoints"][0]["addresses"] == [p.ip]
    out = node.run(["curl", "-sS", "--cacert", api.ca_path, "-H",
                    f"Authorization: Bearer {api.token}",
                    f"https://{API_ADDRESS}:6443/api/v1/namespaces/e2e/services/web"]).stdout
    assert json.loads(out)["spec"]["clusterIP"] == "10.96.0.10"
    assert "certificate-authority-data" in open(api.kubeconfig_path).read()
