"""`weftctl tap` and `weftctl top` (issue 24) against a real agent: a client on node1 calls a
Service whose endpoint is on node2, interleaving answers 200 and 500. `tap deploy/client
--status 5xx -o json` prints exactly the failures; the table form prints Linkerd's req/rsp/end
lines for each; an agent that refuses the session (a bad filter value would be caught by the
CLI, so: tap_max_sessions reached) is an error with the agent's reason and exit status 1.
`top` runs in a real terminal (tmux): the test reads the screen while the table updates in
place, with the right counts and success rates per path, and q ends it."""
import json
import os
import re

from weftsim import netns, procs
from weftsim.scenarios import HTTP_APP_PORT, http_app_service, two_nodes

NS = "e2e"
CLUSTER_IP = "10.96.0.84"


def _client_and_web(cluster, n1, n2):
    """A meshed client on n1 and Service web (CLUSTER_IP:80) over one http_app pod on n2,
    answering the client: (client pod, web pod)."""
    sc = http_app_service(cluster, n1, replicas=1, name="web", cluster_ip=CLUSTER_IP,
                          server_node=n2, namespace=NS)
    return sc.client, sc.servers[0]


def _calls(client, targets, rounds):
    curls = "; ".join(f"curl -s -o /dev/null http://{CLUSTER_IP}{p}" for p in targets)
    client.run(["sh", "-c", f"for i in $(seq {rounds}); do {curls}; done"], timeout=120)


def _weftctl(cluster, node, tag, *args):
    """weftctl in node's netns with its stdout piped: a Service the test reads, then stops."""
    svc = procs.Service(netns.exec_argv(node.netns, [cluster.build.weftctl] + list(args)),
                        f"{cluster.workdir}/weftctl-{tag}.log", f"weftctl {tag}",
                        stdout_pipe=True)
    cluster.cleanup.push(f"stop weftctl {tag}", svc.stop)
    return svc


def _sessions_open(node):
    return node.agent.metrics().sum("weft_tap_sessions")


def _read_all(svc, timeout):
    """Every stdout line until the process exits (its --duration)."""
    svc.proc.wait(timeout=timeout)
    return svc.proc.stdout.read().decode().splitlines()


def _tmux(*args, check=True):
    return procs.run(["tmux", "-L", f"weft-e2e-{os.getpid()}"] + list(args), check=check)


def test_tap_and_top_show_the_requests_the_agent_finishes(build, cluster):
    n1, n2 = two_nodes(cluster, agent_args=["--tap-max-sessions", "2"])
    client, web = _client_and_web(cluster, n1, n2)
    agent = f"127.0.0.1:{n1.agent.admin_port}"

    failures = _weftctl(cluster, n1, "json", "tap", "deploy/client", "-n", NS, "--status", "5xx",
                        "--agents", agent, "--duration", "6s", "-o", "json")
    lines = _weftctl(cluster, n1, "table", "tap", "deploy/client", "-n", NS, "--to",
                     "deploy/web", "--path", "/status", "--agents", agent, "--duration", "6s")
    procs.wait_until(lambda: _sessions_open(n1) == 2, 10, what="both tap sessions open")
    refused = procs.run(netns.exec_argv(n1.netns, [
        build.weftctl, "tap", "deploy/client", "-n", NS, "--agents", agent, "--duration", "2s"]),
        check=False)
    _calls(client, ["/status/500", "/"], 5)

    events = [json.loads(line) for line in _read_all(failures, 20) if line.strip()]
    print(f"tap --status 5xx -o json: {len(events)} events, first {events[0] if events else None}")
    assert [(e["status"], e["path"], e["src"]["workload"], e["dst"]["workload"])
            for e in events] == [(500, "/status/500", "client", "web")] * 5, events
    table = _read_all(lines, 20)
    print("tap (table):\n" + "\n".join(table[:3]))
    assert len(table) == 15, table  # 5 requests to /status..., 3 lines each
    req = re.compile(r"^req id=node1:\d+ proxy=out src=%s dst=%s:%d tls=true :method=GET "
                     r":authority=%s :path=/status/500$" % (re.escape(client.ip),
                                                            re.escape(web.ip), HTTP_APP_PORT,
                                                            re.escape(CLUSTER_IP)))
    assert all(req.match(line) for line in table[0::3]), table
    assert all(re.search(r" :status=500 latency=\d+µs$", line) for line in table[1::3]), table
    assert all(re.search(r" duration=\d+µs response-length=\d+B$", line)
               for line in table[2::3]), table
    assert refused.returncode == 1, refused
    assert "status 429" in refused.stderr and "tap_max_sessions" in refused.stderr, refused.stderr
    procs.wait_until(lambda: _sessions_open(n1) == 0, 10, what="the tap sessions closed")

    # top, in a real terminal.
    session = "top"
    command = " ".join(netns.nsenter_argv(n1.netns, [
        build.weftctl, "top", "deploy/client", "-n", NS, "--agents", agent]))
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "30", command)
    cluster.cleanup.push("kill the tmux server", lambda: _tmux("kill-server", check=False))
    procs.wait_until(lambda: _sessions_open(n1) == 1, 10, what="top's tap session open")
    _calls(client, ["/", "/", "/", "/status/500"], 4)

    def screen():
        return _tmux("capture-pane", "-p", "-t", session).stdout

    def rows():
        found = {}
        for line in screen().splitlines():
            cells = line.split()
            if len(cells) == 9 and cells[:3] == ["client", "web", "GET"]:
                found[cells[3]] = (int(cells[4]), cells[8])
        return found
    procs.wait_until(lambda: rows() == {"/": (12, "100.00%"), "/status/500": (4, "0.00%")}, 10,
                     what=f"top's table on the screen:\n{screen()}")
    print("top on the terminal:\n" + screen())
    assert screen().splitlines()[0].startswith("weftctl top deploy/client")
    # It updates in place: more requests change the count on the same screen.
    _calls(client, ["/"], 3)
    procs.wait_until(lambda: rows().get("/") == (15, "100.00%"), 10,
                     what=f"top's count updated:\n{screen()}")
    _tmux("send-keys", "-t", session, "q")
    procs.wait_until(lambda: _tmux("has-session", "-t", session, check=False).returncode != 0,
                     10, what="top quitting on q")
    procs.wait_until(lambda: _sessions_open(n1) == 0, 10, what="top's session closed")
