"""Issue 22's rollout harness, shared by tests/e2e/test_hitless_rollout.py and
bench/rollout_bench.py: the topology (one backend pod and one client pod per node, three
Services over the backends), a "new version" of the agent binary, the bounded load
(servers/rollout_load.py) and its figures inside and outside hand-over windows, and what a
hand-over could leak (listeners, pins, fds, threads, processes, files).

  topo = rollout_topology(cluster, [n1, n2])
  load = Load.start(topo.clients["node1"], cluster, streams=[(ip, ECHO_PORT, 10)])
  record = n1.agent.hand_over(binary=new_binary)       # weftsim.agent.HandOver
  result = load.finish()                                # the client's JSON
  window_stats(result, [record.window])                 # p50/p99 inside vs outside
"""
import collections
import json
import os
import re
import shutil
import signal

from . import manifests, paths, procs
from .scenarios import deployment_pods

ROLLOUT_LOAD = os.path.join(paths.SERVERS_DIR, "rollout_load.py")

HTTP1_PORT = 8080   # http_app.py in each backend pod
H2_PORT = 8081      # grpc_echo_server.py --http-status 200 (h2c)
GRPC_PORT = 50051   # grpc_echo_server.py (gRPC)
ECHO_PORT = 9000    # pod_server.py --mode echo (the long-lived L4 streams, by pod IP)

# Service name -> (ClusterIP, Service port, targetPort); no appProtocol: the agent detects
# HTTP/1.1, HTTP/2 and gRPC from the first bytes, as for most Services.
SERVICES = {"web": ("10.96.0.60", 80, HTTP1_PORT),
            "h2": ("10.96.0.61", 80, H2_PORT),
            "rpc": ("10.96.0.62", 9090, GRPC_PORT)}
KINDS = ("http1", "h2", "grpc")
KIND_SERVICE = {"http1": "web", "h2": "h2", "grpc": "rpc"}
# The agent's in-pod listeners (ARCHITECTURE.md, "Ports and sockets"): one socket per worker
# in each SO_REUSEPORT group.
AGENT_LISTENERS = ("127.0.0.1:15001", "[::1]:15001", "0.0.0.0:15006", "0.0.0.0:15008")


class Topology:
    """backends / clients: node name -> Pod. Every Service has one endpoint per node (the
    backend pod), so the mesh's per-request balancing sends each client's requests both to
    its own node and across."""

    def __init__(self, nodes, backends, clients):
        self.nodes = nodes
        self.backends = backends
        self.clients = clients

    def target(self, kind):
        ip, port, _ = SERVICES[KIND_SERVICE[kind]]
        return f"{ip}:{port}"

    def pods(self):
        return [p for n in self.nodes for p in (self.backends[n.name], self.clients[n.name])]


def rollout_topology(cluster, nodes, namespace="e2e", wait=True):
    """On each node a meshed backend pod (Deployment `backend`) running http_app.py,
    grpc_echo_server.py twice (gRPC; plain h2c answering 200) and pod_server.py --mode echo,
    and a meshed client pod (Deployment `loadgen`); Services web/h2/rpc over the backends;
    every Pod object published. wait: until each client gets an answer from each Service."""
    backends, clients = {}, {}
    for node in nodes:
        backend = deployment_pods(node, "backend", 1, namespace)[0]
        wd, cu = cluster.workdir, cluster.cleanup
        backend.servers[HTTP1_PORT] = backend.start_process(
            [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP1_PORT), "--name", backend.name],
            f"web-{HTTP1_PORT}", "http_app", wd, cu)
        backend.servers[H2_PORT] = backend.start_process(
            [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(H2_PORT), "--name",
             backend.name, "--http-status", "200"], f"h2-{H2_PORT}", "h2c server", wd, cu)
        backend.servers[GRPC_PORT] = backend.start_process(
            [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(GRPC_PORT), "--name",
             backend.name], f"grpc-{GRPC_PORT}", "gRPC server", wd, cu)
        backend.start_server("echo", ECHO_PORT, wd, cu)
        backends[node.name] = backend
        clients[node.name] = deployment_pods(node, "loadgen", 1, namespace)[0]
    pods = list(backends.values())
    objects = [manifests.pod_object(p) for p in pods + list(clients.values())]
    for name, (ip, port, target) in SERVICES.items():
        objects += [manifests.service(name, namespace, ip, [("main", port, target)]),
                    manifests.endpoint_slice(name, namespace, pods, [("main", target)])]
    cluster.publish_and_wait("rollout.json", objects)
    topo = Topology(list(nodes), backends, clients)
    if wait:
        wait_until_served(topo)
    return topo


def load_served(r):
    """Whether a finished run of a load client (servers/rollout_load.py, chaos_load.py; a
    procs.run result) exited 0 with every kind answered at least once and never failed."""
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) < 2:
        return False
    kinds = json.loads(lines[-1])["kinds"]
    return all(k["failed"] == 0 and k["ok"] > 0 for k in kinds.values())


