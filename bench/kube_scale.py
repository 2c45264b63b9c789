"""Kubernetes discovery at scale (issue 21): one weft-agent on a simulated node, discovering from
the API server stand-in (weftsim/kube_apiserver.py) filled with N Services (one EndpointSlice
each) and P pods spread over 50 nodes by spec.nodeName, objects shaped as a real server returns
them (labels, ownerReferences, a kubectl last-applied-configuration annotation, containers with
env/ports/resources/probes, status conditions, managedFields: 4-8 KB of JSON per pod).

Measured, interleaved with a baseline agent (same binary, same flags, on its own node) whose
stand-in holds no Services and no pods:
- time from the agent's process start to /ready (polled every 50 ms), and the agent's CPU time
  by then;
- the agent's RSS right after /ready and after 10 s settled;
- the LIST requests (pages) and WATCH requests the agent made, from the stand-in's request log;
- churn: after the loaded agent is ready, 500 pods' labels updated at ~100/s through the
  stand-in: the agent's CPU time over that window and whether /ready stayed 200 throughout.

  PYTHONPATH=$PWD /usr/bin/python3 bench/kube_scale.py [--services 500 --pods 5000]
  bench/run.sh kube-scale [same options]

Writes bench/results/<UTC date>-kube-scale.md (unless --no-save) and prints it.
"""
import argparse
import hashlib
import ipaddress
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (sibling module)

from weftsim import netns, paths, procs  # noqa: E402
from weftsim.kube_api import KubeApiServer  # noqa: E402

KIND = "kube-scale"
BASELINE_API_ADDRESS = "10.79.0.2"  # a second stand-in, empty, in the same control-plane netns
API_CPU = 0    # both stand-ins (Python) and the harness
AGENT_CPU = 1  # the agent under test
READY_POLL = 0.05
PAGE_SIZE = 100  # the agent's LIST page (agent/kube/Reflector.hpp), for the probe and the text
WATCH_TIMEOUT = 300  # the agent's default --kube-watch-timeout-seconds (client-go's 5 min)
NODE_COUNT = 50
NAMESPACES = 20
CHURN_RATE = 100  # label updates per second
CHURN_PODS = 500

# ---------------------------------------------------------------------------------------------
# Objects as a real API server returns them (kube-apiserver 1.3x, a Deployment's pods)


