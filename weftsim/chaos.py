"""Issue 23's chaos soak harness (bench/run.sh chaos): two nodes with backend pods on both, every
Service over all of them; bounded mixed load from a client pod on each node
(servers/chaos_load.py: HTTP/1.1 keep-alive, HTTP/2, gRPC, a new connection per request, 1 MiB
L4 transfers); chaos on a seeded schedule (backend processes killed and restarted, the node link
cut and restored, slowloris and junk clients, an HTTP idle crowd, manifests rewritten every few
seconds); what the agents cost over time seen from /proc; and the rule that tells a failed
request another endpoint could have served from one nobody could have.

  topo = chaos_topology(cluster, [n1, n2], per_node=1)
  timeline = Timeline(topo)
  plan = schedule(random.Random(seed), topo, lead, chaos_end)  # [Event], time-ordered
  Executor(cluster, topo, timeline, plan, t0).run()            # blocks until the last event
  loads = {node: Load.start(...)}; ...; records = loads[node].finish()
  classify(record, timeline)                                   # None | ("excused", why) | ...
"""
import heapq
import json
import os
import re
import signal
import threading
import time

from . import manifests, paths, procs, rollout
from .hardening import LinkCut, SilentCut
from .scenarios import deployment_pods

CHAOS_LOAD = os.path.join(paths.SERVERS_DIR, "chaos_load.py")
CHAOS_MISCHIEF = os.path.join(paths.SERVERS_DIR, "chaos_mischief.py")
NAMESPACE = "e2e"

HTTP1_PORT = 8080   # http_app.py
H2_PORT = 8081      # grpc_echo_server.py --http-status 200 (h2c)
GRPC_PORT = 50051   # grpc_echo_server.py (gRPC)
BULK_PORT = 9000    # pod_server.py --mode banner (server speaks first, then echoes)
SERVER_PORTS = (HTTP1_PORT, H2_PORT, GRPC_PORT, BULK_PORT)

# Service -> (ClusterIP, Service port, targetPort, appProtocol). Every one has every backend pod
# as an endpoint. web's HTTPRoute splits its requests by weight between web-v1 and web-v2 (the
# same pods, so the split moves nothing a failure could depend on); only bulk declares
# appProtocol (tcp: carried as opaque TCP at once); the others are detected.
SERVICES = {"web": ("10.96.0.110", 80, HTTP1_PORT, None),
            "web-v1": ("10.96.0.111", 80, HTTP1_PORT, None),
            "web-v2": ("10.96.0.112", 80, HTTP1_PORT, None),
            "h2": ("10.96.0.113", 80, H2_PORT, None),
            "rpc": ("10.96.0.114", 9090, GRPC_PORT, None),
            "bulk": ("10.96.0.115", 9000, BULK_PORT, "tcp")}
SPARE_SERVICE = ("spare", "10.96.0.120", 80, HTTP1_PORT)  # added and removed, never called
KINDS = ("http1", "h2", "grpc", "newconn", "bulk")
KIND_SERVICE = {"http1": "web", "newconn": "web", "h2": "h2", "grpc": "rpc", "bulk": "bulk"}
ROUTE_WEIGHTS = (0, 20, 50, 80, 100)  # web-v1's share; web-v2 gets the rest
BASE_FILE, ROUTE_FILE, SPARE_FILE = "chaos.json", "chaos-route.json", "chaos-spare.json"


class Topology:
    """backends: every backend Pod (deployment `app`, per_node on each node); clients, mischief,
    outsiders: node name -> Pod (loadgen and mischief meshed, outsider not)."""

    def __init__(self, nodes, backends, clients, mischief, outsiders):
        self.nodes = nodes
        self.backends = backends
        self.clients = clients
        self.mischief = mischief
        self.outsiders = outsiders

    def target(self, service):
        ip, port, _, _ = SERVICES[service]
        return f"{ip}:{port}"

    def kind_target(self, kind):
        return self.target(KIND_SERVICE[kind])

    def endpoints(self, kind):
        """[(pod name, node name, port)] that can serve a request of kind."""
        port = SERVICES[KIND_SERVICE[kind]][2]
        return [(p.name, p.node.name, port) for p in self.backends]

    def node_of(self, pod_name):
        return next(p.node.name for p in self.backends if p.name == pod_name)


