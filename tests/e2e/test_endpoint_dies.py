"""An endpoint that dies fails no request another endpoint could serve (issue 19, item 6).

A Service with two HTTP/1.1 replicas, a client at a steady rate on keep-alive connections and
another on a new connection per request; one replica's server is killed (kill -9) and started
again 8 s later, on the client's node and across nodes. A request whose connection to the dead
endpoint is refused goes to the other one at once (whatever its method, without a retry rule
or budget: it never reached an app); across nodes the destination agent passes the refusal
back as RST_STREAM(REFUSED_STREAM) and the source agent chooses again. The circuit breaker's
probe of the ejected endpoint fails no request either. Every client request must succeed, none
may wait longer than the client's 2 s timeout, and the reroutes are counted in
weft_request_retries_total{reason="connect_failure"}."""
import json
import os
import signal
import time

import pytest

from weftsim import paths, procs
from weftsim.scenarios import HTTP_APP_PORT, http_app_service, two_nodes

RATE_MS = 10       # per keep-alive connection: 2 x 100 requests/s
SECONDS = 16       # of load: 2 s before the kill, 8 s dead, 6 s back
CLIENT_TIMEOUT = 2  # seconds, as in the run that found the failures


def load(sc, tag, reconnect):
    connections, interval = (1, 20) if reconnect else (2, RATE_MS)
    argv = [paths.PYTHON, paths.HTTP_CLIENT, sc.cluster_ip, str(sc.port), "--connections",
            str(connections), "--requests", str(SECONDS * 1000 // interval), "--interval-ms",
            str(interval), "--timeout", str(CLIENT_TIMEOUT)] + (["--reconnect"] if reconnect
                                                                 else [])
    svc = procs.Service(sc.client.exec_argv(argv), os.path.join(sc.client.node.workdir,
                                                                 f"load-{tag}.log"),
                        f"{tag} load", stdout_pipe=True)
    return svc


@pytest.mark.parametrize("where", ["same-node", "across-nodes"])
def test_a_killed_endpoint_fails_no_request(cluster, where):
    n1, n2 = two_nodes(cluster)
    sc = http_app_service(cluster, n1, replicas=2, server_node=n1 if where == "same-node" else n2)
    victim = sc.servers[0]
    server_argv = [paths.PYTHON, paths.HTTP_APP, "--port", str(HTTP_APP_PORT), "--name",
                   victim.name]
    before = n1.agent.metrics()

    clients = {"keep-alive": load(sc, "keep-alive", reconnect=False),
               "new-connection": load(sc, "new-connection", reconnect=True)}
    for svc in clients.values():
        cluster.cleanup.push(f"stop {svc.name}", svc.stop)
    time.sleep(2)
    victim.servers[HTTP_APP_PORT].stop(sig=signal.SIGKILL)
    time.sleep(8)
    victim.servers[HTTP_APP_PORT] = victim.start_process(
        server_argv, f"web-{HTTP_APP_PORT}-again", "web server", cluster.workdir, cluster.cleanup)

    results = {tag: json.loads(svc.readline(timeout=SECONDS + 60))
               for tag, svc in clients.items()}
    for tag, result in results.items():
        print(f"{where}, {tag}: ok {result['ok']} failed {result['failed']} "
              f"by_pod {result['by_pod']} max latency {result['max_latency_s']} s "
              f"errors {result['errors']}")
    for tag, result in results.items():
        assert result["failed"] == 0 and result["ok"] == result["requests"], (tag, result)
        assert result["max_latency_s"] < CLIENT_TIMEOUT, (tag, result)
        assert result["by_pod"].get(victim.name, 0) > 0, (tag, result)
    # The breaker lets the victim back in once it is up again: its probes back off (1, 2, 4,
    # 8 s, jittered), so the next one may come after the load ended.
    def served_again():
        sc.client.curl(f"http://{sc.address}/", timeout=2)
        with open(victim.servers[HTTP_APP_PORT].log_path, "rb") as f:
            return any(line.startswith("request ")
                       for line in f.read().decode(errors="replace").splitlines())
    procs.wait_until(served_again, 40, interval=0.2, what="the restarted endpoint serving again")
    after = n1.agent.metrics()
    rerouted = after.sum("weft_request_retries_total", reason="connect_failure") - \
        before.sum("weft_request_retries_total", reason="connect_failure")
    print(f"{where}: {rerouted} requests rerouted after a refused connection")
    assert rerouted >= 1, after.text
    assert after.sum("weft_requests_total", reporter="source", response_code="503") == \
        before.sum("weft_requests_total", reporter="source", response_code="503")
