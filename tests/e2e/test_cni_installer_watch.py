"""`weft-cni install --watch` on a node whose primary CNI keeps rewriting its config (issue 21,
part 3): 20 rewrites (in place, in two slow halves, atomically, under a new name, as a
single-plugin .conf) leave the file the runtime uses chained exactly once; a pod created
through the rewritten config is meshed; SIGTERM ends the watch with the entry in place."""
import json
import os
import signal
import time

from weftsim import procs
from weftsim.node import NETWORK_NAME


def _primary(conf_dir):
    """(name, parsed) of the file a runtime would use: the first config file by name."""
    names = sorted(n for n in os.listdir(conf_dir)
                   if n.endswith((".conflist", ".conf", ".json")))
    assert names, f"no config in {conf_dir}"
    with open(os.path.join(conf_dir, names[0])) as f:
        try:
            return names[0], json.load(f)
        except json.JSONDecodeError:
            return names[0], None


def _weft_entries(conf_dir):
    count = 0
    for n in os.listdir(conf_dir):
        with open(os.path.join(conf_dir, n)) as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError:
                continue
        count += sum(p.get("type") == "weft-cni" for p in doc.get("plugins", []))
    return count


def _chained(conf_dir, mtu):
    _name, doc = _primary(conf_dir)
    return (doc is not None and doc["plugins"][0].get("mtu") == mtu
            and doc["plugins"][-1]["type"] == "weft-cni" and _weft_entries(conf_dir) == 1)


def _write(path, text, atomic):
    if atomic:
        tmp = path + ".tmp-primary"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    else:
        with open(path, "w") as f:
            f.write(text)


def test_the_installer_keeps_a_rewritten_config_chained_and_pods_meshed(cluster):
    node = cluster.add_node("node1")
    conf_dir = os.path.join(node.workdir, "net.d")
    bin_dir = os.path.join(node.workdir, "cni-bin")
    os.makedirs(conf_dir)
    os.makedirs(bin_dir)

    def primary(mtu):
        return dict(node.primary_plugin(), mtu=mtu)

    def conflist(mtu):
        return json.dumps({"cniVersion": "1.0.0", "name": NETWORK_NAME,
                           "plugins": [primary(mtu)]}, indent=2)

    name = "50-primary.conflist"
    _write(os.path.join(conf_dir, name), conflist(1400), atomic=True)
    installer = procs.Service(
        [cluster.build.cni, "install", "--watch", "--cni-conf-dir", conf_dir, "--cni-bin-dir",
         bin_dir, "--agent-socket", node.agent.socket, "--wait-seconds", "10"],
        os.path.join(node.workdir, "installer.log"), "weft-cni install --watch")
    cluster.cleanup.push("stop weft-cni install --watch", installer.stop)
    procs.wait_until(lambda: _chained(conf_dir, 1400), 10, what="the first install")

    for i in range(1, 21):
        mtu = 1400 + i
        path = os.path.join(conf_dir, name)
        kind = i % 5
        if kind == 0:
            _write(path, conflist(mtu), atomic=False)
        elif kind == 1:
            _write(path, conflist(mtu), atomic=True)
        elif kind == 2:
            name = f"{49 - i}-primary.conflist"
            _write(os.path.join(conf_dir, name), conflist(mtu), atomic=True)
            os.remove(path)
        elif kind == 3:
            os.remove(path)
            single = dict(primary(mtu), cniVersion="1.0.0", name=NETWORK_NAME)
            _write(os.path.join(conf_dir, name.replace(".conflist", ".conf")),
                   json.dumps(single), atomic=False)
        else:
            text = conflist(mtu)
            _write(path, text[:len(text) // 2], atomic=False)
            time.sleep(0.3)
            _write(path, text, atomic=False)
        procs.wait_until(lambda m=mtu: _chained(conf_dir, m), 5,
                         what=f"rewrite {i} (kind {kind}) chained once")

    # A pod created through the config as the primary left it is meshed.
    final = _primary(conf_dir)[1]
    node.conflist = lambda meshed=True: final
    pod = node.add_pod("client")
    assert [p for p in node.agent.pods() if p["containerId"] == pod.container_id], \
        "the pod added through the watched config is not meshed"

    installer.send_signal(signal.SIGTERM)
    assert installer.proc.wait(timeout=10) == 0, installer.log()
    assert _chained(conf_dir, 1420), "stopping removed the entry"
    assert "cni_watch_stopped" in installer.log()
