"""One weft-agent process serving a simulated node, and the hand-over to its successor.

It runs in the node's netns through nsenter (keeping the host mount namespace, so its bpffs
pins are visible to later runs and to `weft-agent uninstall`), with every path under the
test's temp dir and its bpffs pins under /sys/fs/bpf/<run prefix>-<node>.

A hand-over (issue 22, `Agent.hand_over`) starts a second weft-agent on the same node with the
same registration socket, state file, bpffs dir, manifests dir and identity files but the other
admin port (both agents share the node netns: 15020 and 15021 alternate), waits for its /ready,
SIGTERMs the predecessor and waits for it to drain and exit; the Agent then stands for the
successor. Each process of a hand-over logs to its own file (agent.log, then agent-2.log, ...).
"""
import json
import os
import re
import signal
import subprocess
import time

from . import metrics, netns, procs

ADMIN_PORT = 15020
# The admin ports a node's agents alternate between across hand-overs (they share the netns).
HANDOVER_ADMIN_PORTS = (15020, 15021)
# --drain-seconds of the agents the harness starts, unless a test sets Agent.drain_seconds or
# passes its own flag: after SIGTERM an agent with connections still open waits at most this
# long, so teardown stays fast.
DEFAULT_DRAIN_SECONDS = 2

class HandOver:
    """What one Agent.hand_over did: PIDs, binary, the monotonic times of its steps (successor
    spawned, its /ready seen, SIGTERM sent, predecessor gone), the predecessor's exit status."""

    def __init__(self, node, old_pid, new_pid, binary, admin_port, log_path, started):
        self.node = node
        self.old_pid = old_pid
        self.new_pid = new_pid
        self.binary = binary
        self.admin_port = admin_port
        self.log_path = log_path
        self.started = started
        self.ready = None
        self.sigterm = None
        self.exited = None
        self.status = None
        # From the predecessor's `agent.drained ms=N complete=BOOL` line, when it logged one.
        self.agent_drain_ms = None
        self.drain_complete = None

    @property
    def ready_s(self):
        """Successor spawned -> its /ready answered 200."""
        return self.ready - self.started

    @property
    def drain_s(self):
        """SIGTERM -> the predecessor exited."""
        return self.exited - self.sigterm

    @property
    def window(self):
        """(start, end) of the hand-over on CLOCK_MONOTONIC: successor spawned -> predecessor
        exited."""
        return (self.started, self.exited)

    def as_dict(self):
        return {"node": self.node, "old_pid": self.old_pid, "new_pid": self.new_pid,
                "binary": self.binary, "admin_port": self.admin_port,
                "started": self.started, "ready": self.ready, "sigterm": self.sigterm,
                "exited": self.exited, "status": self.status,
                "agent_drain_ms": self.agent_drain_ms, "drain_complete": self.drain_complete,
                "ready_s": round(self.ready_s, 3), "drain_s": round(self.drain_s, 3)}

    def __repr__(self):
        agent = ("" if self.agent_drain_ms is None else
                 f" (agent.drained ms={self.agent_drain_ms} complete={self.drain_complete})")
        return (f"HandOver({self.node}: pid {self.old_pid} -> {self.new_pid}, ready in "
                f"{self.ready_s:.2f}s, exited {self.drain_s:.2f}s after SIGTERM{agent}, "
                f"status {self.status})")


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
        self.log_paths = [self.log_path]  # one per process of a hand-over, oldest first
        self.service = None
        self.config_file = None
        self.starts = 0
        # The admin port of the running process (hand-overs alternate HANDOVER_ADMIN_PORTS).
        self.admin_port = ADMIN_PORT
        self._config_admin_port = None
        # The binary of the running process: None is build.agent (a hand-over may change it).
        self.binary = None
        self.drain_seconds = DEFAULT_DRAIN_SECONDS
        self.handovers = []
        os.makedirs(self.manifests_dir, exist_ok=True)
        # Registered before the first start: even a half-started agent leaves nothing pinned.
        cleanup.push(f"uninstall {self.bpffs_dir}", self.uninstall)

    def settings(self, admin_port=None):
        """The agent's settings as (flag name, value) pairs; extra_args override them."""
        out = [("node-name", self.node.name),
                ("registration-socket", self.socket),
                ("bpffs-dir", self.bpffs_dir),
                ("state-file", self.state_file),
                ("manifests-dir", self.manifests_dir),
                ("admin-address", f"0.0.0.0:{admin_port or self.admin_port}"),
                ("log-level", "debug")]
        if self.mesh_ca is not None:
            out += self.mesh_ca.agent_settings()
        if self.cert_lifetime_seconds is not None:
            out.append(("cert-lifetime-seconds", str(self.cert_lifetime_seconds)))
        if self.drain_seconds is not None:
            out.append(("drain-seconds", str(self.drain_seconds)))
        return out

    def argv(self, binary=None, admin_port=None):
        """The agent's command line: flags, or --config FILE after write_config() (plus
        --admin-address when admin_port differs from the file's). binary: another weft-agent
        (default: the running one's, else build.agent); admin_port: default the running one's."""
        binary = binary or self.binary or self.build.agent
        port = admin_port or self.admin_port
        if self.config_file:
            extra = []
            if port != self._config_admin_port:
                extra = ["--admin-address", f"0.0.0.0:{port}"]
            return [binary, "--config", self.config_file] + extra + self.extra_args
        flags = []
        overridden = {a[2:] for a in self.extra_args if a.startswith("--")}
        for name, value in self.settings(port):
            if name not in overridden:
                flags += [f"--{name}", value]
        return [binary] + flags + self.extra_args

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
        self._config_admin_port = self.admin_port
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

    def wait_ready(self, timeout=30, service=None, port=None, log_path=None):
        """Polls /ready until 200; fails early (with the log) if the agent exits. service,
        port, log_path: another process than the running one (a hand-over's successor)."""
        service = service or self.service

        def log():
            return _tail(log_path) if log_path else self.log()

        def ready():
            if not service.alive():
                raise AgentExited(f"weft-agent exited with status {service.proc.wait()} "
                                  f"before /ready\n{log()}")
            status, _ = self.get("/ready", port=port)
            return status == 200
        try:
            procs.wait_until(ready, timeout, interval=0.2,
                             what=f"{self.node.name} agent /ready on :{port or self.admin_port}")
        except AgentExited:
            raise
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n--- agent log ---\n{log()}") from None

    @staticmethod
    def _stop_quietly(service):
        service.stop(timeout=10)

    def effective_drain_seconds(self):
        """The --drain-seconds the agent runs with: extra_args' if they set it, else
        drain_seconds, else the agent's default (25)."""
        args = self.extra_args
        for i, a in enumerate(args):
            if a == "--drain-seconds" and i + 1 < len(args):
                return float(args[i + 1])
            if a.startswith("--drain-seconds="):
                return float(a.split("=", 1)[1])
        return 25 if self.drain_seconds is None else self.drain_seconds

    def stop(self, timeout=None):
        """SIGTERM and wait (default: the drain period + 13 s, at least 15 s); returns the exit
        status (the contract says clean exit = 0)."""
        if timeout is None:
            timeout = max(15, self.effective_drain_seconds() + 13)
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

    def hand_over(self, binary=None, timeout=30, drain_timeout=None):
        """Replaces the running agent the way a DaemonSet with maxSurge 1 does (issue 22):
        starts a successor (binary: another weft-agent, e.g. a "new version"; default the
        running one's) with the same settings but the other admin port, waits for its /ready
        (failing early if it exits), SIGTERMs the predecessor and waits for it to exit
        (drain_timeout, default drain_seconds + 15 s; past it the predecessor is killed and
        this raises). From then on this Agent is the successor (pid, get(), log_path).
        Returns the HandOver (times, exit status). The predecessor's log stays in
        log_paths."""
        old = self.service
        if old is None or not old.alive():
            raise RuntimeError(f"{self.node.name}: no running agent to hand over from")
        if any(a == "--admin-address" or a.startswith("--admin-address=")
               for a in self.extra_args):
            raise RuntimeError("hand_over picks the admin port: extra_args must not set it")
        binary = binary or self.binary or self.build.agent
        port = [p for p in HANDOVER_ADMIN_PORTS if p != self.admin_port][0]
        self.starts += 1
        log_path = os.path.join(self.workdir, f"agent-{self.starts}.log")
        argv = self.argv(binary=binary, admin_port=port)
        with open(log_path, "ab") as f:
            f.write(f"==== harness: start #{self.starts} (hand-over from pid {old.pid}): "
                    f"{' '.join(argv)}\n".encode())
        started = time.monotonic()
        new = procs.Service(netns.nsenter_argv(self.node.netns, self.exec_prefix + argv),
                            log_path, f"weft-agent[{self.node.name}]#{self.starts}")
        self.cleanup.push(f"stop agent pid {new.pid}", self._stop_quietly, new)
        self.log_paths.append(log_path)
        record = HandOver(self.node.name, old.pid, new.pid, binary, port, log_path, started)
        try:
            self.wait_ready(timeout, service=new, port=port, log_path=log_path)
        except BaseException:
            # The predecessor stays in charge; the successor is stopped (its log is kept).
            new.stop(timeout=10)
            raise
        record.ready = time.monotonic()
        old_log = self.log_path
        self.service, self.admin_port, self.binary, self.log_path = new, port, binary, log_path
        self.handovers.append(record)
        if not old.alive():
            status = old.stop()
            raise AgentExited(f"{self.node.name}: the predecessor (pid {old.pid}) exited with "
                              f"status {status} during the hand-over, before SIGTERM"
                              f"\n{_tail(old_log)}")
        old.send_signal(signal.SIGTERM)
        record.sigterm = time.monotonic()
        limit = drain_timeout if drain_timeout is not None else self.effective_drain_seconds() + 15
        try:
            old.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            old.stop(timeout=1, sig=signal.SIGKILL)
            raise RuntimeError(f"{self.node.name}: the predecessor (pid {old.pid}) did not exit "
                               f"within {limit}s of SIGTERM\n{_tail(old_log)}") from None
        record.exited = time.monotonic()
        record.status = old.stop()
        drained = re.findall(r"agent\.drained ms=(\d+) complete=(\w+)", _tail(old_log, 20000))
        if drained:
            record.agent_drain_ms, record.drain_complete = int(drained[-1][0]), drained[-1][1]
        return record

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

    def get(self, path, timeout=5, port=None):
        """GET http://127.0.0.1:<admin port><path> from inside the node netns (the running
        agent's port unless port is given): (status, body)."""
        r = procs.run(netns.exec_argv(self.node.netns, [
            "curl", "-sS", "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}",
            f"http://127.0.0.1:{port or self.admin_port}{path}"]), check=False,
            timeout=timeout + 5)
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
        """The tail of the agent's stderr log (all starts); after hand-overs, the tail of each
        process's log, oldest first, labelled (the running one's gets tail_bytes, each earlier
        one a quarter of it, the last four only)."""
        if len(self.log_paths) == 1:
            return _tail(self.log_path, tail_bytes)
        parts = []
        for path in self.log_paths[-5:]:
            size = tail_bytes if path == self.log_path else tail_bytes // 4
            parts.append(f"---- {os.path.basename(path)} ----\n{_tail(path, size)}")
        return "\n".join(parts)

    def log_size(self):
        """Current length of the running process's log file (an offset for log_since)."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        """Everything the running process's log file got after offset."""
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


def _tail(path, tail_bytes=30000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail_bytes))
            return f.read().decode(errors="replace")
    except OSError as e:
        return f"<no agent log: {e}>"


class AgentExited(RuntimeError):
    """The agent process died while the harness waited for it."""


class ManifestRejected(RuntimeError):
    """The agent logged manifest.rejected for a file the harness waited for."""
