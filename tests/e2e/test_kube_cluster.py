"""Two simulated nodes whose agents discover everything from the Kubernetes API stand-in
(weftsim/kube_apiserver.py), the harness acting as kubelet and controllers: pods are created as
Pod objects bound to their node, wired through the conflist `weft-cni install` wrote on the node
(with the binary it copied), then given their IP; Services
get EndpointSlices; policies and routes are created through the API. node1's agent runs as in
the DaemonSet's container: its own mount namespace with a read-only /proc/sys, the node's bpffs
and --bpffs-mount false."""
import json
import os
import threading
import time

import pytest

from weftsim import kubelet, manifests, procs
from weftsim.cni_runtime import CniError
from weftsim.metrics import delta
from weftsim.scenarios import HTTP_PORT, SERVICE_PORTS

NAMESPACE = "e2e"
ECHO_IP = "10.96.0.10"
SPARE_IP = "10.96.0.20"
WATCH_TIMEOUT = 5  # seconds; watches last 5-10 s, so the tests see them resumed


def kube_agent_args(api):
    return ["--discovery", "kubernetes", "--kubeconfig", api.kubeconfig_path,
            "--kube-watch-timeout-seconds", str(WATCH_TIMEOUT)]


def ensure_host_bpffs(cluster):
    """bpffs at /sys/fs/bpf in the host's mount namespace, as a node running the DaemonSet has
    it (systemd mounts it); unmounted afterwards if this test mounted it."""
    if procs.run(["stat", "-f", "-c", "%T", "/sys/fs/bpf"]).stdout.strip() != "bpf_fs":
        procs.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
        cluster.cleanup.push("umount /sys/fs/bpf", procs.run, ["umount", "/sys/fs/bpf"])


def container_prefix(cluster, name):
    """Runs the agent the way the DaemonSet's container sees the node: its own mount namespace
    whose /proc/sys is read-only (as containerd and CRI-O mount it), with a read-write procfs
    elsewhere for --proc-dir (the manifests mount the host's /proc there). Returns (prefix, the
    --proc-dir value)."""
    ensure_host_bpffs(cluster)
    proc_dir = os.path.join(cluster.workdir, f"{name}-host-proc")
    os.makedirs(proc_dir, exist_ok=True)
    script = ('mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && '
              f'mount -t proc proc {proc_dir} && exec "$@"')
    return ["unshare", "--mount", "--propagation", "slave", "sh", "-c", script, "sh"], proc_dir


def start_pod(api, node, name, deployment, template_hash):
    """The kubelet's part: the Pod object bound to `node`, the CNI chain, then its IP."""
    pod = node.new_pod(name, namespace=NAMESPACE, service_account=deployment,
                       deployment=deployment, template_hash=template_hash)
    kubelet.schedule_pod(api, pod)
    node.cni_add(pod)
    kubelet.set_pod_ip(api, pod)
    return pod


class KubeCluster:
    """node1 runs a client, node2 two echo replicas behind Service `echo` and, over the same
    replicas, a Service `spare` that nothing else depends on."""

    def __init__(self, cluster):
        self.api = cluster.add_apiserver()
        prefix, proc_dir = container_prefix(cluster, "node1")
        self.n1 = cluster.add_node("node1", agent_exec_prefix=prefix,
                                   agent_args=kube_agent_args(self.api) + [
                                       "--proc-dir", proc_dir, "--bpffs-mount", "false"])
        self.n2 = cluster.add_node("node2", agent_args=kube_agent_args(self.api))
        for node in (self.n1, self.n2):
            node.install_weft_cni()  # pods go through the conflist and binary it installs
        cluster.link(self.n1, self.n2)
        self.client = start_pod(self.api, self.n1, "client-6f7d9c8b4-x1x1x", "client",
                                "6f7d9c8b4")
        self.servers = [start_pod(self.api, self.n2, f"echo-5c9d7b6f8-s{i}s{i}s", "echo",
                                  "5c9d7b6f8") for i in range(2)]
        for pod in self.servers:
            pod.start_server("http", HTTP_PORT, cluster.workdir, cluster.cleanup)
        kubelet.publish_service(self.api, "echo", NAMESPACE, ECHO_IP, SERVICE_PORTS,
                                self.servers)
        kubelet.publish_service(self.api, "spare", NAMESPACE, SPARE_IP, SERVICE_PORTS,
                                self.servers)

    def call(self, ip=ECHO_IP, headers=(), timeout=5):
        argv = ["curl", "-sS", "--fail", "-m", str(timeout)]
        for h in headers:
            argv += ["-H", h]
        out = self.client.run(argv + [f"http://{ip}/"], check=False, timeout=timeout + 5)
        return json.loads(out.stdout)["pod"] if out.returncode == 0 else None

    def wait_served_by(self, names, ip=ECHO_IP, headers=(), timeout=15, streak=6):
        """Until `streak` calls in a row are answered, only by pods in `names`."""
        state = {"streak": 0}

        def settled():
            pod = self.call(ip, headers, timeout=2)
            state["streak"] = state["streak"] + 1 if pod in names else 0
            return state["streak"] >= streak
        procs.wait_until(settled, timeout, interval=0.02,
                         what=f"calls to {ip} answered only by {sorted(names)}")