def server_argv(pod, port):
    if port == HTTP1_PORT:
        return [paths.PYTHON, paths.HTTP_APP, "--port", str(port), "--name", pod.name]
    if port == H2_PORT:
        return [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(port), "--name", pod.name,
                "--http-status", "200"]
    if port == GRPC_PORT:
        return [paths.PYTHON, paths.GRPC_ECHO_SERVER, "--port", str(port), "--name", pod.name]
    return [paths.PYTHON, paths.POD_SERVER, "--mode", "banner", "--port", str(port), "--name",
            pod.name]


def start_server(cluster, pod, port):
    """Starts (or starts again) pod's server on port; returns once it listens."""
    pod.servers[port] = pod.start_process(server_argv(pod, port), f"server-{port}",
                                          f"server :{port}", cluster.workdir, cluster.cleanup)
    return pod.servers[port]


def chaos_topology(cluster, nodes, per_node=1, wait=True):
    """per_node meshed backend pods on each node (every server of SERVER_PORTS), a meshed
    `loadgen` and `mischief` pod and an unmeshed `outsider` pod per node; every manifest
    published (the route at 50/50, no spare Service). wait: until each client is served by
    every kind."""
    backends, clients, mischief, outsiders = [], {}, {}, {}
    for node in nodes:
        for pod in deployment_pods(node, "app", per_node, NAMESPACE):
            for port in SERVER_PORTS:
                start_server(cluster, pod, port)
            backends.append(pod)
        clients[node.name] = deployment_pods(node, "loadgen", 1, NAMESPACE)[0]
        mischief[node.name] = deployment_pods(node, "mischief", 1, NAMESPACE)[0]
        outsiders[node.name] = deployment_pods(node, "outsider", 1, NAMESPACE, meshed=False)[0]
    topo = Topology(list(nodes), backends, clients, mischief, outsiders)
    cluster.publish_and_wait(BASE_FILE, base_objects(topo))
    cluster.publish_and_wait(ROUTE_FILE, route_objects(50))
    if wait:
        wait_until_served(topo, cluster)
    return topo


def base_objects(topo, labels=None):
    """Every Pod object (labels: pod name -> extra labels) and every Service with its
    EndpointSlice over all backends."""
    labels = labels or {}
    pods = topo.backends + [p for group in (topo.clients, topo.mischief, topo.outsiders)
                            for p in group.values()]
    objects = []
    for p in pods:
        obj = manifests.pod_object(p)
        obj["metadata"]["labels"].update(labels.get(p.name, {}))
        objects.append(obj)
    for name, (ip, port, target, app_protocol) in SERVICES.items():
        svc = manifests.service(name, NAMESPACE, ip, [("main", port, target)])
        if app_protocol:
            svc["spec"]["ports"][0]["appProtocol"] = app_protocol
        objects += [svc, manifests.endpoint_slice(name, NAMESPACE, topo.backends,
                                                  [("main", target)])]
    return objects


def route_objects(weight_v1):
    """web's HTTPRoute: every request to web-v1 (weight_v1) or web-v2 (100 - weight_v1)."""
    return [manifests.http_route("web-split", NAMESPACE, [manifests.service_parent("web", 80)],
                                 [manifests.route_rule(backends=[
                                     manifests.backend("web-v1", 80, weight_v1),
                                     manifests.backend("web-v2", 80, 100 - weight_v1)])])]


def spare_objects(topo):
    name, ip, port, target = SPARE_SERVICE
    return [manifests.service(name, NAMESPACE, ip, [("main", port, target)]),
            manifests.endpoint_slice(name, NAMESPACE, topo.backends, [("main", target)])]


def wait_until_served(topo, cluster, timeout=60):
    """Each client completes a short load of every kind with no failure."""
    def served(client):
        records = os.path.join(cluster.workdir, f"served-{client.name}.tsv")
        r = client.run([paths.PYTHON, CHAOS_LOAD, "--seconds", "1", "--records", records,
                        "--timeout", "3", "--bulk-timeout", "5"]
                       + [a for kind in KINDS for a in (f"--{kind}", topo.kind_target(kind),
                                                         f"--{kind}-rate", "4")],
                       check=False, timeout=60)
        return rollout.load_served(r)
    for client in topo.clients.values():
        procs.wait_until(lambda c=client: served(c), timeout, interval=1,
                         what=f"every Service answering {client.name}")


