"""`weftctl check` (issue 24) against real agents on simulated nodes: on a healthy two-node mesh
(weft-cni chained by its installer on node1, a meshed pod on each node, a real Prometheus
scraping both agents) every check passes, √ each, exit status 0. Then each fault must be named
by the check it breaks: an issuer that expires in a day warns (‼, still exit 0); an expired
issuer, an issuer from another CA, a conflist without weft-cni, a killed agent (unreachable,
and down in Prometheus) and an agent that is up but not ready (its API server refuses its
token) fail (×, exit 1)."""
import datetime
import json
import os
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from weftsim import certs, netns, procs
from weftsim.prometheus import Prometheus
from weftsim.scenarios import deployment_pods, two_nodes

NS = "e2e"
PROMETHEUS_PORT = 19091
OK, WARN, FAIL = "\u221a", "\u203c", "\u00d7"

# Every check of a full run, by category, in the order they print.
HEALTHY = {
    "weft-node": ["kernel is Linux 6.1 or newer", "kernel exposes its BTF",
                  "cgroup v2 is mounted", "bpffs is mounted", "io_uring is enabled"],
    "weft-cni": ["the node has a CNI network config",
                 "weft-cni is chained after the primary plugin",
                 "the weft-cni binary is installed", "the agent's registration socket is there"],
    "weft-identity": ["the trust anchor is valid for at least 30 days",
                      "the issuer is valid for at least 30 days",
                      "the issuer is signed by the trust anchor",
                      "the agents' workload certificates are valid"],
    "weft-agents": ["the agents serve their admin endpoint", "the agents are ready",
                    "the agents run weftctl's version",
                    "the agents' clocks agree with this machine's"],
    "prometheus": ["Prometheus is ready", "Prometheus scrapes every agent"],
}



def _weftctl(build, node, *args):
    """weftctl run in `node`'s netns through nsenter, keeping the host's mount namespace as the
    agent does (`ip netns exec` mounts a fresh /sys: no cgroup2, no bpffs to see)."""
    return procs.run(netns.nsenter_argv(node.netns, [build.weftctl] + list(args)), check=False,
                     timeout=60)


def _json_check(build, node, *args):
    r = _weftctl(build, node, "check", "-o", "json", *args)
    print(f"check -o json (exit {r.returncode}):", r.stdout, r.stderr)
    return r.returncode, {(c["category"], c["check"]): c for c in json.loads(r.stdout)}


def _scrape_states(server):
    """Prometheus's `up` per instance ("1" or "0")."""
    return {r["metric"]["instance"]: r["value"][1] for r in server.query("up")}


def _write_ca(directory, issuer_not_after, anchor=None):
    """trust-anchor.crt and issuer.crt (a P-256 CA signed by the anchor, path length 0) valid
    until `issuer_not_after`; `anchor` (a certs.KeyPair) signs it, a new one by default but the
    file always holds a fresh anchor: pass another CA's to make an issuer that does not chain."""
    os.makedirs(directory, exist_ok=True)
    written_anchor = certs.new_ca("check anchor", days=3650)
    signer = anchor or written_anchor
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "check issuer")]))
              .issuer_name(signer.cert.subject).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(issuer_not_after - datetime.timedelta(days=30)
                                if issuer_not_after < now else now - datetime.timedelta(minutes=5))
              .not_valid_after(issuer_not_after)
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(signer.key, hashes.SHA256()))
    for name, cert in (("trust-anchor.crt", written_anchor.cert), ("issuer.crt", issuer)):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    return directory


