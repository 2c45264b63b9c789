"""Runs a CNI network configuration list the way libcni (containerd, CRI-O) does.

- each plugin gets the conflist's `name` and `cniVersion` injected into its own config;
- ADD runs the plugins in order, each receiving the previous plugin's result as `prevResult`;
  the final result is cached (libcni keeps it under /var/lib/cni/results);
- DEL runs them in reverse order with the cached result as `prevResult`;
- CHECK runs them in order with the cached result as `prevResult`;
- a failing plugin stops the chain and its stdout (a CNI error object) is the chain's error.
containerd also brings up `lo` with the `loopback` plugin in a network of its own.
The plugins run inside the node's netns (nsenter) so the bridge and host veths live there.
"""
import json
import os
import subprocess

from . import netns

LOOPBACK_CONFLIST = {"cniVersion": "1.0.0", "name": "cni-loopback",
                     "plugins": [{"type": "loopback"}]}


class CniError(RuntimeError):
    """A plugin of the chain failed; `result` is its PluginResult."""

    def __init__(self, result):
        super().__init__(f"CNI {result.command} failed in plugin '{result.plugin}' "
                         f"(exit {result.returncode}): stdout={result.stdout!r} "
                         f"stderr={result.stderr!r}")
        self.result = result


class PluginResult:
    """What one plugin execution produced."""

    def __init__(self, command, plugin, returncode, stdout, stderr):
        self.command = command
        self.plugin = plugin
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def ok(self):
        """True when the plugin exited 0."""
        return self.returncode == 0

    def json(self):
        """stdout decoded as JSON (the result, the error object or the version object)."""
        return json.loads(self.stdout)


class PodRef:
    """What a runtime knows about a pod sandbox when it calls CNI."""

    def __init__(self, container_id, netns_name, name, namespace, uid, ifname="eth0"):
        self.container_id = container_id
        self.netns_name = netns_name
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.ifname = ifname

    def cni_args(self):
        """CNI_ARGS as the kubelet's CRI runtimes send it."""
        return (f"IgnoreUnknown=1;K8S_POD_NAMESPACE={self.namespace};K8S_POD_NAME={self.name};"
                f"K8S_POD_INFRA_CONTAINER_ID={self.container_id};K8S_POD_UID={self.uid}")


class CniRuntime:
    """Executes conflists for pods, from inside `exec_netns` (a node's netns name)."""

    def __init__(self, cni_path, exec_netns):
        self.cni_path = list(cni_path)
        self.exec_netns = exec_netns
        self._cache = {}  # (network name, container id, ifname) -> cached ADD result

    def find_plugin(self, plugin_type):
        """The plugin binary for `type`, searched along CNI_PATH like libcni's FindInPath."""
        for d in self.cni_path:
            candidate = os.path.join(d, plugin_type)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        raise FileNotFoundError(f"CNI plugin '{plugin_type}' not found in {self.cni_path}")

    def exec_plugin(self, command, plugin_conf, pod, stdin_bytes=None, ifname=None,
                    plugin_type=None):
        """Runs one plugin once; stdin is plugin_conf as JSON unless stdin_bytes is given
        (then plugin_type names the binary)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": pod.container_id,
            "CNI_NETNS": netns.path(pod.netns_name),
            "CNI_IFNAME": ifname or pod.ifname,
            "CNI_ARGS": pod.cni_args(),
            "CNI_PATH": ":".join(self.cni_path),
        }
        plugin_type = plugin_type or plugin_conf["type"]
        binary = self.find_plugin(plugin_type)
        data = stdin_bytes if stdin_bytes is not None else json.dumps(plugin_conf).encode()
        p = subprocess.run(netns.nsenter_argv(self.exec_netns, [binary]), input=data,
                           capture_output=True, env=env, timeout=60)
        return PluginResult(command, plugin_type, p.returncode,
                            p.stdout.decode(errors="replace"),
                            p.stderr.decode(errors="replace"))

    @staticmethod
    def _plugin_config(conflist, plugin, prev_result):
        conf = dict(plugin)
        conf["name"] = conflist["name"]
        conf["cniVersion"] = conflist["cniVersion"]
        if prev_result is not None:
            conf["prevResult"] = prev_result
        return conf

    def _key(self, conflist, pod, ifname):
        return (conflist["name"], pod.container_id, ifname or pod.ifname)

    def add(self, conflist, pod, ifname=None):
        """ADD through the chain; returns the final result dict or raises CniError."""
        prev = None
        for plugin in conflist["plugins"]:
            r = self.exec_plugin("ADD", self._plugin_config(conflist, plugin, prev), pod,
                                 ifname=ifname)
            if not r.ok:
                raise CniError(r)
            prev = r.json()
        self._cache[self._key(conflist, pod, ifname)] = prev
        return prev

    def check(self, conflist, pod, ifname=None):
        """CHECK through the chain with the cached ADD result; raises CniError on failure."""
        cached = self._cache.get(self._key(conflist, pod, ifname))
        if cached is None:
            raise RuntimeError(f"no cached ADD result for {pod.container_id}")
        for plugin in conflist["plugins"]:
            r = self.exec_plugin("CHECK", self._plugin_config(conflist, plugin, cached), pod,
                                 ifname=ifname)
            if not r.ok:
                raise CniError(r)

    def delete(self, conflist, pod, ifname=None):
        """DEL in reverse order with the cached result; returns the list of failed results.

        Runtimes retry DEL until it succeeds; the harness records failures instead so the
        teardown goes on.
        """
        key = self._key(conflist, pod, ifname)
        cached = self._cache.get(key)
        failures = []
        for plugin in reversed(conflist["plugins"]):
            r = self.exec_plugin("DEL", self._plugin_config(conflist, plugin, cached), pod,
                                 ifname=ifname)
            if not r.ok:
                failures.append(r)
        self._cache.pop(key, None)
        return failures

    def cache_result(self, conflist, pod, result, ifname=None):
        """Stores a result as if ADD had produced it (for CHECK of a pod added elsewhere)."""
        self._cache[self._key(conflist, pod, ifname)] = result

    def add_loopback(self, pod):
        """containerd's own `lo` network."""
        return self.add(LOOPBACK_CONFLIST, pod, ifname="lo")

    def delete_loopback(self, pod):
        """Undoes add_loopback."""
        return self.delete(LOOPBACK_CONFLIST, pod, ifname="lo")
