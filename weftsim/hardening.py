"""Issue 23's hardening harness (bench/run.sh hardening): a two-node topology with Services in
front of one backend per node (HTTP and opaque TCP), the pod-side programs
(servers/hardening_server.py, servers/hardening_client.py: idle connections, slowloris, probes
at a fixed rate), what an agent costs seen from outside (RSS and fds from /proc, sampled),
cutting the node link, and the agents' log lines and metrics in a time window.

  topo = hardening_topology(cluster, n1, n2)
  idle = IdleClient.start(topo.pods["idler"], cluster, topo.target("local-http"), "http", 2000)
  idle.open(); idle.close()                      # JSON of each step
  with ProcSampler([n1.agent.pid]) as s: ...     # s.first / s.peak / s.last per pid
  cut = LinkCut(n2, n2.links[0]); cut.down(); cut.up()     # or SilentCut([(n1, l1), (n2, l2)])
"""
import datetime
import json
import os
import re
import signal
import threading
import time

from . import manifests, netns, paths, procs
from .scenarios import deployment_pods

HARDENING_SERVER = os.path.join(paths.SERVERS_DIR, "hardening_server.py")
HARDENING_CLIENT = os.path.join(paths.SERVERS_DIR, "hardening_client.py")

HTTP_PORT = 8080   # hardening_server.py --http in each backend
ECHO_PORT = 9000   # hardening_server.py --echo
NAMESPACE = "e2e"

# Service name -> (ClusterIP, Service port, targetPort, appProtocol or None, backend node index).
# The HTTP ones have no appProtocol (detected from the first bytes, as for most Services); the
# TCP ones declare appProtocol tcp (carried as opaque TCP at once, no detection wait).
REQUEST_LINE = len(b"GET / HTTP/1.1\r\n")  # the slow heads' first line (SlowClient prefix)

SERVICES = {"local-http": ("10.96.0.90", 80, HTTP_PORT, None, 0),
            "local-tcp": ("10.96.0.91", ECHO_PORT, ECHO_PORT, "tcp", 0),
            "remote-http": ("10.96.0.92", 80, HTTP_PORT, None, 1),
            "remote-tcp": ("10.96.0.93", ECHO_PORT, ECHO_PORT, "tcp", 1)}


class Topology:
    """backends: [node1's, node2's] backend Pod; pods: name -> client Pod on node1 (idler,
    good, slow: meshed; plain: not meshed); servers: backend pod name -> its procs.Service."""

    def __init__(self, nodes, backends, pods, servers):
        self.nodes = nodes
        self.backends = backends
        self.pods = pods
        self.servers = servers

    def target(self, service):
        ip, port, _, _, _ = SERVICES[service]
        return f"{ip}:{port}"

    def backend_of(self, service):
        return self.backends[SERVICES[service][4]]


def hardening_topology(cluster, n1, n2, wait=True):
    """On each node a meshed backend pod (Deployment web1 / web2) running hardening_server.py
    (HTTP on 8080, echo on 9000); on node1 the client pods idler, good and slow (meshed) and
    plain (not meshed); Services local-http / local-tcp over web1 and remote-http / remote-tcp
    over web2; every Pod object published. wait: until `good` is answered by every Service."""
    backends, servers = [], {}
    for i, node in enumerate((n1, n2)):
        b = deployment_pods(node, f"web{i + 1}", 1, NAMESPACE)[0]
        servers[b.name] = b.start_process(
            [paths.PYTHON, HARDENING_SERVER, "--http", str(HTTP_PORT), "--echo", str(ECHO_PORT),
             "--name", b.name], "hardening-server", "hardening server", cluster.workdir,
            cluster.cleanup)
        backends.append(b)
    pods = {name: deployment_pods(n1, name, 1, NAMESPACE)[0]
            for name in ("idler", "good", "slow")}
    pods["plain"] = deployment_pods(n1, "plain", 1, NAMESPACE, meshed=False)[0]
    objects = [manifests.pod_object(p) for p in backends + list(pods.values())]
    for name, (ip, port, target, app_protocol, index) in SERVICES.items():
        pname = "tcp" if app_protocol else "http"
        svc = manifests.service(name, NAMESPACE, ip, [(pname, port, target)])
        if app_protocol:
            svc["spec"]["ports"][0]["appProtocol"] = app_protocol
        objects += [svc, manifests.endpoint_slice(name, NAMESPACE, [backends[index]],
                                                  [(pname, target)])]
    cluster.publish_and_wait("hardening.json", objects)
    topo = Topology([n1, n2], backends, pods, servers)
    if wait:
        wait_until_served(topo)
    return topo


