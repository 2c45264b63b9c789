"""Hitless rollout (issue 22): the agent of a node is replaced by a successor while traffic runs,
the way a DaemonSet with maxSurge 1 / maxUnavailable 0 does it. The successor (same settings,
other admin port) adopts the node's pods, opens its listeners next to the old agent's, takes the
registration socket and only then answers /ready; the harness then SIGTERMs the old agent,
which closes its listeners, says GOAWAY (HTTP/2, tunnel sessions) and `Connection: close`
(HTTP/1.1), finishes what is in flight, keeps L4 relays for --drain-seconds, closes the rest
with FIN and exits 0.

Two nodes, one backend pod and one client pod each; Services web (HTTP/1.1, http_app.py), h2
(h2c, grpc_echo_server.py --http-status 200) and rpc (gRPC) over both backends, so every client's
requests go to its own node and across (per-request balancing). Each client runs
servers/rollout_load.py: bounded HTTP/1.1 keep-alive, HTTP/2 and gRPC load, counting every
failed request (none retried, except HTTP/2 streams a GOAWAY says were never processed, RFC 9113
section 6.8; grpc runs without its transparent retry in the first test, with it in the second)
and every refused connection.

- test_three_hand_overs_fail_no_request: each node's agent replaced three times in a row,
  alternating a "new version" binary (a copy with another version string, checked in its
  `agent.start version=` line) and the build's: 0 failed requests, 0 refused connections,
  every predecessor exits 0; a long-lived L4 stream shorter than the drain, open through the
  first hand-over, completes byte-exact; a longer one is ended by the predecessor with a FIN
  (not a RST) once the drain period is over. The added latency (p99 of requests started
  inside the hand-over windows vs outside) is printed, not asserted.
- test_rapid_hand_overs_leak_nothing: ten hand-overs in a row on one node (drain 1 s, a little
  traffic): afterwards each pod has exactly one listener per worker on each of the agent's
  ports, the bpffs pins, the pods' tc filters, routes and rules are what they were, the last
  agent holds as many fds and threads as the first did with the same pods, no other
  weft-agent of that node runs, and the node's directory (where the registration socket is)
  holds no socket but cni.sock and no file a hand-over left.
"""
import os
import time

from weftsim import rollout
from weftsim.rollout import ECHO_PORT, Load

WORKERS = 2
DRAIN = 8          # --drain-seconds of the first test
LEAD = 3           # seconds of load before the first hand-over (outside every window)
TAIL = 3           # seconds of load after the last one
RATE = 25          # requests per second per kind and client
RAPID = 10         # hand-overs of the second test
RAPID_DRAIN = 1


def _nodes(cluster, drain):
    args = ["--workers", str(WORKERS), "--drain-seconds", str(drain)]
    n1 = cluster.add_node("node1", agent_args=args)
    n2 = cluster.add_node("node2", agent_args=args)
    cluster.link(n1, n2)
    return n1, n2


def _version_lines(record):
    with open(record.log_path, errors="replace") as f:
        return [line.strip() for line in f if "agent.start " in line]


def _report(capsys, text):
    """Into the test's output whether it passes or not (meson's test log, pytest -q)."""
    with capsys.disabled():
        print("\n" + text, flush=True)


