"""Topologies shared by the tests, the demo and the bench."""
import secrets

from . import procs
from .cluster import publish_service

HTTP_PORT = 8080
ECHO_PORT = 9000
SHA_PORT = 9100
SERVICE_PORTS = [("http", 80, HTTP_PORT), ("echo", ECHO_PORT, ECHO_PORT),
                 ("sha", SHA_PORT, SHA_PORT)]


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
