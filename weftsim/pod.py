"""A simulated pod: a netns wired by the node's CNI chain, with a Kubernetes identity."""
import json
import uuid

from . import netns, paths, procs


class Pod:
    """A pod sandbox the harness created; `ip` comes from the CNI ADD result."""

    def __init__(self, node, name, namespace, netns_name, service_account, deployment,
                 template_hash, app, meshed):
        self.node = node
        self.name = name
        self.namespace = namespace
        self.netns = netns_name
        self.service_account = service_account
        self.deployment = deployment
        self.template_hash = template_hash
        self.app = app
        self.meshed = meshed
        self.uid = str(uuid.uuid4())
        self.container_id = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex, like containerd
        self.ip = None
        self.cni_result = None
        self.ref = None  # cni_runtime.PodRef
        self.servers = {}  # port -> procs.Service started by start_server

    @property
    def workload(self):
        """Istio's workload name: the Deployment, else the pod name."""
        return self.deployment or self.name

    def exec_argv(self, argv):
        """argv run inside this pod's netns."""
        return netns.exec_argv(self.netns, argv)

    def run(self, argv, check=True, timeout=60, input=None):
        """Runs argv inside the pod to completion."""
        return procs.run(self.exec_argv(argv), check=check, timeout=timeout, input=input)

    def start_server(self, mode, port, workdir, cleanup, cpu=None):
        """Starts servers/pod_server.py in the pod; returns the Service once it listens."""
        argv = [paths.PYTHON, paths.POD_SERVER, "--mode", mode, "--port", str(port),
                "--name", self.name]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + argv
        svc = self.start_process(argv, f"{mode}-{port}", f"{mode} server", workdir, cleanup)
        self.servers[port] = svc
        return svc

    def start_process(self, argv, tag, what, workdir, cleanup, ready_timeout=15):
        """Starts argv in the pod (log <workdir>/<netns>-<tag>.log, stopped in cleanup) and
        returns the procs.Service once it printed its "ready ..." line on stdout (the
        convention of the servers/ scripts), so callers never race its listen()."""
        svc = procs.Service(self.exec_argv(argv), f"{workdir}/{self.netns}-{tag}.log",
                            f"{what} in {self.name}", stdout_pipe=True)
        cleanup.push(f"stop {svc.name}", svc.stop)
        line = svc.readline(timeout=ready_timeout)
        if not line.startswith("ready"):
            raise RuntimeError(f"{svc.name} printed {line!r} instead of ready\n{svc.log()}")
        return svc

    def client(self, *args, timeout=120):
        """Runs servers/pod_client.py in the pod; returns its JSON output."""
        r = self.run([paths.PYTHON, paths.POD_CLIENT] + [str(a) for a in args], timeout=timeout)
        return json.loads(r.stdout)

    def curl(self, url, timeout=5, check=True):
        """curl from inside the pod; returns the body (raises on failure when check)."""
        r = self.run(["curl", "-sS", "--fail", "--max-time", str(timeout), url], check=check,
                     timeout=timeout + 10)
        return r.stdout if check else r

    def listening_ports(self):
        """TCP ports with a listener in this pod's netns (ss sees sockets by netns, so the
        agent's in-pod listeners show up here)."""
        out = self.run(["ss", "-Hltn"]).stdout
        ports = set()
        for line in out.splitlines():
            cols = line.split()
            if len(cols) >= 4:
                ports.add(int(cols[3].rsplit(":", 1)[1]))
        return ports

    def __repr__(self):
        return f"Pod({self.namespace}/{self.name} {self.ip} on {self.node.name})"