def all_marked(api, pods):
    """Whether every pod's object says weft.io/redirection: enabled."""
    objects = {p["metadata"]["name"]: p for p in api.list("pods", NAMESPACE)["items"]}
    return all(objects[p.name]["metadata"].get("annotations", {}).get("weft.io/redirection")
               == "enabled" for p in pods)


def wait_marked(api, pods, timeout=15):
    procs.wait_until(lambda: all_marked(api, pods), timeout,
                     what="weft.io/redirection: enabled on every meshed pod")


def test_agents_discover_from_the_api_and_mesh_across_nodes(cluster):
    kc = KubeCluster(cluster)
    api, n2 = kc.api, kc.n2
    names = {p.name for p in kc.servers}

    # The agents list and watch the API (never the manifests directory); node-scoped pods
    # with the node's field selector.
    log = api.request_log()
    assert any(e["path"] == "/api/v1/pods" and "spec.nodeName=node1" in e["raw_query"] or
               "spec.nodeName%3Dnode1" in e["raw_query"] for e in log), log[:5]
    assert any(e["watch"] and "allowWatchBookmarks=true" in e["raw_query"] for e in log)

    # Each node's agent marks the pods it meshes, and only those (merge patch by weft-agent).
    wait_marked(api, [kc.client] + kc.servers)
    patches = [e for e in api.request_log() if e["method"] == "PATCH"]
    assert {e["path"].rsplit("/", 1)[1] for e in patches} == names | {kc.client.name}
    assert all(e["content_type"] == "application/merge-patch+json" and
               e["user_agent"].startswith("weft-agent/") for e in patches), patches

    # A call across nodes goes through the mTLS tunnel to both replicas.
    before2 = n2.agent.metrics()
    kc.wait_served_by(names, streak=2)
    seen = {kc.call() for _ in range(20)}
    assert seen == names
    procs.wait_until(lambda: delta(before2, n2.agent.metrics(), "weft_requests_total",
                                   reporter="destination", source_workload="client",
                                   connection_security_policy="mutual_tls") >= 20, 10,
                     what="node2 counting the calls as mutual_tls from the client")

    # An EndpointSlice change shifts traffic within 1 s.
    started = time.monotonic()
    kubelet.publish_endpoint_slice(api, "echo", NAMESPACE, kc.servers[:1],
                                   [(name, target) for name, _, target in SERVICE_PORTS])
    kc.wait_served_by({kc.servers[0].name}, timeout=5, streak=3)
    shifted = time.monotonic() - started
    assert shifted < 1.0, f"traffic moved {shifted:.2f} s after the EndpointSlice change"
    kubelet.publish_endpoint_slice(api, "echo", NAMESPACE, kc.servers,
                                   [(name, target) for name, _, target in SERVICE_PORTS])

    # An HTTPRoute created through the API routes by header to Service `spare`'s replica 1.
    kubelet.publish_endpoint_slice(api, "spare", NAMESPACE, kc.servers[1:],
                                   [(name, target) for name, _, target in SERVICE_PORTS])
    route = manifests.http_route(
        "echo-canary", NAMESPACE, [manifests.service_parent("echo", port=80)],
        [manifests.route_rule(matches=[manifests.http_match(headers={"x-canary": "true"})],
                              backends=[manifests.backend("spare", 80)])])
    kubelet.apply(api, route)
    kc.wait_served_by({kc.servers[1].name}, headers=["x-canary: true"])
    assert {kc.call() for _ in range(20)} == names, "the route took calls without the header"

    # A MeshPolicy created through the API: the echo pods accept only another principal.
    policy = manifests.mesh_policy("echo-callers", NAMESPACE, match_labels={"app": "echo"},
                                   principals=[manifests.principal(NAMESPACE, "someone-else")])
    kubelet.apply(api, policy)
    procs.wait_until(lambda: kc.call(timeout=2) is None, 10,
                     what="the MeshPolicy refusing the client")
    api.delete("meshpolicies", NAMESPACE, "echo-callers")
    kc.wait_served_by(names, streak=3)


