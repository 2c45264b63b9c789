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


# -- Gateway API routes (gateway.networking.k8s.io/v1), attached to Services (GAMMA) ----------

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"


def _pairs(headers):
    """[(name, value)] from a dict or an iterable of pairs."""
    return list(headers.items()) if isinstance(headers, dict) else [tuple(h) for h in headers]


def service_parent(name, port=None, namespace=None, section_name=None):
    """A parentRefs[] entry naming a core Service (group "", kind Service): the route applies
    to requests sent to that Service (on `port`, a Service port number; None = every port)."""
    ref = {"group": "", "kind": "Service", "name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    if port is not None:
        ref["port"] = port
    if section_name is not None:
        ref["sectionName"] = section_name
    return ref


def backend(name, port, weight=None, namespace=None):
    """A backendRefs[] entry: Service `name`, Service port `port`, optional weight."""
    ref = {"group": "", "kind": "Service", "name": name, "port": port}
    if namespace is not None:
        ref["namespace"] = namespace
    if weight is not None:
        ref["weight"] = weight
    return ref


def value_matches(pairs, match_type="Exact"):
    """headers[] / queryParams[] match entries from a dict or [(name, value)]."""
    return [{"type": match_type, "name": n, "value": v} for n, v in _pairs(pairs)]


def http_match(path=None, path_type="PathPrefix", headers=None, method=None,
               query_params=None):
    """One HTTPRoute matches[] entry (every given condition must hold): path {type, value}
    (PathPrefix, Exact or RegularExpression), headers / query_params as dicts or
    [(name, value)] (Exact), method ("GET"...)."""
    m = {}
    if path is not None:
        m["path"] = {"type": path_type, "value": path}
    if headers:
        m["headers"] = value_matches(headers)
    if query_params:
        m["queryParams"] = value_matches(query_params)
    if method is not None:
        m["method"] = method
    return m


def grpc_match(service=None, method=None, headers=None, match_type="Exact"):
    """One GRPCRoute matches[] entry: method {type, service, method} (either may be None =
    any), headers as a dict or [(name, value)] (Exact)."""
    m = {}
    if service is not None or method is not None:
        m["method"] = {"type": match_type}
        if service is not None:
            m["method"]["service"] = service
        if method is not None:
            m["method"]["method"] = method
    if headers:
        m["headers"] = value_matches(headers)
    return m


def header_modifier(set=None, add=None, remove=None):  # noqa: A002 - Gateway API's names
    """An HTTPHeaderFilter body: set/add as dicts or [(name, value)], remove as names."""
    f = {}
    if set:
        f["set"] = [{"name": n, "value": v} for n, v in _pairs(set)]
    if add:
        f["add"] = [{"name": n, "value": v} for n, v in _pairs(add)]
    if remove:
        f["remove"] = list(remove)
    return f


def retry_policy(codes, attempts=None, backoff=None):
    """A rule's retry block (GEP-1731): codes = HTTP statuses ([503]) on an HTTPRoute, gRPC
    status names (["UNAVAILABLE"]) on a GRPCRoute (a weft extension); attempts = retries;
    backoff = a Gateway API duration ("10ms")."""
    r = {"codes": list(codes)}
    if attempts is not None:
        r["attempts"] = attempts
    if backoff is not None:
        r["backoff"] = backoff
    return r


def route_rule(matches=None, backends=(), request_headers=None, response_headers=None,
               timeout=None, backend_timeout=None, retry=None, name=None):
    """One rules[] entry of an HTTPRoute or GRPCRoute: matches (http_match / grpc_match
    dicts; None = no matches field: the rule matches every request), backendRefs (backend
    dicts), RequestHeaderModifier / ResponseHeaderModifier filters (header_modifier dicts),
    timeouts {request: timeout, backendRequest: backend_timeout} (durations like "500ms"),
    retry (retry_policy dict)."""
    rule = {}
    if name is not None:
        rule["name"] = name
    if matches is not None:
        rule["matches"] = list(matches)
    filters = []
    if request_headers is not None:
        filters.append({"type": "RequestHeaderModifier",
                        "requestHeaderModifier": request_headers})
    if response_headers is not None:
        filters.append({"type": "ResponseHeaderModifier",
                        "responseHeaderModifier": response_headers})
    if filters:
        rule["filters"] = filters
    rule["backendRefs"] = list(backends)
    timeouts = {}
    if timeout is not None:
        timeouts["request"] = timeout
    if backend_timeout is not None:
        timeouts["backendRequest"] = backend_timeout
    if timeouts:
        rule["timeouts"] = timeouts
    if retry is not None:
        rule["retry"] = retry
    return rule


def _route(kind, name, namespace, parents, rules, hostnames=None):
    spec = {"parentRefs": list(parents), "rules": list(rules)}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    return {"apiVersion": GATEWAY_API_VERSION, "kind": kind,
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def http_route(name, namespace, parents, rules, hostnames=None):
    """A gateway.networking.k8s.io/v1 HTTPRoute: parents = [service_parent(...)], rules =
    [route_rule(matches=[http_match(...)], ...)]."""
    return _route("HTTPRoute", name, namespace, parents, rules, hostnames)


def grpc_route(name, namespace, parents, rules, hostnames=None):
    """A gateway.networking.k8s.io/v1 GRPCRoute: parents = [service_parent(...)], rules =
    [route_rule(matches=[grpc_match(...)], ...)]."""
    return _route("GRPCRoute", name, namespace, parents, rules, hostnames)
