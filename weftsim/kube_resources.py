"""The API resources the Kubernetes API stand-in serves, and how a real server shapes their
objects: system metadata (uid, resourceVersion, generation, creationTimestamp, managedFields),
Status error bodies, merge patches and field-selector values.

Used by kube_store.py and kube_apiserver.py (the server process); the harness side
(kube_api.py) only needs `by_kind` to name a resource.
"""
import copy
import dataclasses
import datetime
import json
import uuid

# What the server fills in itself; never owned by a field manager.
SYSTEM_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "managedFields", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "generateName")


@dataclasses.dataclass(frozen=True)
class Resource:
    """One API resource (group/version/plural) with the traits the stand-in models."""
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    crd: bool = False               # CRD items carry kind/apiVersion in lists
    status_subresource: bool = True  # the main resource ignores status writes
    generation: bool = False        # metadata.generation counts spec changes
    field_labels: tuple = ()        # field selector labels beyond metadata.name/namespace

    @property
    def api_version(self):
        """apiVersion of objects: "v1" or "group/version"."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self):
        """The URL prefix of the group version: /api/v1 or /apis/<group>/<version>."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def supported_fields(self):
        """Field selector labels the real server accepts for this resource."""
        base = ("metadata.name", "metadata.namespace") if self.namespaced else ("metadata.name",)
        return base + self.field_labels


POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
              "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
              "status.nominatedNodeName")

GATEWAY_GROUP = "gateway.networking.k8s.io"
WEFT_POLICY_GROUP = "security.weft.io"
CRD_GROUPS = (GATEWAY_GROUP, WEFT_POLICY_GROUP)

RESOURCES = (
    # Pods have metadata.generation since Kubernetes 1.33 (KEP-5067).
    Resource("", "v1", "pods", "Pod", generation=True, field_labels=POD_FIELDS),
    Resource("", "v1", "services", "Service"),
    Resource("", "v1", "namespaces", "Namespace", namespaced=False,
             field_labels=("status.phase",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice",
             status_subresource=False, generation=True),
    Resource(GATEWAY_GROUP, "v1", "httproutes", "HTTPRoute", crd=True, generation=True),
    Resource(GATEWAY_GROUP, "v1", "grpcroutes", "GRPCRoute", crd=True, generation=True),
    Resource(WEFT_POLICY_GROUP, "v1alpha1", "meshpolicies", "MeshPolicy", crd=True,
             generation=True),
)

BY_PLURAL = {r.plural: r for r in RESOURCES}


def by_path(group, version, plural):
    """The resource served at /api(s)/<group>/<version>/<plural>, or None."""
    r = BY_PLURAL.get(plural)
    return r if r is not None and (r.group, r.version) == (group, version) else None


def by_kind(api_version, kind):
    """The resource of objects with this apiVersion and kind, or None."""
    for r in RESOURCES:
        if (r.api_version, r.kind) == (api_version, kind):
            return r
    return None


class ApiError(Exception):
    """An error the server answers with a Status object and HTTP status `code`."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details if details is not None else {}
        self.headers = headers or {}

    def status(self):
        """The metav1.Status body, field for field as a real server writes it."""
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code, reason, message, details=None):
    """A failure metav1.Status."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason,
            "details": details if details is not None else {}, "code": code}


