"""The harness side of the Kubernetes API stand-in (kube_apiserver.py): its CA, serving and
client certificates and token, the process (in the control-plane netns, see
Cluster.add_apiserver), kubeconfig files for agents, and a Python API over its control socket
for objects and fault injection.
"""
import base64
import ipaddress
import json
import os
import secrets
import socket

from cryptography import x509

from . import certs, kube_resources, netns, paths, procs

KUBE_APISERVER = os.path.join(paths.PACKAGE_DIR, "kube_apiserver.py")
PORT = 6443
AGENT_USER = "system:node:weft-agent"


class ApiError(RuntimeError):
    """A control operation the server refused; `status` is its metav1.Status."""

    def __init__(self, status):
        super().__init__(f"{status.get('code')} {status.get('reason')}: {status.get('message')}")
        self.status = status
        self.code = status.get("code")
        self.reason = status.get("reason")


class KubeApiServer:
    """One stand-in server listening on https://<address>:<port> inside netns_name (None:
    the harness's own netns); objects and faults through its control socket."""

    def __init__(self, workdir, cleanup, netns_name=None, address="127.0.0.1", port=PORT,
                 crd_groups=kube_resources.CRD_GROUPS, bookmark_interval=1.0, history=1000,
                 expired_watch="event"):
        self.dir = os.path.join(workdir, "kube-apiserver")
        os.makedirs(self.dir, exist_ok=True)
        self.address = address
        self.port = port
        self.url = f"https://{address}:{port}"
        self.token = secrets.token_urlsafe(32)
        self.ca = certs.new_ca("weft-e2e kubernetes CA")
        self.ca_path = os.path.join(self.dir, "ca.crt")
        with open(self.ca_path, "wb") as f:
            f.write(self.ca.cert_pem())
        server = certs.new_leaf(self.ca, x509.IPAddress(ipaddress.ip_address(address)))
        cert, key = server.write(self.dir, "apiserver")
        self.client_cert, self.client_key = certs.new_client(
            self.ca, AGENT_USER, ["system:nodes"]).write(self.dir, "client")
        self.control_path = os.path.join(self.dir, "control.sock")
        # --token=: a token_urlsafe() may start with "-".
        argv = [paths.PYTHON, KUBE_APISERVER, "--listen", f"{address}:{port}", "--cert", cert,
                "--key", key, "--client-ca", self.ca_path, f"--token={self.token}",
                "--control", self.control_path, "--crd-groups", ",".join(crd_groups),
                "--bookmark-interval", str(bookmark_interval), "--history", str(history),
                "--expired-watch", expired_watch]
        if netns_name:
            argv = netns.exec_argv(netns_name, argv)
        self.log_path = os.path.join(self.dir, "apiserver.log")
        self.proc = procs.Service(argv, self.log_path, "kube-apiserver stand-in",
                                  stdout_pipe=True)
        cleanup.push("stop kube-apiserver stand-in", self.proc.stop)
        line = self.proc.readline(timeout=15)
        if not line.startswith("ready"):
            raise RuntimeError(f"stand-in printed {line!r}\n{self.proc.log()}")
        self.kubeconfig_path = self.kubeconfig(os.path.join(self.dir, "kubeconfig"))

    # ---- kubeconfig -------------------------------------------------------------------

    def kubeconfig(self, path, auth="token", token_file=None, namespace="weft-system"):
        """Writes a kubeconfig (YAML, CA embedded as certificate-authority-data) for this
        server; auth "token" (embedded), "token-file" (tokenFile: token_file, as a projected
        service account token is read) or "cert" (client-certificate/-key-data). Returns
        path."""
        if auth == "token":
            user = [f"    token: {self.token}"]
        elif auth == "token-file":
            user = [f"    tokenFile: {token_file}"]
        elif auth == "cert":
            user = [f"    client-certificate-data: {_b64_file(self.client_cert)}",
                    f"    client-key-data: {_b64_file(self.client_key)}"]
        else:
            raise ValueError(f"unknown auth {auth}")
        lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: weft-e2e",
                 "  cluster:", f"    server: {self.url}",
                 f"    certificate-authority-data: {_b64_file(self.ca_path)}",
                 "contexts:", "- name: weft-e2e", "  context:", "    cluster: weft-e2e",
                 "    user: weft-agent", f"    namespace: {namespace}",
                 "current-context: weft-e2e", "preferences: {}", "users:",
                 "- name: weft-agent", "  user:"] + user
        _write_atomically(path, "\n".join(lines) + "\n")
        return path

    def write_token_file(self, path, token=None):
        """Writes token (default: the accepted one) to path atomically, as the kubelet
        rotates a projected token; returns the token."""
        token = token or self.token
        _write_atomically(path, token)
        return token

    def rotate_token(self, path, keep_old=True):
        """A new token: accepted by the server (with the old one too unless keep_old is
        False, as an expired token stops working), then written to path."""
        new = secrets.token_urlsafe(32)
        self.set_tokens([new] + ([self.token] if keep_old else []))
        self.token = new
        self.write_token_file(path, new)
        return new

    # ---- control socket ---------------------------------------------------------------

    def call(self, op, **args):
        """One control operation; raises ApiError with the server's Status on refusal."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.control_path)
            s.sendall(json.dumps({"op": op, "args": args}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError(f"control socket closed during {op}\n{self.proc.log()}")
                data += chunk
        reply = json.loads(data)
        if not reply["ok"]:
            raise ApiError(reply["error"])
        return reply["result"]

    def create(self, obj, manager="weftsim"):
        """Stores a new object as given (uid and status kept; missing namespace created)
        and returns it as the server does."""
        return self.call("create", obj=obj, manager=manager)

    def update(self, obj, manager="weftsim"):
        """Replaces an object (status kept: use patch_status); a metadata.resourceVersion in
        obj must be current (409 Conflict otherwise)."""
        return self.call("update", obj=obj, manager=manager)

    def apply(self, obj, manager="weftsim"):
        """create, or update unconditionally when the name exists; returns the object."""
        try:
            return self.create(obj, manager)
        except ApiError as e:
            if e.reason != "AlreadyExists":
                raise
        obj = json.loads(json.dumps(obj))
        obj.get("metadata", {}).pop("resourceVersion", None)
        return self.update(obj, manager)

    def patch(self, resource, namespace, name, patch, manager="weftsim"):
        """A merge patch of the main resource (e.g. annotations)."""
        return self.call("patch", resource=resource, namespace=namespace, name=name,
                         patch=patch, manager=manager)

    def patch_status(self, resource, namespace, name, status, manager="kubelet"):
        """A merge patch of the status subresource with {"status": status}."""
        return self.call("patch", resource=resource, namespace=namespace, name=name,
                         patch={"status": status}, subresource="status", manager=manager)

    def delete(self, resource, namespace, name, grace_seconds=None):
        """Removes an object; grace_seconds only marks it (deletionTimestamp, MODIFIED)."""
        return self.call("delete", resource=resource, namespace=namespace, name=name,
                         grace_seconds=grace_seconds)

    def get(self, resource, namespace, name):
        """The stored object."""
        return self.call("get", resource=resource, namespace=namespace, name=name)

    def list(self, resource, namespace=None):
        """{"resourceVersion", "items"} of a resource (all namespaces by default)."""
        return self.call("list", resource=resource, namespace=namespace)

    def resource_version(self):
        """The current global revision, as a string."""
        return self.call("resource_version")

    def set_tokens(self, tokens):
        """Replaces the set of accepted bearer tokens."""
        self.call("set_tokens", tokens=list(tokens))

    def install(self, group):
        """Installs a CRD group (e.g. kube_resources.GATEWAY_GROUP)."""
        self.call("install", group=group)

    def uninstall(self, group):
        """Removes a CRD group: its paths answer 404 (stored objects are kept)."""
        self.call("uninstall", group=group)

    def drop_watches(self):
        """Closes every open watch at the TCP level; returns how many."""
        return self.call("drop_watches")

    def stall_watches(self, seconds):
        """Watches send nothing for `seconds` (connections kept; events delivered after)."""
        self.call("stall_watches", seconds=seconds)

    def throttle(self, count, retry_after_seconds, match=""):
        """The next `count` requests (whose path?query contains match) get 429 + Retry-After."""
        self.call("throttle", count=count, retry_after_seconds=retry_after_seconds,
                  match=match)

    def fail(self, count, status=500, match=""):
        """The next `count` requests (whose path?query contains match) get `status`."""
        self.call("fail", count=count, status=status, match=match)

    def compact(self):
        """Every revision before the current one becomes too old; returns the current."""
        return self.call("compact")

    def restart(self):
        """As a restart of an etcd-backed server: all connections dropped, history gone
        (every resume 410s), revision moved on, objects kept; returns the revision."""
        return self.call("restart")

    def set_bookmark_interval(self, seconds):
        """Seconds between BOOKMARK events on watches that asked for them."""
        self.call("set_bookmark_interval", seconds=seconds)

    def set_expired_watch(self, mode):
        """"event" (200 + ERROR 410 event, the usual) or "http" (an HTTP 410 answer)."""
        self.call("set_expired_watch", mode=mode)

    def request_log(self, since=0):
        """Requests served (seq > since): seq, time, method, path, query, raw_query, status,
        auth ("cert"|"token"|"none"), user, content_type, user_agent, body, watch."""
        return self.call("request_log", since=since)

    def wait_for_request(self, predicate, timeout=10, since=0):
        """The first logged request (seq > since) for which predicate(entry) is true."""
        def found():
            return next((e for e in self.request_log(since) if predicate(e)), None)
        return procs.wait_until(found, timeout, interval=0.1, what="a matching API request")

    def log(self):
        """The server's stderr (one line per request)."""
        return self.proc.log()


def _b64_file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def _write_atomically(path, text):
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)