def wait_until_served(topo, timeout=30):
    """Each client gets a full answer from every Service: a 2-second load of one request per
    kind (the agent has the Services, both nodes' endpoints answer)."""
    def served(client):
        r = client.run([paths.PYTHON, ROLLOUT_LOAD, "--seconds", "0.5", "--timeout", "3",
                        "--http1", topo.target("http1"), "--http1-conns", "1",
                        "--http1-rate", "4", "--h2", topo.target("h2"), "--h2-rate", "4",
                        "--grpc", topo.target("grpc"), "--grpc-rate", "4"],
                       check=False, timeout=30)
        return load_served(r)
    for client in topo.clients.values():
        procs.wait_until(lambda c=client: served(c), timeout, interval=0.5,
                         what=f"every Service answering {client.name}")


# -- the new version -----------------------------------------------------------------------------

def version_of(binary):
    """The version string weft-agent carries ("weft-agent 0.1.0" in its --help banner data)."""
    with open(binary, "rb") as f:
        data = f.read()
    m = re.search(rb"weft-agent[ /](\d+\.\d+\.\d+)\x00", data)
    if not m:
        raise RuntimeError(f"no 'weft-agent X.Y.Z' string in {binary}")
    return m.group(1).decode()


def new_version_binary(binary, directory):
    """A copy of weft-agent in directory whose version string differs (same length: the last
    digit changed), so a hand-over to it is an upgrade the log can tell apart (`agent.start
    version=...`). Every NUL-terminated occurrence of the version is replaced except symbol
    versions such as LIBBPF_0.1.0 (the dynamic linker needs those). Returns (path, version)."""
    old = version_of(binary)
    new = old[:-1] + ("8" if old[-1] == "9" else "9")
    with open(binary, "rb") as f:
        data = f.read()
    pattern = re.compile(rb"(?<![A-Za-z_])" + re.escape(old.encode()) + rb"\x00")
    patched, count = pattern.subn(new.encode() + b"\x00", data)
    if count == 0:
        raise RuntimeError(f"{binary}: version {old} not found NUL-terminated")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"weft-agent-{new}")
    with open(path, "wb") as f:
        f.write(patched)
    shutil.copymode(binary, path)
    return path, new


# -- the load ------------------------------------------------------------------------------------

class Load:
    """servers/rollout_load.py running in a client pod until finish() (SIGUSR1)."""

    def __init__(self, service, pod, argv):
        self.service = service
        self.pod = pod
        self.argv = argv
        self.result = None

    @classmethod
    def start(cls, pod, cluster, topo, seconds=600, rate=30, streams=(), tag="load",
              timeout=10, kinds=KINDS, grpc_transparent_retry=True):
        """Starts the load in pod against topo's Services: each of kinds at `rate` requests/s;
        streams = [(ip, port, seconds)]; returns once the client printed "ready" (each kind
        answered once, each stream connected). grpc_transparent_retry=False: grpc re-sends
        nothing, not even a call a GOAWAY or REFUSED_STREAM says was never processed."""
        argv = [paths.PYTHON, ROLLOUT_LOAD, "--seconds", str(seconds), "--timeout",
                str(timeout)]
        for kind in kinds:
            argv += [f"--{kind}", topo.target(kind), f"--{kind}-rate", str(rate)]
        if not grpc_transparent_retry:
            argv.append("--grpc-no-transparent-retry")
        for ip, port, secs in streams:
            argv += ["--stream", f"{ip}:{port}:{secs}"]
        svc = pod.start_process(argv, tag, f"rollout load in {pod.name}", cluster.workdir,
                                cluster.cleanup)
        return cls(svc, pod, argv)

    def finish(self, timeout=60):
        """Stops issuing requests (SIGUSR1), waits for the JSON summary and returns it."""
        if self.result is None:
            self.service.send_signal(signal.SIGUSR1)
            line = self.service.readline(timeout=timeout)
            self.result = json.loads(line)
            self.service.stop()
        return self.result


