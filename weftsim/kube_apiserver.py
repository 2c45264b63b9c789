"""A Kubernetes API server stand-in for the e2e tests: the wire format of kube-apiserver's
JSON REST API over HTTP/1.1 + TLS, backed by an in-memory etcd model (kube_store.py), with
fault injection, driven by the harness (kube_api.py) over a Unix control socket.

Run as a script (inside the control-plane netns):
  /usr/bin/python3 weftsim/kube_apiserver.py --listen IP:PORT --cert C --key K
      --client-ca CA --token T [--token T2 ...] --control /path/sock
      [--crd-groups g1,g2] [--bookmark-interval S] [--history N] [--expired-watch event|http]
It prints "ready <ip>:<port>" on stdout once both sockets listen.

Modelled (as kube-apiserver 1.3x answers a JSON client):
- Resources: v1 pods, services, namespaces; discovery.k8s.io/v1 endpointslices;
  gateway.networking.k8s.io/v1 httproutes, grpcroutes and security.weft.io/v1alpha1
  meshpolicies as CRDs that can be absent (every path of an absent group: 404 Status "the
  server could not find the requested resource"), installed or removed at runtime. Discovery
  documents /api, /api/v1, /apis, /apis/<group>/<version> list what is installed.
- Paths: cluster-wide and namespaced collections, named objects, the `status` subresource.
- Objects: uid, resourceVersion (one global etcd revision), generation (pods, endpointslices,
  CRDs: bumped by spec changes), creationTimestamp, managedFields (FieldsV1, one entry per
  manager/operation/subresource; the manager is ?fieldManager= or the User-Agent up to "/"),
  ownerReferences and other metadata kept; single GETs and watch objects carry kind and
  apiVersion; LIST items do not for built-in types and do for CRDs. No-op writes do not bump
  the revision or send events. A POST/PUT to the main resource ignores status (status
  subresource); a write to /status changes only status. POST in a missing namespace is 404.
- LIST: limit + continue (the real token: base64url JSON {v, rv, start}); an expired token is
  410 Expired; remainingItemCount when there is no selector; resourceVersion "" / "0" (served
  current; "0" ignores limit like the watch cache), resourceVersion=N with
  resourceVersionMatch=Exact (snapshot from history, 410 when compacted); fieldSelector
  (metadata.name, metadata.namespace, pods' spec.nodeName and the other pod field labels;
  others 400 "field label not supported"), labelSelector (=, ==, !=, key, !key).
- WATCH (?watch=true|1, collections or one named object): chunked application/json, one
  event per chunk and line; "" / "0" start with ADDED for the current state, N replays the
  history after N then goes live; selector watches turn "starts matching" into ADDED and
  "stops matching" into DELETED (previous content at the event's revision), like the watch
  cache; BOOKMARK every --bookmark-interval seconds when allowWatchBookmarks=true; a too old
  revision is HTTP 200 + an ERROR event (Status 410 Expired "too old resource version: N (M)")
  or, with --expired-watch http, an HTTP 410 Status; timeoutSeconds ends the stream with the
  last chunk (default 1800 s).
- Writes: POST (201), PUT (optimistic concurrency: a stale resourceVersion is 409), PATCH with
  application/merge-patch+json (RFC 7386) and application/strategic-merge-patch+json (modelled
  as a merge patch: the same for maps such as labels and annotations; lists are replaced where
  a real server would merge them by key), DELETE (200 with the last state; pods are removed at
  once, as with gracePeriodSeconds=0). Other patch types 415; other verbs 405.
- Auth: Bearer tokens (the accepted set changes at runtime) or a client certificate verified
  against --client-ca (CN is the user); neither is 401 Unauthorized.
- Faults (control socket): 429 TooManyRequests with Retry-After, injected 5xx (or 403), drop
  every watch (TCP closed mid-stream, no last chunk), stall watches (connection kept, nothing
  sent, not even the stream's end at timeoutSeconds), compaction, restart (all connections dropped, history forgotten, revision moved on).

Not modelled: authorization (RBAC) and admission (except namespace existence), validation or
defaulting of object bodies (OpenAPI), server-side apply, json-patch, deletecollection,
graceful deletion over HTTP, finalizers, generateName collisions, watch-list /
sendInitialEvents, resourceVersionMatch=NotOlderThan waiting for a future revision (served
current), set-based label selectors, protobuf, tables, HTTP/2 (ALPN offers only http/1.1),
API priority and fairness beyond injected 429s, a handshake failure instead of 401 for an
untrusted client certificate (Python's ssl verifies it during the handshake).
"""
import argparse
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if __package__ in (None, ""):
    # Run by path: import the package from the repository root.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "weftsim"  # noqa: A001 - lets the relative imports below resolve