# -- the load --------------------------------------------------------------------------------

class Load(rollout.Load):
    """servers/chaos_load.py in a client pod until finish() (SIGUSR1): rollout.Load, its
    records file read at the end."""

    def __init__(self, service, pod, argv, records):
        super().__init__(service, pod, argv)
        self.records_path = records

    @classmethod
    def start(cls, pod, cluster, topo, seconds, rates, timeout=10, bulk_timeout=30,
              bulk_bytes=1 << 20, tag="chaos-load"):
        """rates: kind -> requests/s (a kind left out does not run)."""
        records = os.path.join(cluster.workdir, f"{tag}-{pod.name}.tsv")
        argv = [paths.PYTHON, CHAOS_LOAD, "--seconds", str(seconds), "--records", records,
                "--timeout", str(timeout), "--bulk-timeout", str(bulk_timeout),
                "--bulk-bytes", str(bulk_bytes)]
        for kind, rate in rates.items():
            argv += [f"--{kind}", topo.kind_target(kind), f"--{kind}-rate", str(rate)]
        svc = pod.start_process(argv, tag, f"chaos load in {pod.name}", cluster.workdir,
                                cluster.cleanup, ready_timeout=30)
        return cls(svc, pod, argv, records)

    def alive(self):
        return self.service.alive()

    def finish(self, timeout=120):
        """Stops issuing requests (SIGUSR1), waits for the summary; returns (summary,
        records): records = [(kind, start, end, ok, pod, error)]."""
        return super().finish(timeout), read_records(self.records_path)


