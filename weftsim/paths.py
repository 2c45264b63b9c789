"""Where the build products, the CNI plugins and the pod-side scripts are."""
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(PACKAGE_DIR)
# The programs run inside pods, by path (`/usr/bin/python3 <script>`), never imported.
SERVERS_DIR = os.path.join(PACKAGE_DIR, "servers")
POD_SERVER = os.path.join(SERVERS_DIR, "pod_server.py")
POD_CLIENT = os.path.join(SERVERS_DIR, "pod_client.py")
TLS_PEER = os.path.join(SERVERS_DIR, "tls_peer.py")
SOAK_CLIENT = os.path.join(SERVERS_DIR, "soak_client.py")
PARALLEL_CLIENT = os.path.join(SERVERS_DIR, "parallel_client.py")
BULK_CLIENT = os.path.join(SERVERS_DIR, "bulk_client.py")
GRPC_ECHO_SERVER = os.path.join(SERVERS_DIR, "grpc_echo_server.py")
GRPC_CLIENT = os.path.join(SERVERS_DIR, "grpc_client.py")
HTTP_APP = os.path.join(SERVERS_DIR, "http_app.py")
HTTP_CLIENT = os.path.join(SERVERS_DIR, "http_client.py")
WS_CLIENT = os.path.join(SERVERS_DIR, "ws_client.py")
RAW_HTTP = os.path.join(SERVERS_DIR, "raw_http.py")
H2_ABUSE = os.path.join(SERVERS_DIR, "h2_abuse.py")
GRPC_RAW = os.path.join(SERVERS_DIR, "grpc_raw.py")
PYTHON = "/usr/bin/python3"
SYSTEM_CNI_DIR = "/usr/lib/cni"


class Build:
    """The build directory (WEFT_BUILD_DIR, default <repo>/build) and its binaries."""

    def __init__(self, build_dir=None):
        self.dir = os.path.abspath(build_dir or os.environ.get("WEFT_BUILD_DIR")
                                   or os.path.join(REPO_ROOT, "build"))
        self.agent = os.path.join(self.dir, "agent", "weft-agent")
        self.cni_dir = os.path.join(self.dir, "cni")
        self.cni = os.path.join(self.cni_dir, "weft-cni")
        self.weftctl = os.path.join(self.dir, "weftctl", "weftctl")

    @property
    def cni_path(self):
        """CNI_PATH: our plugin first, then Debian's containernetworking-plugins."""
        return [self.cni_dir, SYSTEM_CNI_DIR]

    def missing(self):
        """Human-readable reasons the binaries cannot be used, empty when all are there."""
        out = []
        for path in (self.agent, self.cni, self.weftctl):
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                out.append(f"{path} is missing (build it: ninja -C {self.dir})")
        return out
