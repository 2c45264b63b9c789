"""A set of simulated nodes on one kernel, joined by veth links, plus manifest publishing."""
import os
import time

from . import cleanup as cleanup_mod
from . import manifests, netns
from .kube_api import KubeApiServer
from .mesh_ca import MeshCA
from .node import Node


API_ADDRESS = "10.79.0.1"


class Cluster:
    """Nodes are numbered from 1 (pod CIDR 10.77.<n>.0/24); node links use 10.78.<k>.0/24;
    the control plane (add_apiserver) reaches node n over 10.79.<n>.0/24."""

    def __init__(self, build, workdir, cleanup):
        self.build = build
        self.workdir = workdir
        self.cleanup = cleanup
        self.nodes = []
        self._links = 0
        self._mesh_ca = None
        self.apiserver = None
        self.control_plane_netns = None

    @property
    def mesh_ca(self):
        """The cluster's mesh CA, made with `weftctl ca create` in the workdir on first use
        (every agent of the cluster gets the same trust anchor and issuer)."""
        if self._mesh_ca is None:
            self._mesh_ca = MeshCA(self.build, os.path.join(self.workdir, "mesh-ca"))
        return self._mesh_ca

    def add_node(self, name, agent_args=(), with_agent=True, start_agent=True,
                 cert_lifetime_seconds=None, **kwargs):
        """Creates node `name` (netns, forwarding on) and starts its agent unless told not to;
        cert_lifetime_seconds becomes the agent's --cert-lifetime-seconds."""
        node = Node(name, len(self.nodes) + 1, self.build, self.workdir, self.cleanup,
                    agent_args=agent_args, with_agent=with_agent,
                    mesh_ca=self.mesh_ca if with_agent else None,
                    cert_lifetime_seconds=cert_lifetime_seconds, **kwargs)
        self.nodes.append(node)
        if self.apiserver is not None:
            self._link_control_plane(node)
        if with_agent and start_agent:
            node.agent.start()
        return node

    def link(self, a, b):
        """A veth between nodes a and b, with routes to each other's pod CIDR."""
        k = self._links
        self._links += 1
        if_a = f"{cleanup_mod.PREFIX}l{k}a"
        if_b = f"{cleanup_mod.PREFIX}l{k}b"
        addr_a, addr_b = f"10.78.{k}.1", f"10.78.{k}.2"
        netns.veth_between(a.netns, if_a, f"{addr_a}/24", b.netns, if_b, f"{addr_b}/24",
                           self.cleanup)
        a.links.append(if_a)
        b.links.append(if_b)
        a.link_addresses.append(addr_a)
        b.link_addresses.append(addr_b)
        netns.ip(a.netns, "route", "add", str(b.pod_cidr), "via", addr_b)
        netns.ip(b.netns, "route", "add", str(a.pod_cidr), "via", addr_a)

    def add_apiserver(self, **kwargs):
        """Starts the Kubernetes API stand-in (kube_api.KubeApiServer, kwargs passed on) in
        its own netns <prefix>-cp<k>, listening on https://10.79.0.1:6443, linked to every node
        (also those added later): veth 10.79.<n>.1 (control plane) / 10.79.<n>.2 (node), and
        each node routes 10.79.0.1 through its link. Agents in a node netns use
        `apiserver.kubeconfig_path`."""
        self.control_plane_netns = cleanup_mod.unique("cp")
        netns.add(self.control_plane_netns, self.cleanup)
        netns.ip(self.control_plane_netns, "addr", "add", f"{API_ADDRESS}/32", "dev", "lo")
        for node in self.nodes:
            self._link_control_plane(node)
        self.apiserver = KubeApiServer(self.workdir, self.cleanup, self.control_plane_netns,
                                       API_ADDRESS, **kwargs)
        return self.apiserver

    def _link_control_plane(self, node):
        """A veth between the control plane and node, with the node's route to the API."""
        if_cp = f"{cleanup_mod.PREFIX}c{node.index}a"
        if_node = f"{cleanup_mod.PREFIX}c{node.index}b"
        cp_addr, node_addr = f"10.79.{node.index}.1", f"10.79.{node.index}.2"
        netns.veth_between(self.control_plane_netns, if_cp, f"{cp_addr}/24", node.netns,
                           if_node, f"{node_addr}/24", self.cleanup)
        netns.ip(node.netns, "route", "add", f"{API_ADDRESS}/32", "via", cp_addr)

    def publish(self, filename, objects, nodes=None):
        """Writes objects to every node's manifests dir (all nodes see the whole cluster, as
        an API watch would)."""
        for node in nodes or self.nodes:
            if node.agent is not None:
                manifests.write(node.agent.manifests_dir, filename, objects)

    def publish_and_wait(self, filename, objects, nodes=None, timeout=15, settle=0.5,
                         allow_ignored=False):
        """publish() then waits until every node's agent loaded the file and rebuilt its
        view (Agent.wait_for_manifest: a rejection fails at once with the agent's reason),
        then `settle` seconds more for the workers to take the new view. Unless
        allow_ignored, an agent that skipped any of the objects as a kind it does not read
        (`ignored=N` in its manifest.loaded line) fails it too (ManifestIgnored)."""
        targets = [n for n in (nodes or self.nodes) if n.agent is not None]
        offsets = {n.name: n.agent.log_size() for n in targets}
        self.publish(filename, objects, nodes=targets)
        for node in targets:
            ignored = node.agent.wait_for_manifest(filename, since=offsets[node.name],
                                                   timeout=timeout)
            if ignored and not allow_ignored:
                kinds = sorted({o.get("kind", "?") for o in objects})
                raise ManifestIgnored(
                    f"{node.name}: the agent loaded {filename} but ignored {ignored} of its "
                    f"{len(objects)} objects (kinds {kinds}): it does not read that kind")
        time.sleep(settle)

    def publish_text(self, filename, text, nodes=None):
        """Writes raw text (e.g. a malformed file) to the nodes' manifests dirs."""
        for node in nodes or self.nodes:
            if node.agent is not None:
                manifests.write_text(node.agent.manifests_dir, filename, text)

    def agent_logs(self):
        """Every agent's log, labelled, for failure reports."""
        out = []
        for node in self.nodes:
            if node.agent is not None:
                out.append(f"===== agent log of {node.name} ({node.agent.log_path}) =====\n"
                           f"{node.agent.log()}")
        return "\n".join(out)


class ManifestIgnored(RuntimeError):
    """An agent loaded a published file but skipped objects in it as unknown kinds."""


def publish_service(cluster, name, namespace, cluster_ip, ports, endpoints, extra_pods=(),
                    filename=None, nodes=None):
    """Service + EndpointSlice (endpoints = harness Pods) + Pod objects of endpoints and
    extra_pods, in one file named after the service; ports = [(name, port, targetPort)]."""
    objs = [manifests.service(name, namespace, cluster_ip, ports),
            manifests.endpoint_slice(name, namespace, endpoints,
                                     [(pname, target) for pname, _, target in ports])]
    objs += [manifests.pod_object(p) for p in list(endpoints) + list(extra_pods)]
    cluster.publish(filename or f"{name}.json", objs, nodes=nodes)