def test_check_passes_on_a_healthy_mesh_and_names_each_fault(build, cluster, tmp_path):
    n1, n2 = two_nodes(cluster)
    conf_dir, bin_dir = n1.install_weft_cni()
    deployment_pods(n1, "client", 1, NS)
    deployment_pods(n2, "web", 1, NS)
    a1 = f"127.0.0.1:{n1.agent.admin_port}"
    a2 = f"{n2.link_addresses[0]}:{n2.agent.admin_port}"
    server = Prometheus(cluster, n1, [a1, a2], PROMETHEUS_PORT)
    procs.wait_until(lambda: _scrape_states(server) == {a1: "1", a2: "1"}, 30,
                     what="prometheus scraping both agents")
    flags = ["--agents", f"{a1},{a2}", "--cni-conf-dir", conf_dir, "--cni-bin-dir", bin_dir,
             "--identity-dir", cluster.mesh_ca.dir,
             "--prometheus", f"{server.url}/"]

    r = _weftctl(build, n1, "check", *flags)
    print("weftctl check:\n" + r.stdout + r.stderr)
    assert r.returncode == 0, r
    expected = []
    for category, checks in HEALTHY.items():
        expected += ([""] if expected else []) + [category, "-" * len(category)]
        expected += [f"{OK} {c}" for c in checks]
    assert r.stdout.splitlines() == expected + ["", f"Status check results are {OK}"], r.stdout
    wide = _weftctl(build, n1, "check", "-o", "wide", *flags)
    assert wide.returncode == 0 and re.search(
        rf"^{OK} the agents' workload certificates are valid\n    \S", wide.stdout, re.M), \
        wide.stdout
    status, checks = _json_check(build, n1, *flags)
    assert status == 0 and [k for k in checks] == [
        (cat, c) for cat, cs in HEALTHY.items() for c in cs], checks
    assert all(c["status"] == "ok" and c["hint"] == "" for c in checks.values()), checks
    certs_check = checks[("weft-identity", "the agents' workload certificates are valid")]
    assert certs_check["detail"].startswith("2 certificates; the soonest expires "), certs_check
    assert checks[("weft-agents", "the agents run weftctl's version")]["detail"] == \
        f"{procs.run([build.weftctl, '--version']).stdout.split()[1]} on 2 agents"

    # An issuer that expires in a day: a warning, with a hint, and still exit status 0.
    soon = str(tmp_path / "soon")
    procs.run([build.weftctl, "ca", "create", "--dir", soon, "--issuer-days", "1"])
    r = _weftctl(build, n1, "check", *flags, "--identity-dir", soon)
    print(r.stdout)
    assert r.returncode == 0, r
    assert f"{WARN} the issuer is valid for at least 30 days\n    {soon}/issuer.crt expires " \
        in r.stdout and "    hint: sign a new issuer" in r.stdout, r.stdout
    assert r.stdout.endswith(f"Status check results are {OK}\n"), r.stdout

    # An expired issuer, and an issuer another anchor signed: errors, exit status 1.
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = _write_ca(str(tmp_path / "expired"), now - datetime.timedelta(hours=1))
    status, checks = _json_check(build, n1, *flags, "--identity-dir", expired)
    issuer = checks[("weft-identity", "the issuer is valid for at least 30 days")]
    assert status == 1 and issuer["status"] == "error", issuer
    assert re.fullmatch(rf"{expired}/issuer.crt expired .* UTC, (60|59) minutes ago",
                        issuer["detail"]), issuer
    assert checks[("weft-identity", "the issuer is signed by the trust anchor")]["status"] == "ok"
    foreign = _write_ca(str(tmp_path / "foreign"), now + datetime.timedelta(days=365),
                        anchor=certs.new_ca("another anchor"))
    status, checks = _json_check(build, n1, *flags, "--identity-dir", foreign)
    chain = checks[("weft-identity", "the issuer is signed by the trust anchor")]
    assert status == 1 and chain["status"] == "error", chain
    assert "does not chain to" in chain["detail"], chain

    # The runtime's conflist without weft-cni (as before the installer ran, or after a primary
    # CNI rewrote it): an error naming the file and its chain.
    bare = str(tmp_path / "net.d")
    os.makedirs(bare)
    with open(os.path.join(conf_dir, "10-primary.conflist"), encoding="utf-8") as f:
        conflist = json.load(f)
    conflist["plugins"] = [p for p in conflist["plugins"] if p["type"] != "weft-cni"]
    with open(os.path.join(bare, "10-primary.conflist"), "w", encoding="utf-8") as f:
        json.dump(conflist, f)
    r = _weftctl(build, n1, "check", *flags, "--cni-conf-dir", bare)
    print(r.stdout)
    assert r.returncode == 1, r
    assert f"{FAIL} weft-cni is chained after the primary plugin\n" \
        f"    {bare}/10-primary.conflist chains no weft-cni: bridge\n" \
        f"    hint: weft-cni install --cni-conf-dir {bare} chains it" in r.stdout, r.stdout
    assert r.stdout.endswith(f"Status check results are {FAIL}\n"), r.stdout

    # node2's agent killed: unreachable, and down for Prometheus once it has scraped again.
    n2.agent.kill()
    procs.wait_until(lambda: _scrape_states(server).get(a2) == "0", 30, what="prometheus seeing node2 down")
    r = _weftctl(build, n1, "check", *flags)
    print(r.stdout)
    assert r.returncode == 1, r
    assert f"{FAIL} the agents serve their admin endpoint\n    {a2}: GET http://{a2}/metrics: " \
        in r.stdout, r.stdout
    assert f"{FAIL} Prometheus scrapes every agent\n    {a2} (job weft-agent) is down\n" \
        in r.stdout, r.stdout
    # node1's agent is still read and judged.
    assert f"{OK} the agents are ready\n" in r.stdout, r.stdout