def _h(*parts, n=10):
    """A stable pseudo-random lowercase/digit string (pod-template-hash, name suffixes)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i:i + 2], 16) % len(alphabet)] for i in range(0, 2 * n, 2))


def _uid(*parts):
    d = hashlib.sha256("uid/".encode() + "/".join(map(str, parts)).encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:32]}"


def namespace_of(svc_index):
    return f"team-{svc_index % NAMESPACES:02d}"


def service_name(i):
    return f"app-{i:04d}"


def cluster_ip(i):
    return str(ipaddress.ip_address("10.96.16.0") + i)


def pod_ip(node, slot):
    # node n's pod CIDR: 10.128.0.0/9 split in /22s; the simulated node1 is only an API name
    # here (its real pod CIDR is 10.77.1.0/24 and no real pod runs in this bench).
    return str(ipaddress.ip_address("10.128.0.0") + node * 1024 + 2 + slot)


def node_ip(node):
    return str(ipaddress.ip_address("10.250.0.0") + node)


ENV_NAMES = ("LOG_LEVEL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "DATABASE_HOST")


def _env(app, ns):
    values = {"LOG_LEVEL": "info", "LOG_FORMAT": "json",
              "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability.svc:4317",
              "OTEL_SERVICE_NAME": app, "DATABASE_HOST": f"{app}-db.{ns}.svc.cluster.local",
              "DATABASE_PORT": "5432", "CACHE_URL": f"redis://{app}-cache.{ns}.svc:6379/0",
              "FEATURE_FLAGS": "checkout-v2,async-invoices,new-pricing-engine",
              "GOMAXPROCS": "2", "HTTP_PORT": "8080"}
    out = [{"name": k, "value": values[k]} for k in ENV_NAMES]
    out += [{"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                           "fieldPath": "status.podIP"}}},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db",
                                                                   "key": "password"}}}]
    return out


def _container(app, ns, image):
    return {
        "name": app, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "grpc", "containerPort": 9090, "protocol": "TCP"}],
        "env": _env(app, ns),
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"},
                      "requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"},
                           "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1,
                           "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": 10001,
                            "capabilities": {"drop": ["ALL"]}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def _deployment_manifest(app, ns, image, replicas):
    """The Deployment as `kubectl apply` saw it: its JSON is the last-applied-configuration
    annotation (~1.5 KB), which the pods here carry too (as pods applied directly do)."""
    c = _container(app, ns, image)
    for key in ("terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
                "livenessProbe", "readinessProbe", "securityContext"):
        c.pop(key)
    c["volumeMounts"] = [{"name": "config", "mountPath": "/etc/app", "readOnly": True}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"annotations": {}, "labels": {"app.kubernetes.io/name": app,
                                                       "app.kubernetes.io/part-of": "shop"},
                         "name": app, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app,
                                                          "app.kubernetes.io/name": app,
                                                          "app.kubernetes.io/part-of": "shop"}},
                                  "spec": {"containers": [c], "serviceAccountName": app,
                                           "volumes": [{"name": "config", "configMap": {
                                               "name": f"{app}-config"}}]}}}}


def pod_object(svc, replica, replicas, node, slot):
    """Pod `replica` of Service svc's Deployment (`replicas` pods), Running on node `node`
    (1..NODE_COUNT) with the node's slot-th pod IP."""
    app, ns = service_name(svc), namespace_of(svc)
    template_hash = _h("rs", svc)
    rs = f"{app}-{template_hash}"
    name = f"{rs}-{_h('pod', svc, replica, n=5)}"
    image = f"registry.example.com/shop/{app}:1.{svc % 17}.{svc % 5}"
    ip = pod_ip(node, slot)
    last_applied = json.dumps(_deployment_manifest(app, ns, image, replicas),
                              separators=(",", ":")) + "\n"
    started = "2026-12-01T08:%02d:%02dZ" % (svc % 60, replica % 60)
    container = _container(app, ns, image)
    container["volumeMounts"] = [
        {"name": "config", "mountPath": "/etc/app", "readOnly": True},
        {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
         "readOnly": True}]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "generateName": f"{rs}-", "namespace": ns,
            "uid": _uid("pod", svc, replica),
            "labels": {"app": app, "app.kubernetes.io/name": app,
                       "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/version":
                       f"1.{svc % 17}.{svc % 5}", "pod-template-hash": template_hash,
                       "team": ns},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": last_applied,
                "prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": _uid("rs", svc), "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": {
            "volumes": [
                {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
                {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
            "containers": [container],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": app, "serviceAccount": app,
            "nodeName": f"node{node}", "securityContext": {"fsGroup": 10001},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                 "effect": "NoExecute", "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                            "lastTransitionTime": started} for t in
                           ("PodReadyToStartContainers", "Initialized", "Ready",
                            "ContainersReady", "PodScheduled")],
            "hostIP": node_ip(node), "hostIPs": [{"ip": node_ip(node)}],
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": started,
            "containerStatuses": [{
                "name": app, "state": {"running": {"startedAt": started}}, "lastState": {},
                "ready": True, "restartCount": 0, "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:"
                           f"{hashlib.sha256(image.encode()).hexdigest()}",
                "containerID": "containerd://" + hashlib.sha256(name.encode()).hexdigest(),
                "started": True}],
            "qosClass": "Burstable",
        },
    }


def service_object(svc, pods_per_service):
    app, ns = service_name(svc), namespace_of(svc)
    ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
             {"name": "grpc", "port": 9090, "protocol": "TCP", "targetPort": "grpc",
              "appProtocol": "grpc"}]
    applied = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"annotations": {}, "labels": {"app.kubernetes.io/name": app,
                                                          "app.kubernetes.io/part-of": "shop"},
                            "name": app, "namespace": ns},
               "spec": {"ports": ports, "selector": {"app": app}}}
    ip = cluster_ip(svc)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": ns, "uid": _uid("svc", svc),
                         "labels": {"app.kubernetes.io/name": app,
                                    "app.kubernetes.io/part-of": "shop"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                         json.dumps(applied, separators=(",", ":")) + "\n"}},
            "spec": {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": ports,
                     "selector": {"app": app}, "sessionAffinity": "None", "type": "ClusterIP"},
            "status": {"loadBalancer": {}}}