def test_three_hand_overs_fail_no_request(cluster, capsys):
    n1, n2 = _nodes(cluster, DRAIN)
    topo = rollout.rollout_topology(cluster, [n1, n2])
    new_binary, new_version = rollout.new_version_binary(cluster.build.agent,
                                                         os.path.join(cluster.workdir, "v2"))
    old_version = rollout.version_of(cluster.build.agent)
    b1, b2 = topo.backends["node1"], topo.backends["node2"]

    # client1's streams all start before node1's first hand-over: the short one (same node:
    # node1's agent alone carries it) lasts LEAD + DRAIN - 1 s, so it is still open when
    # node1's first predecessor gets SIGTERM (if that successor is ready within DRAIN - 1 s)
    # and ends before that predecessor's drain period does; the long ones (same node, and
    # across nodes through the tunnel) last far beyond it. client2 holds one long stream to
    # node1's backend: node1's first predecessor ends it as the tunnel's server side.
    short = LEAD + DRAIN - 1
    # grpc without its transparent retry: the agent's two-step GOAWAY (a notice, then the last
    # stream id a second later) leaves no call unprocessed, so nothing may need re-sending.
    loads = {"node1": Load.start(topo.clients["node1"], cluster, topo, rate=RATE,
                                 streams=[(b1.ip, ECHO_PORT, short), (b1.ip, ECHO_PORT, 300),
                                          (b2.ip, ECHO_PORT, 300)],
                                 tag="load1", grpc_transparent_retry=False),
             "node2": Load.start(topo.clients["node2"], cluster, topo, rate=RATE,
                                 streams=[(b1.ip, ECHO_PORT, 300)], tag="load2",
                                 grpc_transparent_retry=False)}
    time.sleep(LEAD)

    records = []
    for round_ in range(3):
        binary = new_binary if round_ % 2 == 0 else cluster.build.agent
        for node in (n1, n2):
            records.append(node.agent.hand_over(binary=binary, timeout=30,
                                                drain_timeout=DRAIN + 20))
    time.sleep(TAIL)
    results = {name: load.finish() for name, load in loads.items()}

    windows = [r.window for r in records]
    lines = ["hitless rollout: 3 hand-overs per node, drain "
             f"{DRAIN}s, {RATE} req/s per kind per client"]
    lines += [f"  {r!r}" for r in records]
    for name, result in results.items():
        lines.append(rollout.format_stats(f"  {name}", rollout.window_stats(result, windows)))
    t = rollout.totals(results.values())
    lines.append(f"  total: {t['sent']} requests, {t['ok']} ok, {t['failed']} failed, "
                 f"{t['refused']} refused connections, {t['resent']} h2 streams re-sent "
                 f"after GOAWAY, {t['goaways']} GOAWAYs, {t['server_closes']} HTTP/1.1 "
                 f"Connection: close, {t['idle_closes']} idle closes")
    streams = results["node1"]["streams"]
    for s in streams + results["node2"]["streams"]:
        lines.append(f"  stream {s['target']} {s['seconds']}s: {s['fate']} after "
                     f"{s['ended'] - s['started']:.2f}s, {s['echoed']}/{s['sent']} bytes "
                     f"echoed, rst_after_fin={s['rst_after_fin']} {s['detail']}")
    _report(capsys, "\n".join(lines))

    # Every predecessor drained and exited cleanly; each successor ran the binary it was
    # given.
    assert [r.status for r in records] == [0] * len(records), records
    for r in records:
        version = new_version if r.binary == new_binary else old_version
        started = _version_lines(r)
        assert started and f"version={version} " in started[0], (r, started)

    # Not one request failed, not one connection was refused.
    assert t["failed"] == 0 and t["refused"] == 0, "\n".join(t["errors"][:30])
    # Every request was answered or failed (a client thread stuck in its library is named).
    assert t["sent"] == t["ok"] + t["failed"], (t["sent"], t["ok"], t["failed"],
                                                [r["hung"] for r in results.values()])
    for result in results.values():
        for kind, k in result["kinds"].items():
            assert k["sent"] >= RATE * LEAD, (kind, k)  # the load really ran throughout

    # The short stream was open across node1's first SIGTERM and completed byte-exact; the long
    # ones were closed with a FIN when that predecessor's drain period ended.
    first = records[0]
    assert first.node == "node1"
    short_s, long_streams = streams[0], streams[1:] + results["node2"]["streams"]
    assert short_s["ended"] > first.sigterm, (
        f"the short stream ended {first.sigterm - short_s['ended']:.2f}s before node1's first "
        f"SIGTERM (successor ready in {first.ready_s:.2f}s): nothing measured")
    assert short_s["fate"] == "completed", short_s
    assert short_s["ended"] < first.sigterm + DRAIN, short_s
    assert len(long_streams) == 3, long_streams
    for long_s, where in zip(long_streams, ("same node", "across nodes, ended by the client's "
                                            "agent", "across nodes, ended by the server's agent")):
        assert long_s["fate"] == "fin", (where, long_s)
        # FIN and nothing after it: no RST for the bytes the client sent before it saw the
        # FIN (the agent reads and drops them) nor for anything else.
        assert long_s["rst_after_fin"] is False, (
            f"{where}: a RST followed the FIN that ended the long stream (SO_ERROR "
            f"{long_s['rst_after_fin']} 0.3 s after the client read EOF; it sent nothing "
            f"after that): {long_s}")
        assert first.sigterm + DRAIN - 1 <= long_s["ended"] <= first.sigterm + DRAIN + 3, (
            f"{where}: the long stream ended {long_s['ended'] - first.sigterm:.2f}s after "
            f"SIGTERM, drain is {DRAIN}s: {long_s}")
    # The drain lasted the drain period (the long stream held it) and the agent exited at the
    # latest 4 s after it (ARCHITECTURE.md, "Hand-over", step 6).
    assert DRAIN - 1 <= first.drain_s <= DRAIN + 4.5, first
    # With no L4 stream left, a predecessor exits as soon as its connections are done.
    for r in records[1:]:
        assert r.drain_s < DRAIN - 0.5, f"{r}: nothing long-lived was open, yet it drained"