def not_found_resource():
    """404 for a path no installed resource serves (also an absent CRD)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def not_found(resource, name):
    """404 for a named object that does not exist."""
    return ApiError(404, "NotFound", f'{_qualified(resource)} "{name}" not found',
                    {"name": name, "group": resource.group, "kind": resource.plural}
                    if resource.group else {"name": name, "kind": resource.plural})


def already_exists(resource, name):
    """409 AlreadyExists for a create of an existing name."""
    return ApiError(409, "AlreadyExists", f'{_qualified(resource)} "{name}" already exists',
                    _details(resource, name))


def conflict(resource, name):
    """409 Conflict for a write with a stale metadata.resourceVersion."""
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(resource)} "{name}": the '
                    "object has been modified; please apply your changes to the latest version "
                    "and try again", _details(resource, name))


def bad_request(message):
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def expired(message):
    """410 Gone with reason Expired (too old resourceVersion or continue token)."""
    return ApiError(410, "Expired", message)


def _qualified(resource):
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


def _details(resource, name):
    details = {"name": name, "kind": resource.plural}
    if resource.group:
        details["group"] = resource.group
    return details


def now_rfc3339():
    """The current time as metav1.Time serializes it: RFC 3339, seconds, Z."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fields_v1(value, depth=0):
    """The FieldsV1 set of a value: maps as "f:<key>", lists of named items as
    k:{"name":...} keys, other lists and scalars as leaves; "." marks a map below a
    top-level field that is itself a member (as labels and list items are)."""
    if isinstance(value, dict) and value:
        out = {".": {}} if depth >= 2 else {}
        out.update({f"f:{k}": fields_v1(v, depth + 1) for k, v in value.items()})
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i
                                                 for i in value):
        return {"k:" + json.dumps({"name": i["name"]}, separators=(",", ":")):
                fields_v1(i, depth + 1) for i in value}
    return {}


def owned_fields(obj, subresource):
    """What a write owns: status alone for the status subresource, else everything the
    client may set (metadata other than system fields, spec and other top-level fields)."""
    if subresource == "status":
        return {"f:status": fields_v1(obj.get("status", {}), depth=1)}
    body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion", "status")}
    meta = {k: v for k, v in body.get("metadata", {}).items() if k not in SYSTEM_METADATA}
    body["metadata"] = meta
    return fields_v1({k: v for k, v in body.items() if v not in ({}, None)})


def record_manager(obj, resource, manager, operation, subresource, time):
    """Replaces the managedFields entry of (manager, operation, subresource) with one for
    this write, as the server's field manager does for Update operations."""
    entry = {"manager": manager, "operation": operation, "apiVersion": resource.api_version,
             "time": time, "fieldsType": "FieldsV1",
             "fieldsV1": owned_fields(obj, subresource)}
    if subresource:
        entry["subresource"] = subresource
    meta = obj["metadata"]
    kept = [e for e in meta.get("managedFields", [])
            if (e.get("manager"), e.get("operation"), e.get("subresource")) !=
            (manager, operation, subresource)]
    meta["managedFields"] = kept + [entry]


def content(obj):
    """The object without fields the server rewrites on every write (to detect no-ops)."""
    c = copy.deepcopy(obj)
    for key in ("resourceVersion", "managedFields"):
        c.get("metadata", {}).pop(key, None)
    return c


def spec_part(obj):
    """What metadata.generation counts: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind",
                                                      "apiVersion")}


def stamp_new(resource, obj, time, keep_uid):
    """System metadata of a newly created object (resourceVersion is the store's)."""
    meta = obj.setdefault("metadata", {})
    if not (keep_uid and meta.get("uid")):
        meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = time
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                "resourceVersion"):
        meta.pop(key, None)
    if resource.generation:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)


def with_type(resource, obj):
    """obj with kind and apiVersion first, as single GETs and watch events carry them."""
    out = {"kind": resource.kind, "apiVersion": resource.api_version}
    out.update({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
    return out


def list_item(resource, obj):
    """An item of a LIST: built-in types drop kind/apiVersion, CRDs keep them."""
    if resource.crd:
        return with_type(resource, obj)
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch of target by patch (neither is modified)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def field_value(obj, label):
    """The string a field selector compares for label (missing fields are "")."""
    value = obj
    for part in label.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def key_of(resource, namespace, name):
    """The object's key under the resource's etcd prefix: "<ns>/<name>" or "<name>"."""
    return f"{namespace}/{name}" if resource.namespaced else name