def endpoint_slice_object(svc, pods):
    """The EndpointSlice controller's slice over `pods` (objects from pod_object)."""
    app, ns = service_name(svc), namespace_of(svc)
    endpoints = [{"addresses": [p["status"]["podIP"]],
                  "conditions": {"ready": True, "serving": True, "terminating": False},
                  "nodeName": p["spec"]["nodeName"],
                  "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                "uid": p["metadata"]["uid"]},
                  "zone": f"zone-{'abc'[int(p['spec']['nodeName'][4:]) % 3]}"} for p in pods]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{app}-{_h('eps', svc, n=5)}", "namespace": ns,
                         "generateName": f"{app}-", "uid": _uid("eps", svc),
                         "labels": {"endpointslice.kubernetes.io/managed-by":
                                    "endpointslice-controller.k8s.io",
                                    "kubernetes.io/service-name": app,
                                    "app.kubernetes.io/name": app,
                                    "app.kubernetes.io/part-of": "shop"},
                         "annotations": {"endpoints.kubernetes.io/last-change-trigger-time":
                                         "2026-12-01T08:00:00Z"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                              "name": app, "uid": _uid("svc", svc),
                                              "controller": True, "blockOwnerDeletion": True}]},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                      {"name": "grpc", "port": 9090, "protocol": "TCP", "appProtocol": "grpc"}]}


