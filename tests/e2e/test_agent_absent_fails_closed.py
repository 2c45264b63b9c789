"""No crash, restart or upgrade widens access (issue 19, item 1): while a node's agent is absent
(kill -9), tc ingress drops plaintext SYNs to a pod whose MeshPolicy refuses plaintext (STRICT,
or an allow list a plaintext client cannot match) instead of passing them to the app; a pod
whose policy admits every plaintext client keeps getting them meanwhile (the mode the agent
last published, in the pinned weft_pods map); policy edits while the agent is down change
nothing before it is back; the restarted agent refuses plaintext again and mTLS works."""
import time

from weftsim import manifests, procs
from weftsim.metrics import delta
from weftsim.scenarios import deployment_pods, two_nodes

HTTP = 8080
WINDOW = 3.0  # seconds of attempts while the agent is down


def refused(pod, url):
    """True when curl got no answer at all: no body, a failed exit."""
    r = pod.curl(url, timeout=1, check=False)
    return r.returncode != 0 and r.stdout == ""


def attempts_answered(pod, url, seconds=WINDOW):
    """Plaintext attempts for `seconds`, one after another; the bodies that came back."""
    answered = []
    tries = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = pod.curl(url, timeout=1, check=False)
        tries += 1
        if r.returncode == 0 or r.stdout:
            answered.append(r.stdout)
    return tries, answered


def test_strict_pods_refuse_plaintext_while_their_agent_is_down(cluster):
    n1, n2 = two_nodes(cluster)
    ns = "e2e"
    strict = deployment_pods(n2, "strict", 1, ns)[0]
    listed = deployment_pods(n2, "listed", 1, ns)[0]
    open_ = deployment_pods(n2, "open", 1, ns)[0]
    meshed = deployment_pods(n1, "client", 1, ns)[0]
    plain = deployment_pods(n1, "plain", 1, ns, meshed=False)[0]
    for pod in (strict, listed, open_):
        pod.start_server("http", HTTP, cluster.workdir, cluster.cleanup)
    cluster.publish("pods.json", [manifests.pod_object(p)
                                  for p in (strict, listed, open_, meshed, plain)])

    def publish_policies(strict_mode):
        cluster.publish("policy.json", [
            manifests.mesh_policy("strict-only", ns, mode=strict_mode,
                                  match_labels={"app": "strict"}),
            # PERMISSIVE, but only the meshed client's principal may call: plaintext cannot.
            manifests.mesh_policy("listed-only", ns, match_labels={"app": "listed"},
                                  principals=[manifests.principal(ns, "client")])])
    publish_policies("STRICT")
    url = {p.app: f"http://{p.ip}:{HTTP}/" for p in (strict, listed, open_)}

    # Controls with the agent running: mTLS gets through, plaintext is refused by the agent.
    for app in ("strict", "listed"):
        procs.wait_until(lambda: meshed.curl(url[app], timeout=2), 15,
                         what=f"the meshed client reaching {app}")
        procs.wait_until(lambda: refused(plain, url[app]), 15,
                         what=f"{app} refusing plaintext")
    assert plain.curl(url["open"])

    assert n2.agent.kill() == -9
    for app in ("strict", "listed"):
        tries, answered = attempts_answered(plain, url[app])
        assert answered == [], \
            f"{len(answered)} of {tries} plaintext attempts reached {app} with its agent down: " \
            f"{answered[:2]}"
        assert tries >= 2
    # The chosen behaviour for a pod open to every plaintext client: it stays reachable.
    tries, answered = attempts_answered(plain, url["open"], seconds=1)
    assert len(answered) == tries, f"the PERMISSIVE pod was cut off: {tries} tries, {answered}"
    # Meshed clients fail closed as well: the tunnel's :15008 has no listener.
    assert refused(meshed, url["strict"])

    # STRICT -> PERMISSIVE -> STRICT while the agent is down: the last published mode holds.
    publish_policies("PERMISSIVE")
    time.sleep(0.5)
    assert attempts_answered(plain, url["strict"], seconds=1.5)[1] == []
    publish_policies("STRICT")
    assert attempts_answered(plain, url["strict"], seconds=1.5)[1] == []

    n2.agent.start()
    before = n2.agent.metrics()
    # tc's drops were counted in the pinned stats map, which outlived the agent.
    assert before.sum("weft_redirect_events_total", reason="inbound_fail_closed") >= 6, \
        before.text
    for app in ("strict", "listed"):
        procs.wait_until(lambda: meshed.curl(url[app], timeout=2), 15,
                         what=f"mTLS to {app} working again after the restart")
        tries, answered = attempts_answered(plain, url[app], seconds=1.5)
        assert answered == [], f"plaintext reached {app} after the restart: {answered}"
    after = n2.agent.metrics()
    # Refused by the agent again, not only by tc.
    assert delta(before, after, "weft_tcp_connections_denied_total",
                 reason="plaintext_in_strict", destination_workload="strict") >= 1, after.text
    assert delta(before, after, "weft_tcp_connections_denied_total",
                 reason="not_allowed", destination_workload="listed") >= 1, after.text
    assert plain.curl(url["open"])
