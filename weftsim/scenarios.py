"""Topologies shared by the tests, the demo and the bench."""
import collections
import json
import secrets

from . import manifests, paths, procs
from .cluster import publish_service

HTTP_PORT = 8080
ECHO_PORT = 9000
SHA_PORT = 9100
SERVICE_PORTS = [("http", 80, HTTP_PORT), ("echo", ECHO_PORT, ECHO_PORT),
                 ("sha", SHA_PORT, SHA_PORT)]
GRPC_PORT = 50051          # grpc_echo_server.py's port in its pods (the targetPort)
GRPC_SERVICE_PORT = 9090   # the Service port in front of it
HTTP_APP_PORT = 8080       # http_app.py's port in its pods (the targetPort)


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
                    port_name="main", client=None):
    """A meshed `client` Deployment pod and Service `name` (ClusterIP, one port
    port -> target_port named port_name, no appProtocol) over `replicas` meshed pods of
    Deployment `name`. Replica i runs server_argv(pod, i), a command that prints "ready ..."
    once it listens (started and awaited before anything is published); its procs.Service
    is pod.servers[target_port] (log_path, log()). The manifests are
    published to every node after the pods have IPs; the caller waits for the agent to
    pick them up (e.g. wait_for_grpc_service). client: an existing client pod to use instead
    of a new one (its Pod object is then not published again: whoever made it did)."""
    server_node = server_node or client_node
    own_client = client is None
    if own_client:
        client = deployment_pods(client_node, "client", 1, namespace)[0]
    backends = deployment_pods(server_node, name, replicas, namespace)
    for i, pod in enumerate(backends):
        pod.servers[target_port] = pod.start_process(
            server_argv(pod, i), f"{name}-{target_port}", f"{name} server", cluster.workdir,
            cluster.cleanup)
    publish_service(cluster, name, namespace, cluster_ip, [(port_name, port, target_port)],
                    backends, extra_pods=[client] if own_client else [])
    return CommandService(name, namespace, cluster_ip, port, client, backends)


def grpc_echo_service(cluster, client_node, replicas=3, server_args=None, name="grpc-echo",
                      wait=True, **kwargs):
    """command_service with servers/grpc_echo_server.py on GRPC_PORT behind Service port
    GRPC_SERVICE_PORT (port name "rpc": neither the name nor an appProtocol tells the agent
    it is gRPC). server_args(i) gives replica i extra options (e.g. ["--delay-ms", "50"])."""
    sc = command_service(cluster, client_node, name, _grpc_echo_argv(server_args),
                         GRPC_SERVICE_PORT, GRPC_PORT, replicas=replicas, port_name="rpc",
                         **kwargs)
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


def _http_app_argv(server_args):
    def argv(pod, i):
        extra = [str(a) for a in server_args(i)] if server_args else []
        return [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT),
                "--name", pod.name] + extra
    return argv


def _grpc_echo_argv(server_args):
    def argv(pod, i):
        extra = [str(a) for a in server_args(i)] if server_args else []
        return [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(GRPC_PORT),
                "--name", pod.name] + extra
    return argv


def http_app_service(cluster, client_node, replicas=2, name="web", port=80, wait=True,
                     cluster_ip="10.96.0.30", server_args=None, **kwargs):
    """command_service with servers/http_app.py on HTTP_APP_PORT behind Service port `port`
    (port name "main", no appProtocol: the agent detects HTTP from the first bytes).
    Replica logs (conn/request/anomaly/ws lines) are pod.servers[HTTP_APP_PORT].
    server_args(i) gives replica i extra options (e.g. ["--fail-status", 503])."""
    sc = command_service(cluster, client_node, name, _http_app_argv(server_args), port,
                         HTTP_APP_PORT, replicas=replicas, cluster_ip=cluster_ip, **kwargs)
    if wait:
        wait_for_http_service(sc)
    return sc


def wait_for_http_service(sc, path="/", timeout=20):
    """Repeats a curl from the client (a new connection each time) until the Service answers
    200: the agent has the Service (manifests are watched asynchronously)."""
    url = f"http://{sc.address}{path}"

    def answered():
        return sc.client.curl(url, timeout=2, check=False).returncode == 0
    procs.wait_until(answered, timeout, interval=0.3,
                     what=f"{url} answering {sc.client.name}")


# -- several Services, one client (route tests) -----------------------------------------------

ServiceSpec = collections.namedtuple("ServiceSpec", "name cluster_ip replicas server_args",
                                     defaults=(2, None))
ServiceSpec.__doc__ = """One Service of a fleet: its name, ClusterIP, number of replica pods (a
Deployment of the same name) and server_args(i), extra options for replica i (or None)."""


class Fleet:
    """Several Services on one node, each over its own replica pods (Deployment = Service
    name), all called by ONE meshed `client` pod. services: name -> CommandService (in spec
    order; each has .client = the shared client)."""

    def __init__(self, client, services):
        self.client = client
        self.services = services

    def __getitem__(self, name):
        return self.services[name]

    def pod_names(self, *names):
        """Names of the replica pods of the named Services (all Services when none given)."""
        return {p.name for n in (names or self.services) for p in self.services[n].servers}

    def service_of(self, pod_name):
        """The name of the Service whose replica is pod_name, or None."""
        for name, sc in self.services.items():
            if any(p.name == pod_name for p in sc.servers):
                return name
        return None


def command_services(cluster, client_node, specs, server_argv, port, target_port, port_name,
                     server_node=None, namespace="e2e"):
    """A Fleet: one meshed `client` pod (its Pod object in client.json) and, per ServiceSpec,
    command_service(...) over spec.replicas pods running server_argv(spec)(pod, i)."""
    client = deployment_pods(client_node, "client", 1, namespace)[0]
    cluster.publish("client.json", [manifests.pod_object(client)])
    services = {}
    for spec in specs:
        services[spec.name] = command_service(
            cluster, client_node, spec.name, server_argv(spec), port, target_port,
            replicas=spec.replicas, server_node=server_node, namespace=namespace,
            cluster_ip=spec.cluster_ip, port_name=port_name, client=client)
    return Fleet(client, services)


def http_app_services(cluster, client_node, specs, port=80, wait=True, **kwargs):
    """command_services with servers/http_app.py (as http_app_service: port name "main",
    Service port `port` -> HTTP_APP_PORT). wait: until every Service answers the client 200
    on GET / (wait_for_http_service); Services whose replicas all fail need wait=False."""
    fleet = command_services(cluster, client_node, specs,
                             lambda spec: _http_app_argv(spec.server_args), port,
                             HTTP_APP_PORT, "main", **kwargs)
    if wait:
        for sc in fleet.services.values():
            wait_for_http_service(sc)
    return fleet


def grpc_echo_services(cluster, client_node, specs, wait=True, **kwargs):
    """command_services with servers/grpc_echo_server.py (as grpc_echo_service: port name
    "rpc", Service port GRPC_SERVICE_PORT -> GRPC_PORT). wait: until every Service answers
    a unary call (wait_for_grpc_service)."""
    fleet = command_services(cluster, client_node, specs,
                             lambda spec: _grpc_echo_argv(spec.server_args),
                             GRPC_SERVICE_PORT, GRPC_PORT, "rpc", **kwargs)
    if wait:
        for sc in fleet.services.values():
            wait_for_grpc_service(sc)
    return fleet