def _pct(values, q):
    if not values:
        return None
    values = sorted(values)
    rank = max(1, min(len(values), -(-q * len(values) // 100)))
    return values[int(rank) - 1]


def in_windows(t, windows):
    return any(a <= t <= b for a, b in windows)


def window_stats(result, windows, warmup=0.5):
    """Per kind: requests and failed ones, and p50/p99/max latency (ms) of the answered ones,
    among the requests that started inside any of windows [(start, end)] and among those
    outside (the first `warmup` seconds of the load left out). Failed requests are counted,
    not timed: a refused connect fails in microseconds and would pull the percentiles down."""
    out = {}
    begin = result["started"] + warmup
    for kind, samples in result["samples"].items():
        parts = {"inside": [], "outside": []}
        count = {"inside": 0, "outside": 0}
        failed = {"inside": 0, "outside": 0}
        for t, latency, ok in samples:
            if t < begin:
                continue
            where = "inside" if in_windows(t, windows) else "outside"
            count[where] += 1
            if ok:
                parts[where].append(latency)
            else:
                failed[where] += 1
        out[kind] = {where: {"requests": count[where], "failed": failed[where],
                             "p50_ms": _pct(v, 50), "p99_ms": _pct(v, 99),
                             "max_ms": max(v) if v else None}
                     for where, v in parts.items()}
    return out


def totals(results):
    """failed requests, refused connections, requests sent and the errors, summed over the
    clients' results and kinds."""
    t = {"sent": 0, "ok": 0, "failed": 0, "refused": 0, "resent": 0, "goaways": 0,
         "server_closes": 0, "idle_closes": 0, "errors": []}
    for result in results:
        for kind, k in result["kinds"].items():
            for key in ("sent", "ok", "failed", "refused", "resent", "goaways",
                        "server_closes", "idle_closes"):
                t[key] += k.get(key, 0)
            t["errors"] += [f"{kind} {k['target']} at {at:.3f}: {text}"
                            for at, text in k["errors"]]
    return t


def format_stats(label, stats):
    lines = []
    for kind, s in stats.items():
        i, o = s["inside"], s["outside"]

        def ms(v):
            return "-" if v is None else f"{v:.2f}"
        lines.append(f"{label} {kind:5}: inside {i['requests']:5} req p50 {ms(i['p50_ms'])} "
                     f"p99 {ms(i['p99_ms'])} max {ms(i['max_ms'])} ms | outside "
                     f"{o['requests']:5} req p50 {ms(o['p50_ms'])} p99 {ms(o['p99_ms'])} "
                     f"max {ms(o['max_ms'])} ms")
    return "\n".join(lines)


# -- what a hand-over could leak ---------------------------------------------------------------

def listeners(pod):
    """Counter of listening TCP sockets in pod's netns by local address:port (`ss -Hltn`)."""
    out = pod.run(["ss", "-Hltn"]).stdout
    c = collections.Counter()
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4:
            c[cols[3]] += 1
    return c


def agent_listeners(pod):
    """{address:port: listening sockets} for the agent's in-pod ports."""
    c = listeners(pod)
    return {a: c.get(a, 0) for a in AGENT_LISTENERS}


def proc_counts(pid):
    """(open fds, threads) of a process, from /proc."""
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def fd_targets(pid):
    """Counter of what the process's fds point to, with numbers stripped (socket:[123] ->
    socket, anon_inode:[io_uring] stays): says what kind of fd leaked."""
    c = collections.Counter()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        c[re.sub(r"\[\d+\]$", "", target)] += 1
    return c


def processes_mentioning(text):
    """PIDs of live processes whose command line contains text (e.g. a node's bpffs dir:
    every agent of that node has it)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and "weft-agent" in cmdline:
            out.append(int(entry))
    return sorted(out)


def tree(directory):
    """Every path under directory (relative, directories with a trailing /)."""
    out = set()
    for root, dirs, files in os.walk(directory):
        rel = os.path.relpath(root, directory)
        for d in dirs:
            out.add(os.path.normpath(os.path.join(rel, d)) + "/")
        for f in files:
            out.add(os.path.normpath(os.path.join(rel, f)))
    return out


def sockets_in(directory):
    """Names of the unix sockets in directory (not recursive)."""
    import stat
    return sorted(e for e in os.listdir(directory)
                  if stat.S_ISSOCK(os.lstat(os.path.join(directory, e)).st_mode))


def pod_plumbing(pod):
    """What the agent installs in a pod besides listeners: tc filters on its interfaces and
    the routes and rules of every table, as text without ids that change when a program is
    replaced (`id N`, `tag X`), to compare before and after hand-overs."""
    lines = []
    links = pod.run(["ip", "-o", "link", "show"]).stdout
    for m in re.finditer(r"^\d+: ([^:@]+)", links, re.M):
        dev = m.group(1)
        for direction in ("ingress", "egress"):
            r = pod.run(["tc", "filter", "show", "dev", dev, direction], check=False)
            for line in r.stdout.splitlines():
                line = re.sub(r"\b(id|tag|handle|pref) \S+", r"\1 *", line.strip())
                line = re.sub(r":\[\d+\]", ":[*]", line)
                if line:
                    lines.append(f"tc {dev} {direction}: {line}")
    lines += ["route: " + line for line in
              pod.run(["ip", "route", "show", "table", "all"]).stdout.splitlines()]
    lines += ["rule: " + line for line in pod.run(["ip", "rule", "show"]).stdout.splitlines()]
    return collections.Counter(lines)