from . import kube_resources as kr  # noqa: E402
from .kube_selectors import Selector  # noqa: E402
from .kube_store import Store, TooOld, parse_rv  # noqa: E402

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
DEFAULT_WATCH_TIMEOUT = 1800
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
FAULT_REASONS = {403: "Forbidden", 500: "InternalError", 502: "InternalError",
                 503: "ServiceUnavailable", 504: "Timeout"}


class Faults:
    """Injected failures: counted 429s and error statuses (optionally only for requests whose
    path and query contain a substring), watch stalls."""

    def __init__(self):
        self.lock = threading.Lock()
        self.throttles = []  # [count, retry_after, match]
        self.failures = []   # [count, status, match]
        self.stall_until = 0.0

    def take(self, path):
        """The ApiError to answer this request with instead of serving it, or None."""
        with self.lock:
            for entry in self.throttles:
                if entry[0] > 0 and entry[2] in path:
                    entry[0] -= 1
                    return kr.ApiError(429, "TooManyRequests",
                                       "Too many requests, please try again later.",
                                       {"retryAfterSeconds": entry[1]},
                                       {"Retry-After": str(entry[1])})
            for entry in self.failures:
                if entry[0] > 0 and entry[2] in path:
                    entry[0] -= 1
                    reason = FAULT_REASONS.get(entry[1], "InternalError")
                    return kr.ApiError(entry[1], reason,
                                       f"injected failure ({reason}) by the test harness")
        return None

    def stalled(self):
        """True while watches must send nothing."""
        return time.monotonic() < self.stall_until


class State:
    """Everything the HTTP handlers and the control socket share."""

    def __init__(self, args):
        self.store = Store(history_limit=args.history)
        self.faults = Faults()
        self.tokens = set(args.token)
        self.installed = set(args.crd_groups.split(",")) if args.crd_groups else set()
        self.bookmark_interval = args.bookmark_interval
        self.expired_watch = args.expired_watch
        self.lock = threading.Lock()
        self.log = []
        self.connections = {}  # socket -> is a watch
        for ns in DEFAULT_NAMESPACES:
            self.store.create(kr.BY_PLURAL["namespaces"], namespace_object(ns),
                              "kube-apiserver")

    def installed_resource(self, resource):
        """True when the resource's group is served (built-in groups always are)."""
        return not resource.crd or resource.group in self.installed

    def record(self, entry):
        """Appends a request to the log (seq numbers from 1)."""
        with self.lock:
            entry["seq"] = len(self.log) + 1
            self.log.append(entry)

    def drop(self, watches_only):
        """Closes connections at the TCP level (no TLS close_notify, no last chunk)."""
        with self.lock:
            targets = [s for s, is_watch in self.connections.items()
                       if is_watch or not watches_only]
        for sock in targets:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
        return len(targets)


