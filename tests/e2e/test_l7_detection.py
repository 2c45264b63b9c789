"""Protocol detection on connections to a Service without appProtocol: a client that speaks
first is read for HTTP at once; a server-speaks-first protocol (the client sends nothing) is
carried as TCP after the agent's detection wait, and works."""
import json
import time

from weftsim import paths
from weftsim.scenarios import command_service

DETECTION_MS = 300
BANNER_PORT = 7000
SERVICE_PORT = 7001

def test_server_speaks_first_falls_back_to_tcp_after_the_detection_wait(cluster):
    node = cluster.add_node(
        "node1", agent_args=["--protocol-detection-timeout-ms", str(DETECTION_MS)])
    sc = command_service(
        cluster, node, "greeter",
        lambda pod, i: [paths.PYTHON, paths.POD_SERVER, "--mode", "banner", "--port",
                        str(BANNER_PORT), "--name", pod.name],
        SERVICE_PORT, BANNER_PORT, replicas=1)
    deadline = time.monotonic() + 15
    while True:  # the agent picks the manifests up asynchronously
        r = sc.client.run([paths.PYTHON, paths.POD_CLIENT, "banner", sc.cluster_ip,
                           str(SERVICE_PORT)], check=False, timeout=30)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["banner"] == f"hello from {sc.servers[0].name}\n", answer
    assert answer["echo"] == "ping", answer
    # The greeting only comes once the agent gave up waiting for the client and connected.
    assert DETECTION_MS / 1000 * 0.9 <= answer["waited"] < DETECTION_MS / 1000 + 1.0, answer