def cluster_objects(services, pods):
    """(pods, services, slices): P pods over N Services (P/N each, the rest to the first ones),
    spread round-robin over NODE_COUNT nodes by spec.nodeName."""
    pod_objs, svc_objs, slice_objs = [], [], []
    if services == 0:
        return pod_objs, svc_objs, slice_objs
    per = [pods // services + (1 if i < pods % services else 0) for i in range(services)]
    k = 0
    for svc in range(services):
        own = []
        for replica in range(per[svc]):
            own.append(pod_object(svc, replica, per[svc], k % NODE_COUNT + 1, k // NODE_COUNT))
            k += 1
        pod_objs += own
        svc_objs.append(service_object(svc, per[svc]))
        slice_objs.append(endpoint_slice_object(svc, own))
    return pod_objs, svc_objs, slice_objs


# ---------------------------------------------------------------------------------------------
# The stand-in's side: filling it, its request log, a client-side LIST probe

def fill(api, objects):
    """Creates the objects one by one over the control socket (the existing harness API); the
    seconds it took."""
    started = time.monotonic()
    for obj in objects:
        api.create(obj, manager=("kube-controller-manager" if obj["kind"] != "Service"
                                 else "kubectl-client-side-apply"))
    return time.monotonic() - started


def last_seq(api):
    log = api.request_log()
    return log[-1]["seq"] if log else 0


COLLECTIONS = {"/api/v1/pods": "pods", "/api/v1/services": "services",
               "/apis/discovery.k8s.io/v1/endpointslices": "endpointslices",
               "/apis/security.weft.io/v1alpha1/meshpolicies": "meshpolicies",
               "/apis/gateway.networking.k8s.io/v1/httproutes": "httproutes",
               "/apis/gateway.networking.k8s.io/v1/grpcroutes": "grpcroutes"}


def summarize_requests(entries):
    """LIST pages per collection (the node-scoped pods list as `pods(node)`), WATCH requests,
    and every answer other than 200."""
    lists, watches, odd = {}, 0, []
    for e in entries:
        name = COLLECTIONS.get(e["path"], e["path"])
        if name == "pods" and "spec.nodeName" in urllib.parse.unquote(e["raw_query"]):
            name = "pods(node)"
        if e["watch"]:
            watches += 1
        elif e["method"] == "GET":
            lists[name] = lists.get(name, 0) + 1
        if e["status"] != 200:
            odd.append(f"{e['method']} {e['path']}?{e['raw_query']} -> {e['status']}")
    return {"lists": lists, "list_requests": sum(lists.values()), "watches": watches,
            "odd": odd}


LIST_PROBE = r"""
import http.client, json, ssl, sys, time, urllib.parse
host, token, ca, path, limit = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection(host, 6443, context=ctx, timeout=120)
cont, pages, items, size = "", 0, 0, 0
started = time.monotonic()
while True:
    target = path + ("&" if "?" in path else "?") + "limit=" + limit
    if cont:
        target += "&continue=" + urllib.parse.quote(cont, safe="")
    conn.request("GET", target, headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    body = r.read()
    doc = json.loads(body)
    pages += 1; items += len(doc["items"]); size += len(body)
    cont = doc["metadata"].get("continue", "")
    if not cont:
        break
print(json.dumps({"seconds": time.monotonic() - started, "pages": pages, "items": items,
                  "bytes": size}))
"""


def list_probe(node, api, path):
    """A paged LIST (the agent's page size, one keep-alive connection) from inside node's netns, as a
    client measures it: seconds, pages, items, bytes."""
    out = procs.run(netns.exec_argv(node.netns, [paths.PYTHON, "-c", LIST_PROBE, api.address,
                                                 api.token, api.ca_path, path,
                                                 str(PAGE_SIZE)]), timeout=300)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# The agent's side

def ready_status(agent):
    try:
        status, _ = agent.get("/ready", timeout=2)
        return status
    except ConnectionError:
        return None


def discovery_objects(agent):
    """weft_discovery_objects per collection, from /metrics."""
    return {labels.get("resource"): int(value)
            for _, labels, value in agent.metrics().select("weft_discovery_objects")}


def hwm_kib(agent):
    """VmHWM (peak RSS) of the agent in KiB."""
    with open(f"/proc/{agent.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def measure_start(node, api, settle, timeout):
    """Starts node's agent, polls /ready every READY_POLL s; returns its figures."""
    agent = node.agent
    since = last_seq(api)
    wall = time.time()
    started = time.monotonic()
    agent.start(wait_ready=False)
    while True:
        if not agent.service.alive():
            raise RuntimeError(f"{node.name}: weft-agent exited before /ready\n{agent.log()}")
        if ready_status(agent) == 200:
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{node.name}: no /ready within {timeout} s\n{agent.log()}")
        time.sleep(READY_POLL)
    ready_s = time.monotonic() - started
    out = {"ready_s": ready_s, "cpu_ready_s": agent.cpu_ticks() / benchlib.CLK_TCK,
           "rss_ready_kib": agent.rss_kib()}
    entries = api.request_log(since)
    at_ready = summarize_requests(entries)
    list_times = [e["time"] - wall for e in entries if e["method"] == "GET" and not e["watch"]]
    out["first_list_s"] = min(list_times) if list_times else 0.0
    out["last_list_s"] = max(list_times) if list_times else 0.0
    time.sleep(settle)
    out.update(rss_settled_kib=agent.rss_kib(), rss_peak_kib=hwm_kib(agent),
               cpu_settled_s=agent.cpu_ticks() / benchlib.CLK_TCK,
               requests=at_ready, requests_settled=summarize_requests(api.request_log(since)),
               objects=discovery_objects(agent), ready_after_settle=ready_status(agent))
    return out


def churn(node, api, pods, count, rate):
    """Updates `count` pods' labels (spread over the list) at `rate`/s through the stand-in
    while polling /ready; returns the figures."""
    agent = node.agent
    step = max(1, len(pods) // count)
    targets = pods[::step][:count]
    not_ready, polls, stop = [], [0], threading.Event()

    def poll():
        while not stop.is_set():
            status = ready_status(agent)
            polls[0] += 1
            if status != 200:
                not_ready.append((round(time.monotonic() - started, 2), status))
            time.sleep(0.1)

    cpu0, rss0 = agent.cpu_ticks(), agent.rss_kib()
    started = time.monotonic()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    late = 0.0
    for i, pod in enumerate(targets):
        due = started + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            late = max(late, now - due)
        meta = pod["metadata"]
        api.patch("pods", meta["namespace"], meta["name"],
                  {"metadata": {"labels": {"weft-bench/churn": str(i),
                                           "app.kubernetes.io/version": f"2.0.{i}"}}},
                  manager="kubectl-label")
    writes_s = time.monotonic() - started
    cpu_writes = agent.cpu_ticks()
    time.sleep(2.0)  # the last events delivered and applied
    stop.set()
    poller.join()
    cpu1 = agent.cpu_ticks()
    return {"updates": len(targets), "writes_s": writes_s, "max_late_s": late,
            "cpu_during_s": (cpu_writes - cpu0) / benchlib.CLK_TCK,
            "cpu_s": (cpu1 - cpu0) / benchlib.CLK_TCK,
            "window_s": time.monotonic() - started, "rss_before_kib": rss0,
            "rss_after_kib": agent.rss_kib(), "ready_polls": polls[0], "not_ready": not_ready,
            "alive": agent.service.alive()}


# ---------------------------------------------------------------------------------------------
# The run

class KubeScaleBench(benchlib.BenchBase):
    """Two stand-ins in the control-plane netns (10.79.0.1 filled, 10.79.0.2 empty) and two
    simulated nodes, `node1` (its agent discovers from the filled one) and `baseline` (from the
    empty one); the agents run one at a time."""

    def __init__(self, args, cleanup):
        super().__init__(args, cleanup)
        self.rounds = []   # [{"baseline": figures, "loaded": figures}]
        self.setup_figures = {}
        self.churn = None

    def agent_args(self, api):
        return ["--discovery", "kubernetes", "--kubeconfig", api.kubeconfig_path,
                "--workers", "1", "--log-level", "info"]

    def setup(self):
        # The harness (and so both stand-ins and every curl/ip it runs) on API_CPU; the agent
        # under test alone on AGENT_CPU (taskset between nsenter and weft-agent).
        os.sched_setaffinity(0, {API_CPU})
        c = self.cluster
        self.api = c.add_apiserver(bookmark_interval=60.0)
        netns.ip(c.control_plane_netns, "addr", "add", f"{BASELINE_API_ADDRESS}/32", "dev", "lo")
        base_dir = os.path.join(self.workdir, "baseline-api")
        os.makedirs(base_dir)
        self.base_api = KubeApiServer(base_dir, self.cleanup, c.control_plane_netns,
                                      BASELINE_API_ADDRESS, bookmark_interval=60.0)
        prefix = benchlib.pinned(AGENT_CPU, [])
        self.node = c.add_node("node1", agent_args=self.agent_args(self.api),
                               start_agent=False, agent_exec_prefix=prefix)
        self.base = c.add_node("baseline", agent_args=self.agent_args(self.base_api),
                               start_agent=False, agent_exec_prefix=prefix)
        netns.ip(self.base.netns, "route", "add", f"{BASELINE_API_ADDRESS}/32", "via",
                 f"10.79.{self.base.index}.1")

        t = time.monotonic()
        self.pods, services, slices = cluster_objects(self.args.services, self.args.pods)
        build_s = time.monotonic() - t
        print(f"filling the stand-in: {len(services)} Services, {len(slices)} EndpointSlices, "
              f"{len(self.pods)} pods ...", file=sys.stderr, flush=True)
        fill_s = fill(self.api, services + slices + self.pods)
        n = len(services) + len(slices) + len(self.pods)
        probes = {}
        for label, path in (("pods", "/api/v1/pods"),
                            ("pods(node)", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode1"),
                            ("services", "/api/v1/services"),
                            ("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices")):
            probes[label] = list_probe(self.node, self.api, path)
        self.setup_figures = {"objects": n, "build_s": build_s, "fill_s": fill_s,
                              "probes": probes}
        print(f"filled in {fill_s:.1f} s ({n / fill_s:.0f} objects/s); "
              f"LIST probe pods: {probes['pods']}", file=sys.stderr, flush=True)

    def run(self):
        a = self.args
        for r in range(a.rounds):
            order = [("baseline", self.base, self.base_api), ("loaded", self.node, self.api)]
            if r % 2:
                order.reverse()
            figures = {}
            for label, node, api in order:
                figures[label] = measure_start(node, api, a.settle, a.ready_timeout)
                print(f"round {r + 1} {label}: ready {figures[label]['ready_s']:.2f} s, "
                      f"RSS {figures[label]['rss_ready_kib']} -> "
                      f"{figures[label]['rss_settled_kib']} KiB, "
                      f"{figures[label]['requests']['list_requests']} LIST requests",
                      file=sys.stderr, flush=True)
                last = r == a.rounds - 1 and label == "loaded"
                if last and a.churn_pods:
                    self.churn = churn(node, api, self.pods, a.churn_pods, a.churn_rate)
                    print(f"churn: {self.churn}", file=sys.stderr, flush=True)
                figures[label]["exit"] = node.agent.stop()
            self.rounds.append(figures)
        self.problems = benchlib.agent_log_problems([self.node, self.base])


# ---------------------------------------------------------------------------------------------
# The report

def _mib(kib):
    return f"{kib / 1024:.1f} MiB"


def _med(bench, label, key):
    return statistics.median(r[label][key] for r in bench.rounds)


def binaries(build):
    out = []
    for path in (build.agent,):
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        mtime = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(st.st_mtime))
        out.append(f"`{os.path.relpath(path, benchlib.REPO)}` (built {mtime}, "
                   f"{st.st_size / 1e6:.1f} MB, sha256 {digest}…)")
    return out


def report(bench, args):
    s = bench.setup_figures
    probes = s["probes"]
    rounds = bench.rounds
    ch = bench.churn
    lines = [f"# weft Kubernetes discovery at scale, {bench.finished:%Y-%m-%d %H:%M} UTC", "",
             benchlib.environment_line(),
             f"- binaries: {', '.join(binaries(bench.build))}",
             f"- cluster in the API stand-in (`weftsim/kube_apiserver.py`, Python, one process): "
             f"{args.services} Services with one EndpointSlice each, {args.pods} pods "
             f"({args.pods // max(1, args.services)} per Service) spread round-robin over "
             f"{NODE_COUNT} nodes by `spec.nodeName` (`node1`, the simulated node the agent "
             f"runs on, gets {probes['pods(node)']['items']}), in {NAMESPACES} namespaces; no "
             f"MeshPolicies, no routes (their CRDs installed, empty)",
             f"- objects as a real server returns them: a Deployment's pods with labels, "
             f"ownerReferences, a kubectl last-applied-configuration annotation (~1.5 KB), one "
             f"container with ports/env/resources/probes/securityContext, a projected "
             f"service-account volume, tolerations, status conditions and containerStatuses, "
             f"managedFields (the stand-in's): "
             f"**{probes['pods']['bytes'] / max(1, probes['pods']['items']):.0f} bytes of JSON "
             f"per pod** in a LIST page; Services "
             f"{probes['services']['bytes'] / max(1, probes['services']['items']):.0f} B, "
             f"EndpointSlices "
             f"{probes['endpointslices']['bytes'] / max(1, probes['endpointslices']['items']):.0f}"
             f" B each",
             "- agent: `weft-agent --discovery kubernetes --kubeconfig FILE --workers 1 "
             f"--log-level info` (LIST pages of {PAGE_SIZE}, watch timeout 300-599 s), pinned to "
             f"CPU {AGENT_CPU}; both stand-ins and the harness on CPU {API_CPU}; bookmarks every "
             "60 s",
             f"- baseline: the same agent on a second simulated node whose stand-in "
             f"(10.79.0.2) holds no Services and no pods; baseline and loaded start one at a "
             f"time, alternating, {args.rounds} rounds; medians shown",
             f"- time to ready = from the agent's process start (Popen) to the first 200 of "
             f"`/ready`, polled every {int(READY_POLL * 1000)} ms (curl in the node netns); CPU "
             f"= utime+stime of the agent from `/proc/PID/stat`; RSS = `VmRSS` right after "
             f"ready and {args.settle:g} s later; requests from the stand-in's request log",
             "", "## Commands", "", "```sh",
             f"PYTHONPATH=$PWD /usr/bin/python3 bench/kube_scale.py --services {args.services} "
             f"--pods {args.pods} --rounds {args.rounds} --build-dir "
             f"{os.path.relpath(args.build_dir, benchlib.REPO)}",
             "```", "",
             "## Start-up: loaded vs empty API", "",
             "| | baseline (empty API) | loaded | loaded − baseline | loaded ÷ baseline |",
             "|---|---:|---:|---:|---:|"]

    def row(name, key, fmt, diff_fmt=None):
        b, l_ = _med(bench, "baseline", key), _med(bench, "loaded", key)
        lines.append(f"| {name} | {fmt(b)} | {fmt(l_)} | {(diff_fmt or fmt)(l_ - b)} | "
                     f"{benchlib.ratio(l_, b)} |")
    row("time to /ready", "ready_s", lambda v: f"{v:.2f} s")
    row("first LIST request (after start)", "first_list_s", lambda v: f"{v:.2f} s")
    row("last LIST page requested (after start)", "last_list_s", lambda v: f"{v:.2f} s")
    row("agent CPU at /ready", "cpu_ready_s", lambda v: f"{v:.2f} s")
    row("agent RSS at /ready", "rss_ready_kib", _mib)
    row(f"agent RSS {args.settle:g} s after /ready", "rss_settled_kib", _mib)
    row(f"agent peak RSS (VmHWM) {args.settle:g} s after /ready", "rss_peak_kib", _mib)
    row(f"agent CPU {args.settle:g} s after /ready", "cpu_settled_s", lambda v: f"{v:.2f} s")
    last = rounds[-1]
    bl, ld = last["baseline"]["requests"], last["loaded"]["requests"]
    lines.append(f"| LIST requests until /ready (last round) | {bl['list_requests']} | "
                 f"{ld['list_requests']} | {ld['list_requests'] - bl['list_requests']} | |")
    lines += ["", f"LIST requests (pages of {PAGE_SIZE}) per collection until /ready, last round: "
              f"baseline {json.dumps(bl['lists'], sort_keys=True)}, loaded "
              f"{json.dumps(ld['lists'], sort_keys=True)}; WATCH requests by then: baseline "
              f"{bl['watches']}, loaded {ld['watches']}; after the "
              f"{args.settle:g} s settle: baseline "
              f"{last['baseline']['requests_settled']['list_requests']} LIST / "
              f"{last['baseline']['requests_settled']['watches']} WATCH, loaded "
              f"{last['loaded']['requests_settled']['list_requests']} LIST / "
              f"{last['loaded']['requests_settled']['watches']} WATCH. Answers other than 200: "
              f"{sum(len(r[k]['requests_settled']['odd']) for r in rounds for k in r)}.",
              "", "Objects the loaded agent holds (`weft_discovery_objects`, last round): "
              + ", ".join(f"{k} {v}" for k, v in sorted(last["loaded"]["objects"].items()))
              + ".", "",
              "What the stand-in costs (a Python client in node1's netns doing the same paged "
              f"LIST, limit {PAGE_SIZE}, one keep-alive connection, before the agents ran): "
              + "; ".join(f"{k}: {v['pages']} pages, {v['items']} items, "
                          f"{v['bytes'] / 1e6:.1f} MB in {v['seconds']:.2f} s"
                          for k, v in probes.items())
              + f". Filling the stand-in through its control socket, one object at a time: "
              f"{s['objects']} objects in {s['fill_s']:.1f} s.", ""]
    if ch:
        stayed = not ch["not_ready"] and ch["alive"]
        lines += ["## Churn: pod label updates after /ready", "",
                  f"{ch['updates']} pods (every {max(1, len(bench.pods) // ch['updates'])}th, "
                  f"so all nodes, node1 included) had two labels changed by merge patch "
                  f"through the stand-in at {args.churn_rate}/s (the writes took "
                  f"{ch['writes_s']:.1f} s, at most {ch['max_late_s'] * 1000:.0f} ms behind "
                  f"schedule), then 2 s for the last events; /ready polled every 100 ms.", "",
                  "| figure | value |", "|---|---:|",
                  f"| agent CPU over the writes | {ch['cpu_during_s']:.2f} s "
                  f"({ch['cpu_during_s'] / ch['writes_s'] * 100:.0f}% of a core) |",
                  f"| agent CPU incl. the 2 s after | {ch['cpu_s']:.2f} s "
                  f"({ch['cpu_s'] / ch['updates'] * 1e3:.2f} ms per update) |",
                  f"| agent RSS before → after | {_mib(ch['rss_before_kib'])} → "
                  f"{_mib(ch['rss_after_kib'])} |",
                  f"| stayed ready | {'yes' if stayed else 'NO'} ({ch['ready_polls']} polls, "
                  f"{len(ch['not_ready'])} not 200{': ' + str(ch['not_ready'][:10]) if ch['not_ready'] else ''}) |",
                  ""]
    lines += ["## Every round", "",
              "| round | agent | ready | CPU at ready | RSS at ready | RSS settled | peak RSS | "
              "LIST | WATCH | exit |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(rounds):
        for label in ("baseline", "loaded"):
            f = r[label]
            lines.append(f"| {i + 1} | {label} | {f['ready_s']:.2f} s | {f['cpu_ready_s']:.2f} s"
                         f" | {_mib(f['rss_ready_kib'])} | {_mib(f['rss_settled_kib'])} | "
                         f"{_mib(f['rss_peak_kib'])} | "
                         f"{f['requests']['list_requests']} | {f['requests']['watches']} | "
                         f"{f['exit']} |")
    lines += ["", f"Agent log warn/error lines: {len(bench.problems)}"]
    lines += [f"- {p}" for p in bench.problems[:20]]
    met = (ch is None or (not ch["not_ready"] and ch["alive"])) and all(
        r[k]["exit"] == 0 for r in rounds for k in r)
    return "\n".join(lines), met


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--services", type=int, default=500)
    p.add_argument("--pods", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3, help="baseline/loaded start-ups")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after /ready")
    p.add_argument("--ready-timeout", type=float, default=180.0)
    p.add_argument("--churn-pods", type=int, default=CHURN_PODS, help="0: no churn")
    p.add_argument("--churn-rate", type=float, default=CHURN_RATE, help="updates per second")
    p.add_argument("--build-dir", default=os.environ.get("WEFT_BUILD_DIR")
                   or os.path.join(benchlib.REPO, "build"))
    p.add_argument("--results-dir", default=os.path.join(benchlib.REPO, "bench", "results"))
    p.add_argument("--no-save", action="store_true", help="print only")
    args = p.parse_args()
    missing = benchlib.prerequisites(paths.Build(args.build_dir), {"curl": "curl"})
    if missing:
        print("prerequisites missing:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2

    # Its figures are not request rates: nothing goes to history.csv.
    return benchlib.run(args, KIND, KubeScaleBench, report, lambda _bench, _args: [])


if __name__ == "__main__":
    sys.exit(main())
