"""Topologies shared by the tests, the demo and the bench."""
import json
import secrets

from . import paths, procs
from .cluster import publish_service

HTTP_PORT = 8080
ECHO_PORT = 9000
SHA_PORT = 9100
SERVICE_PORTS = [("http", 80, HTTP_PORT), ("echo", ECHO_PORT, ECHO_PORT),
                 ("sha", SHA_PORT, SHA_PORT)]
GRPC_PORT = 50051          # grpc_echo_server.py's port in its pods (the targetPort)
GRPC_SERVICE_PORT = 9090   # the Service port in front of it


class EchoScenario:
    """A meshed client Deployment and an `echo` Service backed by server pods."""

    def __init__(self, namespace, cluster_ip, client, servers):
        self.namespace = namespace
        self.cluster_ip = cluster_ip
        self.client = client
        self.servers = servers
        self.service_host = f"echo.{namespace}.svc.cluster.local"

    @property
    def url(self):
        """The Service's HTTP URL (ClusterIP, port 80)."""
        return f"http://{self.cluster_ip}/"


def deployment_pods(node, deployment, count, namespace, meshed=True):
    """`count` pods of one Deployment (one ReplicaSet hash), service account = deployment."""
    template_hash = secrets.token_hex(5)
    return [node.add_pod(f"{deployment}-{template_hash}-{secrets.token_hex(3)[:5]}",
                         namespace=namespace, service_account=deployment,
                         deployment=deployment, template_hash=template_hash, meshed=meshed)
            for _ in range(count)]


def echo_service(cluster, client_node, server_node=None, namespace="e2e",
                 cluster_ip="10.96.0.10", servers=2, modes=("http", "echo", "sha"),
                 wait=True):
    """Creates client + servers through the CNI chain, starts the servers, publishes the
    manifests to every node (after the pods have IPs) and waits until the client reaches
    the Service through its agent."""
    server_node = server_node or client_node
    client = deployment_pods(client_node, "client", 1, namespace)[0]
    backends = deployment_pods(server_node, "echo", servers, namespace)
    ports = {"http": HTTP_PORT, "echo": ECHO_PORT, "sha": SHA_PORT}
    for pod in backends:
        for mode in modes:
            pod.start_server(mode, ports[mode], cluster.workdir, cluster.cleanup)
    publish_service(cluster, "echo", namespace, cluster_ip, SERVICE_PORTS, backends,
                    extra_pods=[client])
    scenario = EchoScenario(namespace, cluster_ip, client, backends)
    if wait:
        wait_for_service(scenario)
    return scenario


def wait_for_service(scenario, timeout=15):
    """Retries the client's call until the agent resolves the ClusterIP (manifests are
    watched asynchronously)."""
    def reachable():
        r = scenario.client.curl(scenario.url, timeout=2, check=False)
        return r.returncode == 0
    procs.wait_until(reachable, timeout, interval=0.3,
                     what=f"{scenario.url} reachable from {scenario.client.name}")


def two_nodes(cluster, **node_kwargs):
    """node1 and node2, each with its agent (same mesh CA), joined by a node link."""
    n1 = cluster.add_node("node1", **node_kwargs)
    n2 = cluster.add_node("node2", **node_kwargs)
    cluster.link(n1, n2)
    return n1, n2


def wait_for_sha_service(scenario, timeout=15):
    """Like wait_for_service for scenarios without the http server: a 1-byte sha call
    through the ClusterIP until it is answered."""
    def answered():
        return scenario.client.client("sha", scenario.cluster_ip, SHA_PORT, "--bytes", 1,
                                      timeout=10)["reply"]
    procs.wait_until(answered, timeout, interval=0.3,
                     what=f"{scenario.cluster_ip}:{SHA_PORT} answering {scenario.client.name}")


class CommandService:
    """A meshed `client` pod and Service `name` (one TCP port) over replica pods each running
    a server command (see command_service)."""

    def __init__(self, name, namespace, cluster_ip, port, client, servers):
        self.name = name
        self.namespace = namespace
        self.cluster_ip = cluster_ip
        self.port = port
        self.client = client
        self.servers = servers
        self.service_host = f"{name}.{namespace}.svc.cluster.local"

    @property
    def address(self):
        """ClusterIP:port, what the client dials."""
        return f"{self.cluster_ip}:{self.port}"

    def grpc(self, method="say", calls=1, concurrency=1, timeout=10, messages=None,
             size=None, run_timeout=300):
        """Runs servers/grpc_client.py in the client pod against the Service (one channel);
        returns its JSON summary."""
        argv = [paths.PYTHON, paths.GRPC_CLIENT, "--target", self.address, "--method", method,
                "--calls", str(calls), "--concurrency", str(concurrency),
                "--timeout", str(timeout)]
        if messages is not None:
            argv += ["--messages", str(messages)]
        if size is not None:
            argv += ["--size", str(size)]
        r = self.client.run(argv, timeout=run_timeout)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise RuntimeError(f"grpc_client.py printed no JSON:\n{r.stdout}\n{r.stderr}") \
                from None


def command_service(cluster, client_node, name, server_argv, port, target_port, replicas=3,
                    server_node=None, namespace="e2e", cluster_ip="10.96.0.20",
                    port_name="main"):
    """A meshed `client` Deployment pod and Service `name` (ClusterIP, one port
    port -> target_port named port_name, no appProtocol) over `replicas` meshed pods of
    Deployment `name`. Replica i runs server_argv(pod, i), a command that prints "ready ..."
    once it listens (started and awaited before anything is published). The manifests are
    published to every node after the pods have IPs; the caller waits for the agent to
    pick them up (e.g. wait_for_grpc_service)."""
    server_node = server_node or client_node
    client = deployment_pods(client_node, "client", 1, namespace)[0]
    backends = deployment_pods(server_node, name, replicas, namespace)
    for i, pod in enumerate(backends):
        pod.start_process(server_argv(pod, i), f"{name}-{target_port}", f"{name} server",
                          cluster.workdir, cluster.cleanup)
    publish_service(cluster, name, namespace, cluster_ip, [(port_name, port, target_port)],
                    backends, extra_pods=[client])
    return CommandService(name, namespace, cluster_ip, port, client, backends)


def grpc_echo_service(cluster, client_node, replicas=3, server_args=None, name="grpc-echo",
                      wait=True, **kwargs):
    """command_service with servers/grpc_echo_server.py on GRPC_PORT behind Service port
    GRPC_SERVICE_PORT (port name "rpc": neither the name nor an appProtocol tells the agent
    it is gRPC). server_args(i) gives replica i extra options (e.g. ["--delay-ms", "50"])."""
    def argv(pod, i):
        extra = list(server_args(i)) if server_args else []
        return [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(GRPC_PORT),
                "--name", pod.name] + [str(a) for a in extra]
    sc = command_service(cluster, client_node, name, argv, GRPC_SERVICE_PORT, GRPC_PORT,
                         replicas=replicas, port_name="rpc", **kwargs)
    if wait:
        wait_for_grpc_service(sc)
    return sc


def wait_for_grpc_service(sc, timeout=20):
    """Repeats one unary call from the client (a new channel each time) until it is
    answered: the agent has the Service (manifests are watched asynchronously)."""
    def answered():
        return sc.grpc(calls=1, timeout=2, run_timeout=30)["ok"] == 1
    procs.wait_until(answered, timeout, interval=0.3,
                     what=f"gRPC {sc.address} answering {sc.client.name}")
