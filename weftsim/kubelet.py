"""The harness as kubelet and controllers against the API stand-in (kube_api.KubeApiServer):
weftsim.manifests objects become API objects (the server fills uid where absent,
resourceVersion, timestamps, managedFields), pods go Pending -> Running with their IP, and
Services get their EndpointSlices.
"""
import copy

from . import manifests

# Metadata a client never sends; the server sets it.
_SERVER_SET = ("resourceVersion", "creationTimestamp", "managedFields", "generation")


def api_object(obj):
    """A manifests object as a client would POST it (server-set metadata removed; the uid
    is kept so a Pod's matches the one the CNI runtime passed)."""
    out = copy.deepcopy(obj)
    for key in _SERVER_SET:
        out.get("metadata", {}).pop(key, None)
    return out


def schedule_pod(api, pod):
    """Creates harness Pod `pod` bound to its node, status Pending without an IP (the
    scheduler's view before the kubelet started it); returns the stored object. It carries no
    weft.io/redirection annotation: in a cluster the agent that meshes the pod puts it on."""
    obj = api_object(manifests.pod_object(pod, redirection=False))
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    return api.create(obj, manager="kube-scheduler")


def set_pod_ip(api, pod, ip=None, host_ip=None):
    """The kubelet's status update once the sandbox has its IP: podIP/podIPs, phase
    Running, Ready conditions (and hostIP when given)."""
    ip = ip or pod.ip
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": t, "status": "True"} for t in
                             ("Initialized", "Ready", "ContainersReady", "PodScheduled")]}
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    return api.patch_status("pods", pod.namespace, pod.name, status, manager="kubelet")


def run_pod(api, pod, host_ip=None):
    """schedule_pod then set_pod_ip: a Running pod as the API shows it."""
    schedule_pod(api, pod)
    return set_pod_ip(api, pod, host_ip=host_ip)


def delete_pod(api, pod, grace_seconds=None):
    """Deletes the pod; with grace_seconds it is only marked terminating first."""
    return api.delete("pods", pod.namespace, pod.name, grace_seconds=grace_seconds)


def publish_endpoint_slice(api, service_name, namespace, pods, ports, suffix="abcde"):
    """Creates or replaces the EndpointSlice of service_name over `pods` (all ready) as
    the EndpointSlice controller would; ports = [(port name, target port)]."""
    obj = api_object(manifests.endpoint_slice(service_name, namespace, pods, ports, suffix))
    return api.apply(obj, manager="endpointslice-controller.k8s.io")


def publish_service(api, name, namespace, cluster_ip, ports, endpoints):
    """Service + its EndpointSlice over `endpoints` (harness Pods);
    ports = [(name, port, targetPort)]. Returns (service, slice)."""
    service = api.apply(api_object(manifests.service(name, namespace, cluster_ip, ports)),
                        manager="kubectl")
    slice_ = publish_endpoint_slice(api, name, namespace, endpoints,
                                    [(pname, target) for pname, _, target in ports])
    return service, slice_


def apply(api, obj, manager="kubectl"):
    """Creates or replaces any manifests object (MeshPolicy, HTTPRoute, GRPCRoute, ...)."""
    return api.apply(api_object(obj), manager=manager)
