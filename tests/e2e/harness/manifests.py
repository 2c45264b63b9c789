"""Kubernetes objects for the agent's manifests directory, written as an endpoint controller
would publish them: atomically (temp file + rename) and only after the pods have IPs."""
import json
import os

TRUST_DOMAIN = "cluster.local"
REDIRECTION_ANNOTATION = "weft.io/redirection"


def principal(namespace, service_account, trust_domain=TRUST_DOMAIN):
    """The SPIFFE ID weft uses for a workload identity."""
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


def service(name, namespace, cluster_ip, ports):
    """A v1 Service; ports = [(port name, port, targetPort), ...]."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
            "selector": {"app": name},
            "ports": [{"name": pname, "port": port, "targetPort": target, "protocol": "TCP"}
                      for pname, port, target in ports],
        },
    }


def endpoint_slice(service_name, namespace, pods, ports, suffix="abcde"):
    """A discovery.k8s.io/v1 EndpointSlice of `pods` (harness Pod objects, all ready);
    ports = [(port name, target port), ...]."""
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{service_name}-{suffix}", "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": service_name,
                                "endpointslice.kubernetes.io/managed-by":
                                    "endpointslice-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [p.ip], "conditions": {"ready": True},
                       "nodeName": p.node.name,
                       "targetRef": {"kind": "Pod", "name": p.name, "namespace": p.namespace,
                                     "uid": p.uid}}
                      for p in pods],
        "ports": [{"name": pname, "port": port, "protocol": "TCP"} for pname, port in ports],
    }


def pod_object(pod, redirection=None):
    """A v1 Pod as the API server would show it for a Deployment's pod, with its IP.

    Meshed pods carry `weft.io/redirection: enabled` (the agent sets it in a cluster; peers
    use it to tunnel to the pod); redirection=True/False overrides that (e.g. a fake peer in a
    non-meshed pod that claims to be meshed)."""
    meta = {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid,
            "labels": {"app": pod.app}}
    if pod.meshed if redirection is None else redirection:
        meta["annotations"] = {REDIRECTION_ANNOTATION: "enabled"}
    if pod.deployment:
        rs = f"{pod.deployment}-{pod.template_hash}"
        meta["labels"]["pod-template-hash"] = pod.template_hash
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                    "uid": f"{pod.uid[:-4]}rs00", "controller": True,
                                    "blockOwnerDeletion": True}]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"serviceAccountName": pod.service_account, "nodeName": pod.node.name,
                 "containers": [{"name": "app", "image": "weft/e2e-server:latest"}]},
        "status": {"phase": "Running", "podIP": pod.ip, "podIPs": [{"ip": pod.ip}]},
    }


def mesh_policy(name, namespace, mode=None, match_labels=None, principals=None,
                namespaces=None):
    """A security.weft.io/v1alpha1 MeshPolicy (agent/discovery/README.md): mode STRICT or
    PERMISSIVE, optional selector labels and allow lists (None = not present)."""
    spec = {}
    if match_labels is not None:
        spec["selector"] = {"matchLabels": dict(match_labels)}
    if mode is not None:
        spec["mode"] = mode
    allow = {}
    if principals is not None:
        allow["principals"] = list(principals)
    if namespaces is not None:
        allow["namespaces"] = list(namespaces)
    if allow:
        spec["allow"] = allow
    return {"apiVersion": "security.weft.io/v1alpha1", "kind": "MeshPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def as_list(objects):
    """A `kind: List` holding objects (one file, several kinds)."""
    return {"apiVersion": "v1", "kind": "List", "items": list(objects)}


def write_text(directory, filename, text):
    """Atomically replaces directory/filename with text (dotfile temp + rename; the agent
    skips dotfiles and sees one IN_MOVED_TO)."""
    tmp = os.path.join(directory, f".{filename}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(directory, filename))


def write(directory, filename, objects):
    """Writes objects as one JSON `kind: List` file, atomically."""
    write_text(directory, filename, json.dumps(as_list(objects), indent=2) + "\n")
