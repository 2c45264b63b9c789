"""One weft-agent process serving a simulated node.

It runs in the node's netns through nsenter (keeping the host mount namespace, so its bpffs
pins are visible to later runs and to `weft-agent uninstall`), with every path under the
test's temp dir and its bpffs pins under /sys/fs/bpf/<run prefix>-<node>.
"""
import json
import os
import re
import signal
import time

from . import metrics, netns, procs

ADMIN_PORT = 15020


class Agent:
    """Start/stop/restart one agent; read its admin API; its log is kept for failures."""

    def __init__(self, node, build, workdir, cleanup, extra_args=(), exec_prefix=(),
                 mesh_ca=None, cert_lifetime_seconds=None):
        self.node = node
        # The cluster's MeshCA (weftctl ca create): its files are passed as the agent's
        # --trust-anchor-file/--issuer-cert-file/--issuer-key-file.
        self.mesh_ca = mesh_ca
        self.cert_lifetime_seconds = cert_lifetime_seconds
        # e.g. ["taskset", "-c", "1"]: exec'd between nsenter and the agent, so the PID
        # stays the agent's.
        self.exec_prefix = list(exec_prefix)
        self.build = build
        self.workdir = workdir
        self.cleanup = cleanup
        self.extra_args = list(extra_args)
        self.socket = os.path.join(workdir, "cni.sock")
        self.state_file = os.path.join(workdir, "state.json")
        self.manifests_dir = os.path.join(workdir, "manifests")
        self.log_path = os.path.join(workdir, "agent.log")
        self.bpffs_dir = f"/sys/fs/bpf/{node.netns}"
        self.service = None
        self.config_file = None
        self.starts = 0
        os.makedirs(self.manifests_dir, exist_ok=True)
        # Registered before the first start: even a half-started agent leaves nothing pinned.
        cleanup.push(f"uninstall {self.bpffs_dir}", self.uninstall)

    def settings(self):
        """The agent's settings as (flag name, value) pairs; extra_args override them."""
        out = [("node-name", self.node.name),
                ("registration-socket", self.socket),
                ("bpffs-dir", self.bpffs_dir),
                ("state-file", self.state_file),
                ("manifests-dir", self.manifests_dir),
                ("admin-address", f"0.0.0.0:{ADMIN_PORT}"),
                ("log-level", "debug")]
        if self.mesh_ca is not None:
            out += self.mesh_ca.agent_settings()
        if self.cert_lifetime_seconds is not None:
            out.append(("cert-lifetime-seconds", str(self.cert_lifetime_seconds)))
        return out

    def argv(self):
        """The agent's command line: flags, or --config FILE after write_config()."""
        if self.config_file:
            return [self.build.agent, "--config", self.config_file] + self.extra_args
        flags = []
        overridden = {a[2:] for a in self.extra_args if a.startswith("--")}
        for name, value in self.settings():
            if name not in overridden:
                flags += [f"--{name}", value]
        return [self.build.agent] + flags + self.extra_args

    def write_config(self, log_level="info"):
        """Writes settings() as the YAML config file (keys = flag names in snake_case) and
        makes start() use `--config FILE`; returns the YAML text."""
        lines = ["# weft-agent config written by weftsim (every key is also a flag)"]
        for name, value in self.settings():
            if name == "log-level":
                value = log_level
            lines.append(f"{name.replace('-', '_')}: {json.dumps(value)}")
        text = "\n".join(lines) + "\n"
        self.config_file = os.path.join(self.workdir, "agent.yaml")
        with open(self.config_file, "w") as f:
            f.write(text)
        return text

    def start(self, wait_ready=True, timeout=30):
        """Starts the agent in the node netns and waits for /ready (200)."""
        if self.service is not None and self.service.alive():
            raise RuntimeError("agent already running")
        self.starts += 1
        with open(self.log_path, "ab") as f:
            f.write(f"==== harness: start #{self.starts}: {' '.join(self.argv())}\n".encode())
        self.service = procs.Service(netns.nsenter_argv(self.node.netns,
                                                        self.exec_prefix + self.argv()),
                                     self.log_path, f"weft-agent[{self.node.name}]")
        self.cleanup.push(f"stop agent pid {self.service.pid}", self._stop_quietly,
                          self.service)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        """Polls /ready until 200; fails early (with the log) if the agent exits."""
        def ready():
            if not self.service.alive():
                raise AgentExited(f"weft-agent exited with status {self.service.proc.wait()} "
                                  f"before /ready\n{self.log()}")
            status, _ = self.get("/ready")
            return status == 200
        try:
            procs.wait_until(ready, timeout, interval=0.2, what=f"{self.node.name} agent /ready")
        except AgentExited:
            raise
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n--- agent log ---\n{self.log()}") from None

    @staticmethod
    def _stop_quietly(service):
        service.stop(timeout=10)

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit status (the contract says clean exit = 0)."""
        service, self.service = self.service, None
        if service is None:
            return None
        service.send_signal(signal.SIGTERM)
        try:
            service.proc.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - a hung agent is killed and reported
            service.stop(timeout=1, sig=signal.SIGKILL)
            raise RuntimeError(f"weft-agent did not exit within {timeout}s of SIGTERM\n"
                               f"{self.log()}")
        status = service.stop()
        return status

    def kill(self):
        """SIGKILL, as a crash: none of the agent's own shutdown runs. Returns the status."""
        service, self.service = self.service, None
        service.send_signal(signal.SIGKILL)
        service.proc.wait(timeout=10)
        return service.stop()

    def restart(self, timeout=30):
        """stop() then start(); returns the old exit status."""
        status = self.stop()
        self.start(timeout=timeout)
        return status

    @property
    def pid(self):
        """PID of the agent process (nsenter execs it, so this is weft-agent itself)."""
        return self.service.pid if self.service else None

    def uninstall(self):
        """`weft-agent uninstall --bpffs-dir DIR`, then removes the directory if left over."""
        if self.service is not None:
            self.stop()
        if os.path.exists(self.build.agent):
            r = procs.run(netns.nsenter_argv(self.node.netns, [self.build.agent, "uninstall",
                                                               "--bpffs-dir", self.bpffs_dir])
                          if os.path.exists(netns.path(self.node.netns))
                          else [self.build.agent, "uninstall", "--bpffs-dir", self.bpffs_dir],
                          check=False)
            if r.returncode != 0:
                raise RuntimeError(f"weft-agent uninstall failed ({r.returncode}): "
                                   f"{r.stdout}{r.stderr}")
        if os.path.isdir(self.bpffs_dir):
            import shutil
            shutil.rmtree(self.bpffs_dir, ignore_errors=True)

    def get(self, path, timeout=5):
        """GET http://127.0.0.1:15020<path> from inside the node netns: (status, body)."""
        r = procs.run(netns.exec_argv(self.node.netns, [
            "curl", "-sS", "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}",
            f"http://127.0.0.1:{ADMIN_PORT}{path}"]), check=False, timeout=timeout + 5)
        if r.returncode != 0:
            raise ConnectionError(f"curl {path}: exit {r.returncode}: {r.stderr.strip()}")
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def pods(self):
        """The agent's /pods list (JSON)."""
        status, body = self.get("/pods")
        if status != 200:
            raise RuntimeError(f"/pods answered {status}: {body}")
        return json.loads(body)

    def pod_ids(self):
        """containerIds the agent lists as meshed."""
        return {p["containerId"] for p in self.pods()}

    def metrics(self):
        """One /metrics scrape, parsed."""
        status, body = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}: {body[:500]}")
        return metrics.Metrics(body)

    def log(self, tail_bytes=30000):
        """The tail of the agent's stderr log (all starts)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - tail_bytes))
                return f.read().decode(errors="replace")
        except OSError as e:
            return f"<no agent log: {e}>"

    def log_size(self):
        """Current length of the log file (an offset for log_since)."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        """Everything the agent logged after offset."""
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_for_manifest(self, filename, since=0, timeout=15):
        """Waits until the agent logged `manifest.loaded file=<filename>` after log offset
        `since`, followed by the `manifest.world` line of the rebuild that took it in; raises
        ManifestRejected with the agent's reason if it logged `manifest.rejected` for that
        file instead (a rejected file keeps its previous version, if any, in force). Returns
        the `ignored=` count of that line (documents of kinds the agent does not read)."""
        name = re.escape(filename)
        loaded = re.compile(rf'manifest\.loaded file="?{name}"?[ \n](?:.*ignored=(\d+))?')
        rejected = re.compile(rf'manifest\.rejected file="?{name}"? reason="?(.*)$', re.M)

        def done():
            if not self.service or not self.service.alive():
                raise AgentExited(f"weft-agent is not running\n{self.log()}")
            text = self.log_since(since)
            m = loaded.search(text)
            if m and "manifest.world" in text[m.end():]:
                return [int(m.group(1) or 0)]
            bad = rejected.search(text)
            if bad:
                raise ManifestRejected(f"{self.node.name}: the agent rejected {filename}: "
                                       f"{bad.group(1)}")
            return False
        deadline = time.monotonic() + timeout
        while True:
            result = done()
            if result:
                return result[0]
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.node.name}: no manifest.loaded for {filename} "
                                   f"within {timeout}s\n{self.log_since(since)[-5000:]}")
            time.sleep(0.1)

    def cpu_ticks(self):
        """utime + stime of the agent (all threads), in clock ticks, from /proc/PID/stat."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state); utime/stime are fields 14/15.
        return int(fields[11]) + int(fields[12])

    def rss_kib(self):
        """VmRSS of the agent in KiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")


class AgentExited(RuntimeError):
    """The agent process died while the harness waited for it."""


class ManifestRejected(RuntimeError):
    """The agent logged manifest.rejected for a file the harness waited for."""
