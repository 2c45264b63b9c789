"""Bad input never crashes anything: malformed CNI stdin gets a CNI error object, a malformed
manifest is reported by file name while the last good state keeps serving."""
import json

from weftsim import procs
from weftsim.scenarios import echo_service

BAD_STDIN = [
    b"",
    b"not json at all",
    b"[1, 2, 3]",
    b'{"cniVersion": "1.0.0", "name": ',
    b'{"cniVersion": "1.0.0", "name": "n", "type": "weft-cni"}',  # chained, no prevResult
    b'{"cniVersion": "1.0.0", "name": "n", "type": "weft-cni", "prevResult": 7}',
    b'{"cniVersion": "9.9.9", "name": "n", "type": "weft-cni", "prevResult": {}}',
    b"[" * 10000 + b"]" * 10000,
    b'{"cniVersion": "1.0.0", "name": "n", "type": "weft-cni", "timeoutMs": "soon"}',
    b"\xff\xfe\x00garbage",
]


def test_malformed_cni_stdin_gives_a_cni_error_object(cluster):
    node = cluster.add_node("node1")
    pod = node.new_pod("victim")
    for command in ("ADD", "CHECK"):
        for stdin in BAD_STDIN:
            r = node.cni.exec_plugin(command, None, pod.ref, stdin_bytes=stdin,
                                     plugin_type="weft-cni")
            what = f"{command} with stdin {stdin[:60]!r}"
            assert r.returncode == 1, f"{what}: exit {r.returncode}, stderr {r.stderr}"
            error = json.loads(r.stdout)
            assert isinstance(error, dict), what
            assert isinstance(error.get("code"), int) and error["code"] > 0, f"{what}: {error}"
            assert isinstance(error.get("msg"), str) and error["msg"], f"{what}: {error}"
    for stdin in BAD_STDIN:
        r = node.cni.exec_plugin("DEL", None, pod.ref, stdin_bytes=stdin,
                                 plugin_type="weft-cni")
        assert r.returncode == 0, f"DEL must always succeed; stdin {stdin[:60]!r}: {r.stdout}"
    status, _ = node.agent.get("/ready")
    assert status == 200


def _reported(log, filename):
    """A log line naming the file and saying something went wrong with it."""
    words = ("reject", "error", "invalid", "fail", "bad", "warn")
    return any(filename in line and any(w in line.lower() for w in words)
               for line in log.splitlines())


def _both_endpoints_answer(sc, tries=20):
    seen = set()
    for _ in range(tries):
        answer = json.loads(sc.client.curl(sc.url))
        seen.add(answer["pod"])
    return seen == {s.name for s in sc.servers}


def test_malformed_manifest_is_reported_and_the_last_good_state_kept(cluster):
    node = cluster.add_node("node1")
    sc = echo_service(cluster, node)
    assert _both_endpoints_answer(sc)

    # The Service's own file turns bad, and a new bad file appears.
    offset = node.agent.log_size()
    cluster.publish_text("echo.json", '{"apiVersion": "v1", "kind": "List", "items": [')
    cluster.publish_text("broken.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
                                        "spec:\n  ports:\n  - port: eighty\n")
    for name in ("echo.json", "broken.yaml"):
        procs.wait_until(lambda n=name: _reported(node.agent.log_since(offset), n), 10,
                         what=f"the agent log to report {name} as bad")
    assert node.agent.service.alive()
    status, _ = node.agent.get("/ready")
    assert status == 200
    assert _both_endpoints_answer(sc)