def read_records(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 6:
                out.append((cols[0], float(cols[1]), float(cols[2]), cols[3] == "1", cols[4],
                            cols[5]))
    return out


# -- the schedule ------------------------------------------------------------------------------

class Event:
    """One chaos event planned at `at` seconds after the load started: kind (kill, cut, slow,
    junk, h2-abuse, idle) and its parameters."""

    def __init__(self, at, kind, **params):
        self.at = at
        self.kind = kind
        self.params = params

    def __repr__(self):
        return f"Event({self.at:.1f}s {self.kind} {self.params})"


class Gaps:
    """Seconds between two events of a type (uniform in [lo, hi]) and their first offset."""

    def __init__(self, kill=(8, 20), cut=(25, 60), slow=(40, 80), junk=(15, 35),
                 idle=(240, 360), kill_down=(3, 8), cut_down=(3, 10)):
        self.kill, self.cut, self.slow, self.junk, self.idle = kill, cut, slow, junk, idle
        self.kill_down, self.cut_down = kill_down, cut_down


def schedule(rng, topo, lead, end, gaps=None, idle_seconds=150):
    """Every chaos event between lead and end (seconds after the load started), time-ordered.
    Kills never overlap (one backend at a time, its restart before the next kill: every
    Service keeps an endpoint), nor do cuts; everything else overlaps freely. Whatever an event
    undoes (a restart, the link back up) is due before `end`."""
    g = gaps or Gaps()
    events = []
    nodes = [n.name for n in topo.nodes]

    t = lead + rng.uniform(0, g.kill[0])
    while True:
        down = rng.uniform(*g.kill_down)
        if t + down >= end:
            break
        pod = rng.choice(topo.backends)
        ports = list(SERVER_PORTS) if rng.random() < 0.5 else [rng.choice(SERVER_PORTS)]
        events.append(Event(t, "kill", pod=pod.name, ports=ports, down=down))
        t += down + rng.uniform(*g.kill)

    t = lead + rng.uniform(5, g.cut[0])
    while True:
        down = rng.uniform(*g.cut_down)
        if t + down >= end:
            break
        mode = rng.choice(["link", "drop"])
        events.append(Event(t, "cut", mode=mode, side=rng.choice(nodes), down=down))
        t += down + rng.uniform(*g.cut)

    t = lead + rng.uniform(0, g.slow[0] / 2)
    while t < end - 5:
        source = rng.choice(["svc", "pod-ip"])
        backend = rng.choice(topo.backends)
        events.append(Event(t, "slow", source=source, node=rng.choice(nodes),
                            pod=backend.name, connections=rng.randint(10, 40), seconds=25))
        t += rng.uniform(*g.slow)

    t = lead + rng.uniform(0, g.junk[0])
    while t < end - 5:
        variant = rng.choice(["bytes-svc", "bytes-pod", "h2-garbage", "h2-rapid-reset"])
        service = rng.choice(["web", "h2", "rpc"])
        backend = rng.choice(topo.backends)
        events.append(Event(t, "junk", variant=variant, node=rng.choice(nodes),
                            service=service, pod=backend.name, port=rng.choice(
                                [HTTP1_PORT, H2_PORT]),
                            connections=rng.randint(5, 20), seed=rng.randrange(1 << 30)))
        t += rng.uniform(*g.junk)

    t = lead + rng.uniform(0, 5)
    while t + 30 < end:
        events.append(Event(t, "idle", node=rng.choice(nodes), connections=20,
                            seconds=min(idle_seconds, end - t)))
        t += rng.uniform(*g.idle)
    return sorted(events, key=lambda e: e.at)


# -- what happened when --------------------------------------------------------------------------

class Timeline:
    """Every fault as it really happened (CLOCK_MONOTONIC): the windows in which a backend's
    server was down (SIGKILL sent -> its successor listening), the node link's cuts (before
    the cut -> after it was restored) and the manifest changes; and the availability of an
    endpoint to a client at a time, from them."""

    def __init__(self, topo):
        self.topo = topo
        self.down = {}     # (pod name, port) -> [[start, end]] (end None while down)
        self.dying = {}    # (pod name, port) -> [(SIGKILL sent, process gone)]
        self.cuts = []     # [start, end, mode]
        self.manifest_changes = []  # [(t, what)]
        self.mischief = []  # [(start, end, kind)]
        self.lock = threading.Lock()

    def killed(self, pod, port, t):
        with self.lock:
            self.down.setdefault((pod, port), []).append([t, None])

    def dead(self, pod, port, t):
        """The killed process is gone (its sockets closed) at t."""
        with self.lock:
            self.dying.setdefault((pod, port), []).append((self.down[(pod, port)][-1][0], t))

    def restarted(self, pod, port, t):
        with self.lock:
            self.down[(pod, port)][-1][1] = t

    def cut_started(self, t, mode):
        with self.lock:
            self.cuts.append([t, None, mode])

    def cut_ended(self, t):
        with self.lock:
            self.cuts[-1][1] = t

    def manifest_changed(self, t, what):
        with self.lock:
            self.manifest_changes.append((t, what))

    def close(self, t):
        """Ends every window still open at t (the run's end)."""
        for windows in self.down.values():
            for w in windows:
                if w[1] is None:
                    w[1] = t
        for c in self.cuts:
            if c[1] is None:
                c[1] = t

    def _down_at(self, pod, port, t):
        return any(s <= t <= (e if e is not None else float("inf"))
                   for s, e in self.down.get((pod, port), ()))

    def cut_at(self, t):
        return any(s <= t <= (e if e is not None else float("inf")) for s, e, _ in self.cuts)

    def available(self, pod, node, port, client_node, t):
        """The endpoint's server was up at t and, if on another node, the link was up."""
        if self._down_at(pod, port, t):
            return False
        return node == client_node or not self.cut_at(t)

    def any_available(self, kind, client_node, t):
        return any(self.available(pod, node, port, client_node, t)
                   for pod, node, port in self.topo.endpoints(kind))

    def _overlaps(self, windows, start, end):
        return any(s <= end and (e is None or e >= start) for s, e in windows)

    def stream_endpoint_failed(self, kind, pod, client_node, start, end):
        """The endpoint a stream reached was killed, or cut off from client_node, while it
        ran."""
        port = SERVICES[KIND_SERVICE[kind]][2]
        if self._overlaps(self.down.get((pod, port), ()), start, end):
            return True
        return self.topo.node_of(pod) != client_node and \
            self._overlaps([(s, e) for s, e, _ in self.cuts], start, end)

    def fault_began(self, kind, client_node, start, end, servers=True):
        """A fault that could hit a request of kind from client_node struck between start and
        end: one of its Service's servers died (SIGKILL sent -> process gone, its connections
        reset; unless not `servers`), or the link was cut when an endpoint is on another
        node."""
        for pod, _, port in (self.topo.endpoints(kind) if servers else ()):
            if any(s < end and start < e for s, e in self.dying.get((pod, port), ())):
                return True
        remote = any(node != client_node for _, node, _ in self.topo.endpoints(kind))
        return remote and any(start < s < end for s, _, _ in self.cuts)

    def context(self, kind, client_node, start, end, after=10.0):
        """What was going on around a request (for failures nobody excused)."""
        port = SERVICES[KIND_SERVICE[kind]][2]
        if any(s <= end and e >= start for s, e, _ in self.cuts):
            return "during a link cut"
        pods = [pod for pod, _, _ in self.topo.endpoints(kind)]
        windows = [w for pod in pods for w in self.down.get((pod, port), ())]
        if any(s <= end and e >= start for s, e in windows):
            return "while one of its endpoints was down"
        if any(e <= start <= e + after for _, e, _ in self.cuts):
            return f"≤{after:g} s after a link cut ended"
        if any(e <= start <= e + after for _, e in windows):
            return f"≤{after:g} s after one of its endpoints restarted"
        for s, e, what in self.mischief:
            if s <= end and e >= start:
                return f"during mischief ({what})"
        if any(start - 3 <= t <= end for t, _ in self.manifest_changes):
            return "≤3 s after a manifest change"
        return "no chaos nearby"


# How long a silent cut can go unseen by an agent (agent/tunnel/TunnelSession.cpp): on a busy
# session until the peer's kernel has acknowledged nothing for 100 ms (kUnacknowledgedFor; the
# path's round trips add microseconds here); on a session with nothing in flight, nothing
# shows it until it has been quiet for 250 ms (kQuietBeforeStream), when a new stream waits for
# a PING. The longer of the two.
UNSEEN_CUT_S = 0.25

EXCUSES = {
    "no-endpoint": "no endpoint of its Service was up and reachable (at its start or its end)",
    "stream-bound": "an L4 stream whose endpoint (named by its banner) was killed or cut off "
                    "while it ran: it cannot move",
    "in-flight": "a gRPC call (POST: not idempotent, never re-sent) in flight when a server "
                 "of its Service died (SIGKILL sent → process gone) or the link was cut",
    "sent-into-cut": f"a gRPC call begun within {UNSEEN_CUT_S * 1000:.0f} ms after the link was "
                     "cut: a silent cut shows only as bytes unacknowledged for 100 ms or, on a "
                     "session with nothing in flight, as 250 ms of quiet, so its bytes had left "
                     "for the far endpoint, and a call that may have reached its app is never "
                     "re-sent",
}


def classify(record, client_node, timeline):
    """None for an answered request; else ("excused", key of EXCUSES) or ("counts",
    context)."""
    kind, start, end, ok, pod, error = record
    if ok:
        return None
    if not timeline.any_available(kind, client_node, start) or \
            not timeline.any_available(kind, client_node, end):
        return ("excused", "no-endpoint")
    if kind == "bulk" and pod and timeline.stream_endpoint_failed(kind, pod, client_node,
                                                                   start, end):
        return ("excused", "stream-bound")
    if kind == "grpc" and timeline.fault_began(kind, client_node, start, end):
        return ("excused", "in-flight")
    if kind == "grpc" and timeline.fault_began(kind, client_node, start - UNSEEN_CUT_S, start,
                                               servers=False):
        return ("excused", "sent-into-cut")
    return ("counts", timeline.context(kind, client_node, start, end))


# -- executing the schedule ----------------------------------------------------------------------

class Mischief:
    """One misbehaving client process (chaos_mischief.py or h2_abuse.py); its JSON once done."""

    def __init__(self, event, service, started, bound):
        self.event = event
        self.service = service
        self.started = started
        self.bound = bound  # monotonic time after which it is stopped
        self.ended = None
        self.result = None

    def poll(self, now, force=False):
        """Collects the result once the process ended (or stops it past its bound / when
        forced); True when done."""
        if self.ended is not None:
            return True
        if self.service.alive() and not force and now < self.bound:
            return False
        if self.service.alive():
            self.service.stop(timeout=5)
        else:
            self.service.stop()
        self.ended = time.monotonic()
        self.result = None
        try:
            with open(self.service.log_path, errors="replace") as f:
                for line in f:
                    if line.startswith("{"):
                        self.result = json.loads(line)
        except (OSError, ValueError):
            pass
        return True


class Executor:
    """Runs a schedule against the cluster, recording every fault in the timeline. Blocking
    steps (a restarted server's wait for its listener) delay later events a little; the
    timeline keeps the real times."""

    def __init__(self, cluster, topo, timeline, events, t0, log=print):
        self.cluster = cluster
        self.topo = topo
        self.timeline = timeline
        self.t0 = t0
        self.log = log
        self.mischief = []
        self.done = []   # (event, facts dict)
        self.cut = None
        self.seq = 0
        self.queue = []
        for e in events:
            self._push(t0 + e.at, self._start, e)

    def _push(self, due, fn, *args):
        self.seq += 1
        heapq.heappush(self.queue, (due, self.seq, fn, args))

    def run(self, stop=None):
        while self.queue:
            due, _, fn, args = self.queue[0]
            now = time.monotonic()
            if due > now:
                self._harvest(now)
                wait = min(due - now, 1.0)
                if stop is None:
                    time.sleep(wait)
                elif stop.wait(wait):
                    break
                continue
            heapq.heappop(self.queue)
            fn(*args)
        # whatever is still open is undone now (restarts, link up)
        while self.queue:
            _, _, fn, args = heapq.heappop(self.queue)
            if fn != self._start:
                fn(*args)

    def finish(self, wait=True):
        """Waits for every mischief process (until its bound), then stops the rest."""
        for m in self.mischief:
            while wait and not m.poll(time.monotonic()):
                time.sleep(0.5)
            m.poll(time.monotonic(), force=True)
            self.timeline.mischief.append((m.started, m.ended, m.event.kind))

    def _harvest(self, now):
        for m in self.mischief:
            m.poll(now)

    def _rel(self, t):
        return t - self.t0

    def _start(self, e):
        getattr(self, "_" + e.kind.replace("-", "_"))(e)

    # kills
    def _kill(self, e):
        pod = next(p for p in self.topo.backends if p.name == e.params["pod"])
        killed = []
        for port in e.params["ports"]:
            t = time.monotonic()
            self.timeline.killed(pod.name, port, t)
            pod.servers[port].stop(sig=signal.SIGKILL)
            self.timeline.dead(pod.name, port, time.monotonic())
            killed.append(port)
        facts = {"pod": pod.name, "node": pod.node.name, "ports": killed,
                 "at": self._rel(time.monotonic())}
        self.done.append((e, facts))
        self.log(f"{facts['at']:7.1f}s kill -9 {pod.name} ({pod.node.name}) "
                 f":{','.join(map(str, killed))} for {e.params['down']:.1f}s")
        self._push(time.monotonic() + e.params["down"], self._restart, pod, killed, facts)

    def _restart(self, pod, ports, facts):
        t0 = time.monotonic()
        for port in ports:
            start_server(self.cluster, pod, port)
            self.timeline.restarted(pod.name, port, time.monotonic())
        facts["down_s"] = time.monotonic() - (self.t0 + facts["at"])
        facts["restart_s"] = time.monotonic() - t0

    # the node link
    def _cut(self, e):
        nodes = {n.name: n for n in self.topo.nodes}
        if e.params["mode"] == "link":
            node = nodes[e.params["side"]]
            cut = LinkCut(node, node.links[0])
        else:
            cut = SilentCut([(n, n.links[0]) for n in self.topo.nodes])
        t = time.monotonic()
        self.timeline.cut_started(t, e.params["mode"])
        cut.down()
        facts = {"mode": e.params["mode"], "side": e.params["side"], "at": self._rel(t)}
        self.done.append((e, facts))
        self.log(f"{facts['at']:7.1f}s cut the node link ({e.params['mode']}"
                 f"{', ' + e.params['side'] + ' down' if e.params['mode'] == 'link' else ''})"
                 f" for {e.params['down']:.1f}s")
        self._push(t + e.params["down"], self._restore, cut, facts, t)

    def _restore(self, cut, facts, t):
        cut.up()
        now = time.monotonic()
        self.timeline.cut_ended(now)
        facts["down_s"] = now - t

    # misbehaving clients
    def _spawn(self, e, pod, argv, bound, what):
        self.seq += 1
        log = os.path.join(self.cluster.workdir, f"mischief-{self.seq}.log")
        svc = procs.Service(pod.exec_argv(argv), log, f"{what} in {pod.name}")
        self.cluster.cleanup.push(f"stop {svc.name}", svc.stop)
        now = time.monotonic()
        m = Mischief(e, svc, now, now + bound)
        m.what = what
        m.pod = pod
        self.mischief.append(m)
        self.done.append((e, {"at": self._rel(now), "what": what, "mischief": m}))
        self.log(f"{self._rel(now):7.1f}s {what}")

    def _slow(self, e):
        p = e.params
        if p["source"] == "svc":
            pod, (host, port) = self.topo.mischief[p["node"]], self.topo.target("web").split(":")
            where = f"Service web from {pod.name} (meshed)"
        else:
            pod = self.topo.outsiders[p["node"]]
            host, port = self._pod_ip(p["pod"]), str(HTTP1_PORT)
            where = f"{p['pod']}:{HTTP1_PORT} from {pod.name} (unmeshed)"
        argv = [paths.PYTHON, CHAOS_MISCHIEF, "slow", host, port, "--connections",
                str(p["connections"]), "--interval", "1", "--seconds", str(p["seconds"])]
        self._spawn(e, pod, argv, p["seconds"] + 20,
                    f"slowloris x{p['connections']} (1 byte/s) to {where}")

    def _junk(self, e):
        p = e.params
        v = p["variant"]
        if v == "bytes-svc":
            pod = self.topo.mischief[p["node"]]
            host, port = self.topo.target(p["service"]).split(":")
            argv = [paths.PYTHON, CHAOS_MISCHIEF, "junk", host, port, "--connections",
                    str(p["connections"]), "--seconds", "15", "--seed", str(p["seed"])]
            what = f"junk bytes x{p['connections']} to Service {p['service']}"
        elif v == "bytes-pod":
            pod = self.topo.outsiders[p["node"]]
            host, port = self._pod_ip(p["pod"]), str(p["port"])
            argv = [paths.PYTHON, CHAOS_MISCHIEF, "junk", host, port, "--connections",
                    str(p["connections"]), "--seconds", "15", "--seed", str(p["seed"])]
            what = f"junk bytes x{p['connections']} to {p['pod']}:{port} (unmeshed)"
        else:
            pod = self.topo.mischief[p["node"]]
            host, port = self.topo.target("h2").split(":")
            mode = "garbage" if v == "h2-garbage" else "rapid-reset"
            argv = [paths.PYTHON, paths.H2_ABUSE, host, port, "--mode", mode, "--timeout", "10",
                    "--streams", "2000"]
            what = f"h2 {mode} to Service h2"
        self._spawn(e, pod, argv, 35, what + f" from {pod.name}")

    def _idle(self, e):
        p = e.params
        pod = self.topo.mischief[p["node"]]
        host, port = self.topo.target("web").split(":")
        argv = [paths.PYTHON, CHAOS_MISCHIEF, "idle", host, port, "--connections",
                str(p["connections"]), "--seconds", f"{p['seconds']:.0f}"]
        self._spawn(e, pod, argv, p["seconds"] + 20,
                    f"idle keep-alive x{p['connections']} to Service web from {pod.name}")

    def _pod_ip(self, name):
        return next(p.ip for p in self.topo.backends if p.name == name)


class ManifestChurn:
    """A thread rewriting one manifest every few seconds (seeded): a backend Pod's label
    toggled (the base file, every object in it, rewritten), the route's weights changed, the
    spare Service added or removed (its file deleted)."""

    def __init__(self, cluster, topo, timeline, rng, every=(2.0, 5.0), log=print):
        self.cluster = cluster
        self.topo = topo
        self.timeline = timeline
        self.rng = rng
        self.every = every
        self.log = log
        self.counts = {"label": 0, "route": 0, "spare-add": 0, "spare-remove": 0}
        self.labels = {}
        self.weight = 50
        self.spare = False
        self.stop = threading.Event()
        self.thread = None
        self.error = None

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def finish(self):
        self.stop.set()
        if self.thread:
            self.thread.join(30)
        if self.error:
            raise self.error

    def _run(self):
        try:
            while not self.stop.wait(self.rng.uniform(*self.every)):
                self.change()
        except Exception as e:  # noqa: BLE001 - reported by finish()
            self.error = e

    def change(self):
        what = self.rng.choice(["label", "route", "spare"])
        if what == "label":
            pod = self.rng.choice(self.topo.backends)
            cur = self.labels.setdefault(pod.name, {})
            if cur:
                cur.clear()
            else:
                cur["chaos.weft.io/toggle"] = "on"
            self.cluster.publish(BASE_FILE, base_objects(self.topo, self.labels))
            key = "label"
        elif what == "route":
            self.weight = self.rng.choice([w for w in ROUTE_WEIGHTS if w != self.weight])
            self.cluster.publish(ROUTE_FILE, route_objects(self.weight))
            key = "route"
        elif not self.spare:
            self.cluster.publish(SPARE_FILE, spare_objects(self.topo))
            self.spare = True
            key = "spare-add"
        else:
            for node in self.cluster.nodes:
                try:
                    os.remove(os.path.join(node.agent.manifests_dir, SPARE_FILE))
                except FileNotFoundError:
                    pass
            self.spare = False
            key = "spare-remove"
        self.counts[key] += 1
        self.timeline.manifest_changed(time.monotonic(), key)


# -- the agents from outside -------------------------------------------------------------------

def proc_sample(pid):
    """(RSS KiB, open fds, utime+stime ticks, threads) of a process from /proc."""
    rss = 0
    threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, fds, int(fields[11]) + int(fields[12]), threads


class AgentWatch:
    """A thread sampling every node's agent every `interval` s (RSS, fds, CPU, threads); an
    agent found gone is a crash: its exit status and log tail are kept and it is started again
    (so the soak goes on and later crashes count too)."""

    def __init__(self, nodes, interval=10.0, log=print):
        self.nodes = nodes
        self.interval = interval
        self.log = log
        self.samples = {n.name: [] for n in nodes}  # [(t, pid, rss, fds, ticks, threads)]
        self.crashes = []  # {"node", "t", "pid", "status", "log"}
        self.stop = threading.Event()
        self.thread = None

    def start(self):
        self.sample()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def finish(self):
        self.stop.set()
        if self.thread:
            self.thread.join(60)
        self.sample()

    def _run(self):
        while not self.stop.wait(self.interval):
            self.sample()

    def sample(self):
        for node in self.nodes:
            agent = node.agent
            svc = agent.service
            if svc is None or not svc.alive():
                status = None if svc is None else svc.proc.poll()
                tail = agent.log(4000)
                self.crashes.append({"node": node.name, "t": time.monotonic(),
                                     "pid": None if svc is None else svc.pid,
                                     "status": status, "log": tail})
                self.log(f"!! {node.name}'s agent is gone (status {status}); starting it again")
                agent.service = None
                try:
                    agent.start(timeout=60)
                except Exception as e:  # noqa: BLE001 - reported with the crash
                    self.crashes[-1]["restart_error"] = repr(e)
                continue
            try:
                rss, fds, ticks, threads = proc_sample(agent.pid)
            except OSError:
                continue
            self.samples[node.name].append((time.monotonic(), agent.pid, rss, fds, ticks,
                                            threads))


def slope_per_minute(points):
    """Least-squares slope of [(t seconds, value)] in value per minute (None under 3 points)."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in points) / var * 60.0


def window_minima(points, windows=6):
    """[(mid time, min value)] over `windows` equal slices of points' time span: the floor the
    transient connections of the chaos stand on."""
    if not points:
        return []
    t0, t1 = points[0][0], points[-1][0]
    width = (t1 - t0) / windows or 1.0
    out = []
    for i in range(windows):
        lo, hi = t0 + i * width, t0 + (i + 1) * width
        vals = [v for t, v in points if lo <= t < hi or (i == windows - 1 and t == t1)]
        if vals:
            out.append(((lo + hi) / 2, min(vals)))
    return out


# `<UTC time>Z <program> <level> <event> key=value...` (common/Log.cpp)
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z \S+ (\S+) (\S+)(.*)$")


def log_events(agent, levels=("warn", "error")):
    """[(level, event, line)] of the agent's log lines at those levels (every process of it)."""
    out = []
    for path in agent.log_paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_LINE.match(line)
                if m and m.group(2) in levels:
                    out.append((m.group(2), m.group(3), line.rstrip("\n")))
    return out


def count_log_events(agent, names):
    """{event: count} of the agent's log lines (any level) whose event is in names."""
    out = {n: 0 for n in names}
    for path in agent.log_paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_LINE.match(line)
                if m and m.group(3) in out:
                    out[m.group(3)] += 1
    return out


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), -(-q * len(sorted_values) // 100)))
    return sorted_values[int(rank) - 1]