def namespace_object(name):
    """A Namespace as the server creates it (metadata.name label, finalizer, Active)."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


class Route:
    """A parsed resource path."""

    def __init__(self, resource, namespace, name, subresource):
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


def parse_path(path):
    """The Route of /api/v1/... or /apis/<g>/<v>/... or raises 404."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise kr.not_found_resource()
    namespace = None
    if (len(rest) >= 3 and rest[0] == "namespaces"
            and (r := kr.by_path(group, version, rest[2])) is not None and r.namespaced):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise kr.not_found_resource()
    resource = kr.by_path(group, version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise kr.not_found_resource()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub not in (None, "status") or (sub and not resource.status_subresource):
        raise kr.not_found_resource()
    return Route(resource, namespace, name, sub)


class Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive, JSON bodies, Status errors."""

    protocol_version = "HTTP/1.1"
    server_version = "weft-kube-apiserver-standin"
    sys_version = ""

    @property
    def state(self):
        return self.server.state

    def setup(self):
        super().setup()
        with self.state.lock:
            self.state.connections[self.connection] = False

    def finish(self):
        with self.state.lock:
            self.state.connections.pop(self.connection, None)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def __getattr__(self, name):
        # http.server looks up do_<METHOD>: every verb goes through serve(), so unknown
        # ones are a 405 Status (as on a real server) rather than http.server's 501.
        if name.startswith("do_"):
            return lambda: self.serve(name[3:])
        raise AttributeError(name)

    # ---- one request ------------------------------------------------------------------

    def serve(self, method):
        """Authenticates, applies faults, routes and answers one request, then logs it."""
        url = urllib.parse.urlsplit(self.path)
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query,
                                                                   keep_blank_values=True).items()}
        self.entry = {"time": time.time(), "method": method, "path": url.path,
                      "query": self.query, "raw_query": url.query,
                      "content_type": self.headers.get("Content-Type"),
                      "user_agent": self.headers.get("User-Agent"), "body": None,
                      "watch": False, "status": None}
        self.logged = False
        try:
            body = self.read_body()
            self.entry["auth"], self.entry["user"] = self.authenticate()
            if self.entry["auth"] == "none":
                raise kr.ApiError(401, "Unauthorized", "Unauthorized")
            fault = self.state.faults.take(url.path + (f"?{url.query}" if url.query else ""))
            if fault is not None:
                raise fault
            self.dispatch(method, url.path, body)
        except kr.ApiError as e:
            self.send_json(e.code, e.status(), e.headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        if not self.logged:
            self.log_status("dropped")

    def log_status(self, status):
        """Logs the request with the status it is answered with (a watch: when its stream
        starts, so tests can act while it runs)."""
        self.entry["status"] = status
        self.logged = True
        self.state.record(self.entry)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            raise kr.bad_request("the body of the request was in an unknown format - "
                                 "accepted media types include: application/json") from None
        self.entry["body"] = body
        return body

    def authenticate(self):
        """("cert"|"token"|"none", user), in the real authenticator order: the verified
        client certificate's CN, then a Bearer token; a wrong token is "none" ("bad-token")."""
        for rdn in (self.connection.getpeercert() or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return "cert", value
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if header[len("Bearer "):].strip() in self.state.tokens:
                return "token", "system:serviceaccount:weft-system:weft-agent"
            return "none", "bad-token"
        return "none", None

    def dispatch(self, method, path, body):
        if method == "GET" and self.discovery(path):
            return
        route = parse_path(path)
        if not self.state.installed_resource(route.resource):
            raise kr.not_found_resource()
        if method == "GET" and self.query.get("watch") in ("true", "1"):
            self.entry["watch"] = True
            return self.watch(route)
        handler = {("GET", False): self.get_one, ("GET", True): self.list,
                   ("POST", True): self.create, ("PUT", False): self.replace,
                   ("PATCH", False): self.patch, ("DELETE", False): self.delete
                   }.get((method, route.name is None))
        if handler is None or (route.subresource and method not in ("GET", "PUT", "PATCH")):
            raise kr.ApiError(405, "MethodNotAllowed",
                              "the server does not allow this method on the requested resource")
        handler(route, body)

    def int_param(self, name):
        """A non-negative integer query parameter (0 when absent); 400 otherwise."""
        text = self.query.get(name) or "0"
        if not text.isdigit():
            raise kr.bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
        return int(text)

    def manager(self):
        """The field manager: ?fieldManager= or the User-Agent's program name."""
        agent = self.headers.get("User-Agent") or "unknown"
        return self.query.get("fieldManager") or agent.split("/")[0]

    # ---- verbs ------------------------------------------------------------------------

    def get_one(self, route, _body):
        self.send_json(200, self.state.store.get(route.resource, route.namespace, route.name))

    def list(self, route, _body):
        r = route.resource
        selector = Selector(r, self.query.get("fieldSelector", ""),
                            self.query.get("labelSelector", ""))
        rv_text = self.query.get("resourceVersion", "")
        match = self.query.get("resourceVersionMatch", "")
        limit = self.int_param("limit")
        token = self.query.get("continue") or None
        if match and not rv_text:
            raise kr.bad_request("resourceVersionMatch is forbidden unless resourceVersion "
                                 "is provided")
        if token and rv_text:
            raise kr.bad_request("specifying resource version is not allowed when using "
                                 "continue")
        exact = parse_rv(rv_text) if match == "Exact" else None
        if rv_text == "0" and not token:
            limit = 0  # served from the watch cache, which ignores limit
        items, rv, cont, remaining = self.state.store.list(r, route.namespace, selector, limit,
                                                           token, exact)
        meta = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        self.send_json(200, {"kind": r.kind + "List", "apiVersion": r.api_version,
                             "metadata": meta,
                             "items": [kr.list_item(r, i) for i in items]})

    def check_body(self, route, body):
        r = route.resource
        if not isinstance(body, dict):
            raise kr.bad_request("the body of the request was in an unknown format")
        if (body.get("apiVersion"), body.get("kind")) != (r.api_version, r.kind):
            raise kr.bad_request(f"the API version in the data ({body.get('apiVersion')}) "
                                 f"does not match the expected API version ({r.api_version})"
                                 if body.get("apiVersion") != r.api_version else
                                 f"the kind in the data ({body.get('kind')}) does not match "
                                 f"the expected kind ({r.kind})")
        meta = body.setdefault("metadata", {})
        if r.namespaced:
            if meta.get("namespace", route.namespace) != route.namespace:
                raise kr.bad_request("the namespace of the provided object does not match "
                                     "the namespace sent on the request")
            meta["namespace"] = route.namespace
        return body

    def create(self, route, body):
        body = self.check_body(route, body)
        if route.resource.namespaced:
            self.state.store.get(kr.BY_PLURAL["namespaces"], None, route.namespace)
        if route.resource.status_subresource:
            body.pop("status", None)
            if route.resource.kind == "Pod":
                body["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        self.send_json(201, self.state.store.create(route.resource, body, self.manager()))

    def replace(self, route, body):
        body = self.check_body(route, body)
        obj = self.state.store.update(route.resource, route.namespace, route.name,
                                      lambda _old: body, self.manager(), route.subresource)
        self.send_json(200, obj)

    def patch(self, route, body):
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if kind not in (MERGE_PATCH, STRATEGIC_PATCH):
            raise kr.ApiError(415, "UnsupportedMediaType",
                              f'the body of the request was in an unknown format - accepted '
                              f'media types include: {MERGE_PATCH}, {STRATEGIC_PATCH}')
        if not isinstance(body, dict):
            raise kr.bad_request("the body of the request was in an unknown format")
        obj = self.state.store.update(route.resource, route.namespace, route.name,
                                      lambda old: kr.merge_patch(old, body), self.manager(),
                                      route.subresource)
        self.send_json(200, obj)

    def delete(self, route, _body):
        self.send_json(200, self.state.store.delete(route.resource, route.namespace,
                                                    route.name))

    # ---- watch ------------------------------------------------------------------------

    def watch(self, route):
        """Streams events until timeoutSeconds, a drop, or a compaction overtaking it."""
        r = route.resource
        selector = Selector(r, self.query.get("fieldSelector", ""),
                            self.query.get("labelSelector", ""))
        if route.name:
            selector.fields.append(("metadata.name", True, route.name))
        if route.namespace:
            selector.fields.append(("metadata.namespace", True, route.namespace))
        timeout = self.int_param("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT
        bookmarks = self.query.get("allowWatchBookmarks") in ("true", "1")
        try:
            initial, sent_rv = self.state.store.watch_start(r, self.query.get(
                "resourceVersion", ""))
        except TooOld as e:
            if self.state.expired_watch == "http":
                raise kr.expired(str(e)) from None
            self.start_stream()
            self.send_event("ERROR", kr.expired(str(e)).status())
            return self.end_stream()
        self.start_stream()
        for obj in initial:
            if selector.matches(obj):
                self.send_event("ADDED", obj)
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.state.bookmark_interval
        # A stalled stream sends nothing, not even its end at timeoutSeconds: as a connection
        # through a black hole, only the client's own deadline gets it out.
        while time.monotonic() < deadline or self.state.faults.stalled():
            if self.state.faults.stalled():
                time.sleep(0.05)
                continue
            wait = min(deadline, next_bookmark) - time.monotonic()
            try:
                events, reached = self.state.store.wait_events(r, sent_rv, max(0.0, min(wait,
                                                                                       0.2)))
            except TooOld as e:
                self.send_event("ERROR", kr.expired(str(e)).status())
                return self.end_stream()
            if self.state.faults.stalled():
                continue  # a stall began while waiting: these events go out after it
            for ev in events:
                converted = convert_event(ev, selector)
                if converted:
                    self.send_event(*converted)
            sent_rv = reached
            if bookmarks and time.monotonic() >= next_bookmark:
                self.send_event("BOOKMARK", bookmark_object(r, sent_rv))
                next_bookmark = time.monotonic() + self.state.bookmark_interval
        self.end_stream()

    def start_stream(self):
        with self.state.lock:
            self.state.connections[self.connection] = True
        self.log_status(200)
        self.send_response(200)
        self.common_headers()
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def send_event(self, type_, obj):
        line = json.dumps({"type": type_, "object": obj}, separators=(",", ":")) + "\n"
        data = line.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        with self.state.lock:
            self.state.connections[self.connection] = False

    # ---- discovery and plumbing -------------------------------------------------------

    def discovery(self, path):
        """Answers the discovery documents; False for other paths."""
        path = path.rstrip("/")
        served = [r for r in kr.RESOURCES if self.state.installed_resource(r)]
        if path == "/api":
            doc = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.address_text}]}
        elif path == "/apis":
            groups = sorted({(r.group, r.version) for r in served if r.group})
            doc = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
                for g, v in groups]}
        else:
            matching = [r for r in served if r.prefix == path]
            if not matching:
                return False
            doc = {"kind": "APIResourceList", "apiVersion": "v1",
                   "groupVersion": matching[0].api_version, "resources": [
                       {"name": r.plural, "singularName": r.kind.lower(),
                        "namespaced": r.namespaced, "kind": r.kind,
                        "verbs": ["create", "delete", "get", "list", "patch", "update",
                                  "watch"]} for r in matching]}
        self.send_json(200, doc)
        return True

    def common_headers(self):
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")

    def send_json(self, code, doc, headers=None):
        data = json.dumps(doc, separators=(",", ":")).encode() + b"\n"
        self.log_status(code)
        self.send_response(code)
        self.common_headers()
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()