def wait_until_served(topo, timeout=30):
    """`good` gets an answer through every Service (a short probe of each kind)."""
    good = topo.pods["good"]

    def served():
        for http, tcp in (("local-http", "local-tcp"), ("remote-http", "remote-tcp")):
            r = good.run([paths.PYTHON, HARDENING_CLIENT, "probe", "--http1", topo.target(http),
                          "--newconn", topo.target(http), "--tcp", topo.target(tcp),
                          "--rate", "4", "--timeout", "2", "--seconds", "0.6"],
                         check=False, timeout=30)
            lines = r.stdout.splitlines()
            if r.returncode != 0 or len(lines) < 2:
                return False
            kinds = json.loads(lines[-1])["kinds"]
            if not all(k["ok"] > 0 and k["failed"] == 0 for k in kinds.values()):
                return False
        return True
    procs.wait_until(served, timeout, interval=0.5, what="every Service answering `good`")


def server_stats(service, timeout=10):
    """The counters a hardening_server.py prints on SIGUSR1 (open, partial heads, ...)."""
    service.send_signal(signal.SIGUSR1)
    return json.loads(service.readline(timeout=timeout))


# -- pod-side clients ----------------------------------------------------------------------------

class IdleClient:
    """hardening_client.py idle in a pod: open() / close() a batch of N connections."""

    def __init__(self, service):
        self.service = service

    @classmethod
    def start(cls, pod, cluster, target, mode, connections, tag="idle"):
        host, port = target.rsplit(":", 1)
        svc = pod.start_process([paths.PYTHON, HARDENING_CLIENT, "idle", host, port, "--mode",
                                 mode, "--connections", str(connections)], tag,
                                f"idle client ({mode} to {target})", cluster.workdir,
                                cluster.cleanup)
        return cls(svc)

    def _step(self, timeout):
        self.service.send_signal(signal.SIGUSR1)
        return json.loads(self.service.readline(timeout=timeout))

    def open(self, timeout=180):
        return self._step(timeout)

    def close(self, timeout=60):
        return self._step(timeout)

    def stop(self):
        self.service.stop()


class SlowClient:
    """hardening_client.py slow in a pod: C slowloris connections for T seconds."""

    def __init__(self, service, seconds):
        self.service = service
        self.seconds = seconds
        self.connected = int(service.ready_line.split()[1])

    @classmethod
    def start(cls, pod, cluster, target, connections, seconds, interval=5, prefix=0,
              tag="slow"):
        """prefix: bytes of the head sent at once on connect (16: the request line)."""
        host, port = target.rsplit(":", 1)
        argv = [paths.PYTHON, HARDENING_CLIENT, "slow", host, port, "--connections",
                str(connections), "--interval", str(interval), "--seconds", str(seconds),
                "--prefix", str(prefix)]
        svc = start_with_ready_line(pod, cluster, argv, tag, f"slowloris to {target}", 60)
        return cls(svc, seconds)

    def result(self):
        """Waits for the end of the run and its JSON."""
        line = self.service.readline(timeout=self.seconds + 60)
        self.service.stop()
        return json.loads(line)


class Probe:
    """hardening_client.py probe in a pod until finish() (SIGUSR1)."""

    def __init__(self, service):
        self.service = service
        self.result = None

    @classmethod
    def start(cls, pod, cluster, rate, timeout, http1=None, newconn=None, tcp=None, workers=0,
              tag="probe"):
        argv = [paths.PYTHON, HARDENING_CLIENT, "probe", "--rate", str(rate), "--timeout",
                str(timeout), "--workers", str(workers)]
        for flag, target in (("--http1", http1), ("--newconn", newconn), ("--tcp", tcp)):
            if target:
                argv += [flag, target]
        return cls(start_with_ready_line(pod, cluster, argv, tag, "probe", 30))

    def finish(self, timeout=60):
        if self.result is None:
            self.service.send_signal(signal.SIGUSR1)
            self.result = json.loads(self.service.readline(timeout=timeout))
            self.service.stop()
        return self.result


def start_with_ready_line(where, cluster, argv, tag, what, ready_timeout):
    """Pod.start_process for a pod or a node (anything with .netns), with a longer wait for
    "ready", the line kept as .ready_line."""
    svc = procs.Service(netns.exec_argv(where.netns, argv),
                        f"{cluster.workdir}/{where.netns}-{tag}.log",
                        f"{what} in {getattr(where, 'name', where.netns)}", stdout_pipe=True)
    cluster.cleanup.push(f"stop {svc.name}", svc.stop)
    line = svc.readline(timeout=ready_timeout)
    if not line.startswith("ready"):
        raise RuntimeError(f"{svc.name} printed {line!r} instead of ready\n{svc.log()}")
    svc.ready_line = line
    return svc


# -- the agents seen from outside ----------------------------------------------------------------

def rss_kib(pid):
    """VmRSS of a process, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    """Open file descriptors of a process."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_figures(pid):
    return {"rss_kib": rss_kib(pid), "fds": fd_count(pid)}


class ProcSampler:
    """RSS and fds of some processes every `interval` seconds in a thread, while in a `with`:
    first, peak (max of each figure on its own) and last sample per pid."""

    def __init__(self, pids, interval=0.5):
        self.pids = list(pids)
        self.interval = interval
        self.first, self.peak, self.last = {}, {}, {}
        self._stop = threading.Event()
        self._thread = None

    def sample(self):
        for pid in self.pids:
            try:
                f = proc_figures(pid)
            except OSError:
                continue
            self.first.setdefault(pid, f)
            p = self.peak.setdefault(pid, dict(f))
            for k, v in f.items():
                p[k] = max(p[k], v)
            self.last[pid] = f

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self):
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