def test_rapid_hand_overs_leak_nothing(cluster, capsys):
    n1, n2 = _nodes(cluster, RAPID_DRAIN)
    topo = rollout.rollout_topology(cluster, [n1, n2], wait=False)
    new_binary, _ = rollout.new_version_binary(cluster.build.agent,
                                               os.path.join(cluster.workdir, "v2"))
    pods = [p for p in topo.pods() if p.node is n1]
    agent = n1.agent

    # The first agent with node1's pods meshed and no traffic carried yet.
    time.sleep(1)
    first_pid = agent.pid
    first_counts = rollout.proc_counts(first_pid)
    first_fds = rollout.fd_targets(first_pid)
    listeners_before = {p.name: rollout.agent_listeners(p) for p in pods}
    plumbing_before = {p.name: rollout.pod_plumbing(p) for p in pods}
    pins_before = rollout.tree(agent.bpffs_dir)
    node_dir_before = set(os.listdir(agent.workdir))
    for name, got in listeners_before.items():
        assert got == {a: WORKERS for a in rollout.AGENT_LISTENERS}, (name, got)

    rollout.wait_until_served(topo)
    loads = [Load.start(topo.clients[n.name], cluster, topo, rate=5, tag=f"load-{n.name}")
             for n in (n1, n2)]
    records = []
    for i in range(RAPID - 1):
        records.append(agent.hand_over(binary=new_binary if i % 2 == 0 else
                                       cluster.build.agent, timeout=30, drain_timeout=20))
    results = [load.finish() for load in loads]
    # The last one with no traffic: its successor never carries a connection, as the first
    # agent had not when it was counted.
    time.sleep(1)
    records.append(agent.hand_over(timeout=30, drain_timeout=20))
    time.sleep(1.5)

    last_counts = rollout.proc_counts(agent.pid)
    last_fds = rollout.fd_targets(agent.pid)
    t = rollout.totals(results)
    _report(capsys, "\n".join(
        [f"rapid hand-overs: {RAPID} on node1, drain {RAPID_DRAIN}s"]
        + [f"  {r!r}" for r in records]
        + [f"  traffic: {t['sent']} requests, {t['failed']} failed, {t['refused']} refused",
           f"  first agent pid {first_pid}: {first_counts[0]} fds, {first_counts[1]} threads; "
           f"last pid {agent.pid}: {last_counts[0]} fds, {last_counts[1]} threads"]))

    assert [r.status for r in records] == [0] * RAPID, records
    assert t["failed"] == 0 and t["refused"] == 0, "\n".join(t["errors"][:30])
    # Every request was answered or failed (a client thread stuck in its library is named).
    assert t["sent"] == t["ok"] + t["failed"], (t["sent"], t["ok"], t["failed"],
                                                [r["hung"] for r in results])
    for p in pods:
        assert rollout.agent_listeners(p) == listeners_before[p.name], p
        assert rollout.pod_plumbing(p) == plumbing_before[p.name], p
    assert rollout.tree(agent.bpffs_dir) == pins_before
    # Same pods, no traffic: exactly as many fds and threads as the first agent.
    assert last_counts == first_counts, (
        f"fds/threads {first_counts} -> {last_counts}; fd kinds gained "
        f"{dict(last_fds - first_fds)}, lost {dict(first_fds - last_fds)}")
    # Only the running agent of node1 is left, and the registration socket's directory holds
    # cni.sock and what it held before plus the successors' logs.
    assert rollout.processes_mentioning(agent.bpffs_dir) == [agent.pid]
    assert rollout.sockets_in(agent.workdir) == [os.path.basename(agent.socket)]
    now = set(os.listdir(agent.workdir))
    logs = {os.path.basename(p) for p in agent.log_paths}
    assert now - node_dir_before <= logs, sorted(now - node_dir_before - logs)
    assert node_dir_before <= now, sorted(node_dir_before - now)
    assert agent.pod_ids() == {p.container_id for p in pods}