def convert_event(ev, selector):
    """(type, object) a watcher with this selector receives for a stored event, or None."""
    if not selector:
        return ev.type, ev.obj
    now = ev.type != "DELETED" and selector.matches(ev.obj)
    before = ev.prev is not None and selector.matches(ev.prev)
    if now:
        return ("MODIFIED" if before else "ADDED"), ev.obj
    if before:
        last = json.loads(json.dumps(ev.prev))
        last["metadata"]["resourceVersion"] = str(ev.rv)
        return "DELETED", last
    return None


def bookmark_object(resource, rv):
    """A BOOKMARK's object: built-in types serialize an empty typed object (hence
    creationTimestamp null), CRDs an unstructured one with only the revision."""
    meta = {"resourceVersion": str(rv)}
    if not resource.crd:
        meta["creationTimestamp"] = None
    return {"kind": resource.kind, "apiVersion": resource.api_version, "metadata": meta}


class ApiServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose TLS handshake runs in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, tls, state):
        self.tls = tls
        self.state = state
        self.address_text = f"{address[0]}:{address[1]}"
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"{client_address[0]} TLS handshake failed: {e}\n")
            return
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def shutdown_request(self, request):
        try:
            request.close()
        except OSError:
            pass


def tls_context(args):
    """Server TLS: our cert, http/1.1 only, client certificates optional but verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# ---- control socket ----------------------------------------------------------------------

class Control:
    """The harness's operations, one method per op name (JSON args by keyword)."""

    def __init__(self, state):
        self.state = state
        self.store = state.store

    def create(self, obj, manager="weftsim"):
        r = resource_of(obj)
        meta = obj.get("metadata", {})
        if r.namespaced and meta.get("namespace"):
            ns_res = kr.BY_PLURAL["namespaces"]
            if meta["namespace"] not in self.store.objects["namespaces"]:
                self.store.create(ns_res, namespace_object(meta["namespace"]), manager)
        return self.store.create(r, obj, manager, keep_uid=True)

    def update(self, obj, manager="weftsim"):
        r = resource_of(obj)
        meta = obj.get("metadata", {})
        return self.store.update(r, meta.get("namespace"), meta.get("name"),
                                 lambda _old: obj, manager)

    def patch(self, resource, namespace, name, patch, subresource=None, manager="weftsim"):
        return self.store.update(kr.BY_PLURAL[resource], namespace, name,
                                 lambda old: kr.merge_patch(old, patch), manager, subresource)

    def delete(self, resource, namespace, name, grace_seconds=None):
        r = kr.BY_PLURAL[resource]
        if grace_seconds is not None:
            return self.store.mark_deleting(r, namespace, name, grace_seconds)
        return self.store.delete(r, namespace, name)

    def get(self, resource, namespace, name):
        return self.store.get(kr.BY_PLURAL[resource], namespace, name)

    def list(self, resource, namespace=None):
        items, rv, _, _ = self.store.list(kr.BY_PLURAL[resource], namespace, None)
        return {"resourceVersion": str(rv), "items": items}

    def resource_version(self):
        return str(self.store.rv)

    def set_tokens(self, tokens):
        self.state.tokens = set(tokens)

    def install(self, group):
        self.state.installed.add(group)

    def uninstall(self, group):
        self.state.installed.discard(group)

    def drop_watches(self):
        return self.state.drop(watches_only=True)

    def stall_watches(self, seconds):
        self.state.faults.stall_until = time.monotonic() + seconds

    def throttle(self, count, retry_after_seconds, match=""):
        with self.state.faults.lock:
            self.state.faults.throttles.append([count, retry_after_seconds, match])

    def fail(self, count, status, match=""):
        with self.state.faults.lock:
            self.state.faults.failures.append([count, status, match])

    def compact(self):
        return str(self.store.compact())

    def restart(self):
        # Connections first, as a dying server loses them: compacting first would wake the
        # open watches, which could then end cleanly with a 410 before the cut.
        self.state.drop(watches_only=False)
        rv = self.store.compact(advance=True)
        return str(rv)

    def set_bookmark_interval(self, seconds):
        self.state.bookmark_interval = seconds

    def set_expired_watch(self, mode):
        self.state.expired_watch = mode

    def request_log(self, since=0):
        with self.state.lock:
            return [e for e in self.state.log if e["seq"] > since]