# -- cutting the node link -----------------------------------------------------------------------

class _Cut:
    """The times of a cut: down_at / up_at (monotonic), down_wall / up_wall (UTC)."""

    def __init__(self):
        self.down_at = self.up_at = None
        self.down_wall = self.up_wall = None

    def _mark_down(self):
        self.down_at = time.monotonic()
        self.down_wall = datetime.datetime.now(datetime.timezone.utc)

    def _mark_up(self):
        self.up_at = time.monotonic()
        self.up_wall = datetime.datetime.now(datetime.timezone.utc)


class LinkCut(_Cut):
    """Sets one end of a node link down (`ip link set DEV down` inside the node's netns) and up
    again. Down flushes that node's routes through the device (the route to the other node's pod
    CIDR among them), so up() puts back every route the node had before down(). The other end
    loses its carrier: its node keeps the route (`linkdown`) but its sends fail locally, which
    TCP retries every 0.5 s without backing off, so it is not a silent loss. With cleanup (a
    cleanup stack), a link still down at cleanup is put back up there (quietly); up() does
    nothing unless the link is down."""

    def __init__(self, node, device, cleanup=None):
        super().__init__()
        self.node = node
        self.device = device
        self._before = None
        if cleanup is not None:
            cleanup.push(f"link {device} up", self.up, True)

    def _routes(self):
        out = netns.ip(self.node.netns, "-4", "route", "show").stdout
        return [line.strip() for line in out.splitlines() if line.strip()]

    def down(self):
        self._before = self._routes()
        netns.ip(self.node.netns, "link", "set", self.device, "down")
        self._mark_down()

    def up(self, quiet=False):
        """quiet: no exception when the link or its routes cannot be put back."""
        if self._before is None:
            return
        netns.ip(self.node.netns, "link", "set", self.device, "up", check=not quiet)
        now = self._routes()
        for route in self._before:
            if route not in now:
                netns.ip(self.node.netns, "route", "replace", *route.split(), check=False)
        self._mark_up()
        missing = [r for r in self._before if r not in self._routes()]
        self._before = None
        if missing and not quiet:
            raise RuntimeError(f"{self.node.name}: routes not restored after link up: {missing}")


# A classic BPF program for cls_bpf in direct-action mode: `ret #2` (TC_ACT_SHOT), every packet
# dropped (no netem, matchall or gact on our kernels; cls_bpf is there, weft needs it).
_DROP_ALL = "1,6 0 0 2,"


class SilentCut(_Cut):
    """Drops every packet arriving on the given (node, device) ends of a node link (tc clsact
    ingress, direct-action cBPF): both links stay up, both nodes keep their routes, nothing
    answers and no sender learns of it locally: a partition as a switch between the nodes
    makes it. up() removes the clsact qdiscs."""

    def __init__(self, ends):
        super().__init__()
        self.ends = list(ends)

    def _tc(self, node, *args):
        return procs.run(["tc", "-n", node.netns] + list(args))

    def down(self):
        for node, dev in self.ends:
            self._tc(node, "qdisc", "add", "dev", dev, "clsact")
            self._tc(node, "filter", "add", "dev", dev, "ingress", "bpf", "da", "bytecode",
                     _DROP_ALL)
        self._mark_down()

    def up(self):
        for node, dev in self.ends:
            self._tc(node, "qdisc", "del", "dev", dev, "clsact")
        self._mark_up()


# -- the agents' logs and metrics in a window ----------------------------------------------------

# `<UTC time>Z <program> <level> <event> key=value...` (common/Log.cpp)
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z \S+ (\S+) (\S+)(.*)$")


def log_lines(agent, since=None, until=None, levels=None):
    """[(UTC time, level, event, line)] of every log file of the agent (hand-overs included)
    between since and until (UTC datetimes, either may be None), of the given levels."""
    out = []
    for path in agent.log_paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = _LOG_LINE.match(line)
                if not m:
                    continue
                when = datetime.datetime.fromisoformat(m.group(1)).replace(
                    tzinfo=datetime.timezone.utc)
                if (since and when < since) or (until and when > until):
                    continue
                if levels and m.group(2) not in levels:
                    continue
                out.append((when, m.group(2), m.group(3), line.rstrip("\n")))
    return sorted(out, key=lambda x: x[0])


def metric_values(agent, pattern):
    """{(name, sorted label items): value} of the agent's samples whose name matches the regex
    pattern (case-insensitive)."""
    rx = re.compile(pattern, re.I)
    m = agent.metrics()
    return {(name, tuple(sorted(labels.items()))): value
            for name, labels, value in m.samples if rx.search(name)}


def metric_changes(before, after):
    """[(name, labels, before, after)] of the samples that differ (or appeared)."""
    out = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a != b:
            out.append((key[0], dict(key[1]), a, b))
    return out