def test_agents_converge_after_the_api_server_restarts(cluster):
    """The stand-in restarts (watches dropped, history gone: every resume gets 410) after an
    object was deleted while the agents' watches were stalled: they relist, the deleted Service
    is gone, and calls to the unaffected Service never fail."""
    kc = KubeCluster(cluster)
    api, n1 = kc.api, kc.n1
    names = {p.name for p in kc.servers}
    kc.wait_served_by(names, streak=2)
    kc.wait_served_by(names, ip=SPARE_IP, streak=2)

    failures, calls, stop = [], [0], threading.Event()

    def traffic():
        while not stop.is_set():
            calls[0] += 1
            if kc.call(timeout=3) not in names:
                failures.append(time.monotonic())
    runner = threading.Thread(target=traffic, daemon=True)
    runner.start()
    try:
        before = n1.agent.metrics()
        api.stall_watches(3)
        api.delete("services", NAMESPACE, "spare")  # not seen by any watch: it is stalled
        time.sleep(1)
        api.restart()

        def relisted():
            m = n1.agent.metrics()
            return (delta(before, m, "weft_discovery_relists_total", resource="services") >= 1
                    and m.sum("weft_discovery_objects", resource="services") == 1)
        procs.wait_until(relisted, 30, what="node1 relisting Services after the restart "
                                            "(410) and dropping the deleted one")
        procs.wait_until(lambda: kc.call(SPARE_IP, timeout=1) is None, 10,
                         what="the deleted Service no longer served")
        time.sleep(2)
    finally:
        stop.set()
        runner.join(10)
    assert calls[0] > 20
    assert not failures, f"{len(failures)} of {calls[0]} calls to echo failed"


def test_pods_opt_out_by_annotation_and_wait_for_their_object(cluster):
    """A pod annotated weft.io/mesh: disabled goes through the CNI chain unmeshed (the agent says
    yes without meshing it, and never marks it); a pod whose object the agent has not seen is
    refused with a reason the runtime retries on."""
    api = cluster.add_apiserver()
    node = cluster.add_node("node1", agent_args=kube_agent_args(api))
    node.install_weft_cni()
    agent = node.agent

    def node_pods():
        return agent.metrics().sum("weft_discovery_objects", resource="node-pods")

    opted = node.new_pod("legacy-7c6b5d4f9-aaaaa", namespace=NAMESPACE,
                         service_account="legacy", deployment="legacy",
                         template_hash="7c6b5d4f9")
    obj = kubelet.api_object(manifests.pod_object(opted, redirection=False))
    obj["metadata"]["annotations"] = {"weft.io/mesh": "disabled"}
    obj["status"] = {"phase": "Pending"}
    api.create(obj)
    procs.wait_until(lambda: node_pods() == 1, 10, what="the agent seeing the pod")
    node.cni_add(opted)
    kubelet.set_pod_ip(api, opted)
    assert opted.container_id not in agent.pod_ids()
    assert "pod.opted_out" in agent.log()
    time.sleep(1)
    stored = api.get("pods", NAMESPACE, opted.name)["metadata"].get("annotations", {})
    assert "weft.io/redirection" not in stored, stored

    unknown = node.new_pod("early-5d4c3b2a1-bbbbb", namespace=NAMESPACE)
    with pytest.raises(CniError, match="is not known from the API server yet; retry"):
        node.cni_add(unknown)
    node.cni_del(unknown)  # as the runtime tears the failed sandbox down before retrying
    kubelet.schedule_pod(api, unknown)
    procs.wait_until(lambda: node_pods() == 2, 10, what="the agent seeing the second pod")
    node.cni_add(unknown)
    assert unknown.container_id in agent.pod_ids()


def test_a_hand_over_keeps_the_pods_marked(cluster):
    """Issue 22 with the API as source: through a hand-over on each node no PATCH takes a mark
    away (peers never fall back to plaintext towards the node's pods), and the successor marks
    the pods it meshes next."""
    kc = KubeCluster(cluster)
    api = kc.api
    names = {p.name for p in kc.servers}
    wait_marked(api, [kc.client] + kc.servers)
    kc.wait_served_by(names, streak=2)
    since = max(e["seq"] for e in api.request_log())
    for node in (kc.n1, kc.n2):
        hand_over = node.agent.hand_over()
        assert hand_over.status == 0, hand_over
    removals = [e for e in api.request_log(since) if e["method"] == "PATCH" and
                (e["body"] or {}).get("metadata", {}).get("annotations", {})
                .get("weft.io/redirection", "kept") is None]
    assert not removals, removals
    assert all_marked(api, [kc.client] + kc.servers)
    late = start_pod(api, kc.n2, "echo-5c9d7b6f8-l1l1l", "echo", "5c9d7b6f8")
    late.start_server("http", HTTP_PORT, cluster.workdir, cluster.cleanup)
    wait_marked(api, [late])
    kubelet.publish_service(api, "echo", NAMESPACE, ECHO_IP, SERVICE_PORTS, kc.servers + [late])
    kc.wait_served_by(names | {late.name}, streak=2)
    assert {kc.call() for _ in range(30)} == names | {late.name}