def test_check_fails_on_an_agent_that_is_up_but_not_ready(build, cluster):
    api = cluster.add_apiserver()
    api.set_tokens(["not-the-agent-token"])  # its lists are refused: never synced, never ready
    node = cluster.add_node("node1", start_agent=False, agent_args=[
        "--discovery", "kubernetes", "--kubeconfig", api.kubeconfig_path])
    node.agent.start(wait_ready=False)
    procs.wait_until(lambda: node.agent.get("/live")[0] == 200, 30, what="agent live")
    agent = f"127.0.0.1:{node.agent.admin_port}"
    r = _weftctl(build, node, "check", "--skip-node", "--agents", agent,
                 "--identity-dir", cluster.mesh_ca.dir)
    print(r.stdout)
    assert r.returncode == 1, r
    assert f"{FAIL} the agents are ready\n    {agent}: GET http://{agent}/ready: status 503: " \
        "not ready\n" \
        "    hint: an agent is ready once" in r.stdout, r.stdout
    assert f"{OK} the agents serve their admin endpoint\n" in r.stdout, r.stdout
    # --skip-node: no node or CNI checks at all.
    assert "weft-node" not in r.stdout and "weft-cni" not in r.stdout, r.stdout


def _agent_pod(name, namespace, ip, phase="Running", labelled=True):
    """A Pod object of weft's DaemonSet as the API server would list it."""
    labels = {"app.kubernetes.io/name": "weft-agent"} if labelled else {"app": "other"}
    status = {"phase": phase}
    if ip:
        status["podIP"] = ip
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": "weft-agent", "image": "weft"}]},
            "status": status}


def test_weftctl_finds_the_agents_from_the_api_server(build, cluster):
    """--kubeconfig instead of --agents: the agents are the Running pods labelled
    app.kubernetes.io/name=weft-agent in weft-system, at their pod IP. Here the API stand-in
    lists the two nodes' agents at their node addresses beside a pending agent pod, an agent
    pod of another namespace and an unlabelled pod, none of which must be used; `check` and
    `stat --direct` read both agents, and once node2's agent is stopped `check` names it."""
    api = cluster.add_apiserver()
    n1, n2 = two_nodes(cluster)
    for pod in (_agent_pod("weft-agent-1", "weft-system", n1.link_addresses[0]),
                _agent_pod("weft-agent-2", "weft-system", n2.link_addresses[0]),
                _agent_pod("weft-agent-3", "weft-system", None, phase="Pending"),
                _agent_pod("weft-agent-x", "other", "192.0.2.1"),
                _agent_pod("something", "weft-system", "192.0.2.2", labelled=False)):
        api.create(pod)
    lookup = ["--kubeconfig", api.kubeconfig_path, "--agent-port", str(n1.agent.admin_port)]
    r = _weftctl(build, n1, "check", "--skip-node", *lookup, "--identity-dir", cluster.mesh_ca.dir)
    print(r.stdout + r.stderr)
    assert r.returncode == 0, r
    r = _weftctl(build, n1, "stat", "deploy", "-A", "--direct", *lookup, "-t", "1s", "-o", "json")
    assert r.returncode == 0 and json.loads(r.stdout) == [], r
    r = _weftctl(build, n1, "check", "--skip-node", *lookup, "--agent-namespace", "nothing",
                 "--identity-dir", cluster.mesh_ca.dir)
    assert r.returncode == 1 and "lists no running pod labelled app.kubernetes.io/name=" \
        "weft-agent in nothing" in r.stderr, r
    n2.agent.stop()
    r = _weftctl(build, n1, "check", "--skip-node", *lookup, "--identity-dir", cluster.mesh_ca.dir)
    print(r.stdout)
    far = f"{n2.link_addresses[0]}:{n2.agent.admin_port}"
    assert r.returncode == 1 and f"{FAIL} the agents serve their admin endpoint\n    {far}: " \
        in r.stdout, r.stdout
