"""A simulated node: a netns with a CNI bridge for its pod CIDR, optionally a weft-agent."""
import ipaddress
import json
import os
import secrets

from . import cleanup as cleanup_mod
from . import cni_runtime, netns, procs
from .agent import Agent
from .pod import Pod

NETWORK_NAME = "weft-e2e"


class Node:
    """Node `index` owns pod CIDR 10.77.<index>.0/24 and bridge <prefix>b<index>."""

    def __init__(self, name, index, build, workdir, cleanup, agent_args=(), with_agent=True,
                 cni_timeout_ms=3000, agent_exec_prefix=(), mesh_ca=None,
                 cert_lifetime_seconds=None):
        self.name = name
        self.index = index
        self.build = build
        self.cleanup = cleanup
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.netns = f"{cleanup_mod.PREFIX}-{name}"
        self.bridge = f"{cleanup_mod.PREFIX}b{index}"
        self.pod_cidr = ipaddress.ip_network(f"10.77.{index}.0/24")
        self.gateway = str(self.pod_cidr.network_address + 1)
        self.ipam_dir = os.path.join(self.workdir, "ipam")
        self.pods = []
        netns.add(self.netns, cleanup)
        netns.sysctl(self.netns, "net.ipv4.ip_forward", 1)
        self.cni = cni_runtime.CniRuntime(build.cni_path, self.netns)
        self.agent = (Agent(self, build, self.workdir, cleanup, agent_args, agent_exec_prefix,
                            mesh_ca=mesh_ca, cert_lifetime_seconds=cert_lifetime_seconds)
                      if with_agent else None)
        self.links = []  # interface names of this node's ends of node links (Cluster.link)
        self.link_addresses = []  # their IPv4 addresses, in the same order
        self.cni_timeout_ms = cni_timeout_ms

    def primary_plugin(self):
        """The primary CNI plugin: bridge + host-local on this node's pod CIDR."""
        return {
            "type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False,
            "hairpinMode": False,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": str(self.pod_cidr),
                                                        "gateway": self.gateway}]],
                     "routes": [{"dst": "0.0.0.0/0"}], "dataDir": self.ipam_dir},
        }

    def weft_plugin(self):
        """Our chained entry."""
        return {"type": "weft-cni", "agentSocket": self.agent.socket if self.agent else
                os.path.join(self.workdir, "cni.sock"), "timeoutMs": self.cni_timeout_ms}

    def install_weft_cni(self, *flags):
        """Chains weft-cni the way the DaemonSet's installer does: the primary conflist (bridge
        + host-local) in this node's own CNI config dir, then `weft-cni install` (with `flags`)
        copies the binary into this node's CNI bin dir and appends its entry. From then on pods
        go through the file it wrote, running the copied binary. Returns (conf_dir, bin_dir)."""
        conf_dir = os.path.join(self.workdir, "net.d")
        bin_dir = os.path.join(self.workdir, "cni-bin")
        os.makedirs(conf_dir, exist_ok=True)
        os.makedirs(bin_dir, exist_ok=True)
        primary = os.path.join(conf_dir, "10-primary.conflist")
        with open(primary, "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": NETWORK_NAME,
                       "plugins": [self.primary_plugin()]}, f, indent=2)
        procs.run([self.build.cni, "install", "--cni-conf-dir", conf_dir, "--cni-bin-dir",
                   bin_dir, "--agent-socket", self.agent.socket, "--wait-seconds", "0", *flags])
        with open(primary) as f:
            installed = json.load(f)
        self.conflist = lambda meshed=True: installed if meshed else {
            **installed, "plugins": installed["plugins"][:-1]}
        self.cni.cni_path = [bin_dir] + self.cni.cni_path
        return conf_dir, bin_dir

    def conflist(self, meshed=True):
        """The node's conflist; meshed=False is the same network without weft-cni (a node
        where weft is not installed for that pod), sharing IPAM so addresses never clash."""
        plugins = [self.primary_plugin()]
        if meshed:
            plugins.append(self.weft_plugin())
        return {"cniVersion": "1.0.0", "name": NETWORK_NAME, "plugins": plugins}

    def new_pod(self, name, namespace="e2e", service_account=None, deployment=None,
                template_hash=None, app=None, meshed=True, uid=None):
        """Creates the pod's netns only (no CNI yet); see add_pod for the usual path."""
        pod = Pod(self, name, namespace, cleanup_mod.unique("p"), service_account or "default",
                  deployment, template_hash or (secrets.token_hex(5) if deployment else None),
                  app or deployment or name, meshed)
        if uid:
            pod.uid = uid
        netns.add(pod.netns, self.cleanup)
        pod.ref = cni_runtime.PodRef(pod.container_id, pod.netns, pod.name, pod.namespace,
                                     pod.uid)
        return pod

    def cni_add(self, pod):
        """Runs loopback then the node's conflist for pod, as containerd does for a sandbox;
        the DEL is registered in cleanup (also run if ADD fails, as runtimes do)."""
        conflist = self.conflist(pod.meshed)
        self.cni.add_loopback(pod.ref)
        self.cleanup.push(f"CNI DEL loopback {pod.name}", self.cni.delete_loopback, pod.ref)
        self.cleanup.push(f"CNI DEL {pod.name}", self._del_quietly, conflist, pod)
        result = self.cni.add(conflist, pod.ref)
        pod.cni_result = result
        pod.ip = result["ips"][0]["address"].split("/")[0]
        self.pods.append(pod)
        return result

    def _del_quietly(self, conflist, pod):
        failures = self.cni.delete(conflist, pod.ref)
        if failures:
            raise RuntimeError("; ".join(f"{f.plugin}: exit {f.returncode} {f.stdout} "
                                         f"{f.stderr}" for f in failures))

    def cni_del(self, pod):
        """DEL through the pod's conflist now (teardown will DEL again; DEL is idempotent)."""
        failures = self.cni.delete(self.conflist(pod.meshed), pod.ref)
        if pod in self.pods:
            self.pods.remove(pod)
        return failures

    def add_pod(self, name, **kwargs):
        """new_pod + cni_add: a running pod with an IP (meshed unless meshed=False)."""
        pod = self.new_pod(name, **kwargs)
        self.cni_add(pod)
        return pod

    def run(self, argv, check=True, timeout=60):
        """Runs argv in the node's netns."""
        return netns.run_in(self.netns, argv, check=check, timeout=timeout)