def resource_of(obj):
    r = kr.by_kind(obj.get("apiVersion"), obj.get("kind"))
    if r is None:
        raise kr.bad_request(f"no resource for {obj.get('apiVersion')} {obj.get('kind')}")
    return r


class ControlHandler(socketserver.StreamRequestHandler):
    """One JSON request per line: {"op", "args"} -> {"ok", "result"|"error"}."""

    def handle(self):
        for line in self.rfile:
            request = json.loads(line)
            op = request["op"]
            try:
                if op.startswith("_") or not hasattr(Control, op):
                    raise kr.bad_request(f"unknown control op {op}")
                result = getattr(self.server.control, op)(**request.get("args", {}))
                reply = {"ok": True, "result": result}
            except kr.ApiError as e:
                reply = {"ok": False, "error": e.status()}
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class ControlServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", required=True, help="IP:PORT")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", required=True)
    p.add_argument("--token", action="append", default=[])
    p.add_argument("--control", required=True, help="Unix socket path for the harness")
    p.add_argument("--crd-groups", default=",".join(kr.CRD_GROUPS),
                   help="comma-separated CRD groups installed at start")
    p.add_argument("--bookmark-interval", type=float, default=60.0)
    p.add_argument("--history", type=int, default=1000, help="events kept for watches")
    p.add_argument("--expired-watch", choices=("event", "http"), default="event")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state = State(args)
    host, port = args.listen.rsplit(":", 1)
    api = ApiServer((host, int(port)), tls_context(args), state)
    if os.path.exists(args.control):
        os.unlink(args.control)
    control = ControlServer(args.control, ControlHandler)
    control.control = Control(state)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(f"ready {host}:{api.server_address[1]}", flush=True)
    api.serve_forever()


if __name__ == "__main__":
    main()
