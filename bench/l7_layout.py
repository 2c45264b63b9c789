"""Where the L7 benchmark's pieces are: its loads, ways and placements, the app and Service
ports, the Services per way, the peer proxies' ports, and the gRPC call it makes."""
import struct

NAMESPACE = "bench"
PLACEMENTS = ("same-node", "cross-node")
LOADS = ("http1", "h2", "grpc")
WAYS = ("direct", "weft", "weft-tcp", "nginx-pair", "haproxy-pair")
WEFT_WAYS = ("weft", "weft-tcp")
LOAD_TITLES = {"http1": "HTTP/1.1 keep-alive (wrk)", "h2": "HTTP/2 (h2load, h2c)",
               "grpc": "gRPC unary (h2load, gRPC framing)"}
PLACEMENT_TITLES = {"same-node": "same node (client and server pods on node1)",
                    "cross-node": "across nodes (client pods on node1, server pods on node2)"}
PROXY_PROCESSES = {"direct": "none (kernel only)",
                   "weft": "every node's weft-agent (`--workers 1` each)",
                   "weft-tcp": "every node's weft-agent (`--workers 1` each)",
                   "nginx-pair": "2 nginx (master + 1 worker each)",
                   "haproxy-pair": "2 haproxy (1 thread each)"}

# The app ports of the backend nginx in every server pod, and the Service ports before them.
APP_PORT = {"http1": 8080, "h2": 8081, "grpc": 8082}
SERVICE_PORT = {"http1": 80, "h2": 81, "grpc": 9090}
PORT_NAME = {"http1": "http", "h2": "h2", "grpc": "grpc"}
LOAD_INDEX = {"http1": 0, "h2": 1, "grpc": 2}
# The Services: (placement, way) -> ClusterIP. weft's ports have no appProtocol (detected);
# weft-tcp's say "tcp" (L4 pass-through). Both have the placement's meshed server as endpoint.
CLUSTER_IP = {("same-node", "weft"): "10.96.0.40", ("same-node", "weft-tcp"): "10.96.0.41",
              ("cross-node", "weft"): "10.96.0.50", ("cross-node", "weft-tcp"): "10.96.0.51"}
SERVICE_NAME = {("same-node", "weft"): "echo-l7-local", ("same-node", "weft-tcp"): "echo-tcp-local",
                ("cross-node", "weft"): "echo-l7-remote",
                ("cross-node", "weft-tcp"): "echo-tcp-remote"}
POD_SUFFIX = {"same-node": "local", "cross-node": "remote"}
# Pairs: the client side listens on 127.0.0.1:<local + load index (+100 across nodes)> in the
# plain client pod; the server side on :<tls + load index> in the placement's plain server pod.
PAIR_LOCAL = {"nginx-pair": 10080, "haproxy-pair": 20080}
PAIR_TLS = {"nginx-pair": 10443, "haproxy-pair": 20443}
PLACEMENT_OFFSET = {"same-node": 0, "cross-node": 100}

GRPC_PATH = "/weft.bench.Echo/Say"
GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")
GRPC_REQUEST = b"\x0a\x05hello"                     # protobuf: field 1 (string) "hello"
GRPC_REPLY = b"\x0a\x15hello from weft bench"       # field 1 (string), 21 bytes


def grpc_frame(message):
    """A gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length."""
    return b"\x00" + struct.pack(">I", len(message)) + message
