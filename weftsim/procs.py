"""Processes the harness starts: run-to-completion commands and long-lived services.

Long-lived processes get their own session (process group) so teardown can signal exactly
what this run started, by PID, never by name.
"""
import ctypes
import os
import signal
import subprocess
import time

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child between fork and exec: if the harness is killed outright (SIGKILL,
    # OOM) the kernel sends SIGTERM to what it started, so nothing it launched lingers.
    # The setting survives execve (ip netns exec, nsenter, taskset all exec in place).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class CommandError(RuntimeError):
    """A command exited non-zero; carries argv, status and both outputs for the test log."""

    def __init__(self, argv, returncode, stdout, stderr):
        super().__init__(
            f"command failed ({returncode}): {' '.join(argv)}\n"
            f"--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(argv, check=True, input=None, timeout=60, env=None):
    """Runs argv to completion and returns the CompletedProcess (text mode)."""
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                          env=env)
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def wait_until(predicate, timeout, interval=0.1, what="condition"):
    """Polls predicate() until it returns a truthy value; returns it or raises TimeoutError.

    Exceptions raised by predicate count as "not yet"; the last one is reported on timeout.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - polled conditions fail in many ways until ready
            last_error = e
        if time.monotonic() >= deadline:
            detail = f": last error: {last_error}" if last_error else ""
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


class Service:
    """A long-lived process in its own process group, with stdout/stderr in a log file."""

    def __init__(self, argv, log_path, name, env=None, stdout_pipe=False):
        self.argv = argv
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log, start_new_session=True, env=env, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid

    def alive(self):
        """True while the process has not exited."""
        return self.proc.poll() is None

    def readline(self, timeout):
        """Reads one stdout line (stdout_pipe=True only); raises TimeoutError or on exit."""
        import select
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no output line within {timeout}s\n{self.log()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError(f"{self.name} exited (status {self.proc.wait()}) "
                                   f"before printing a line\n{self.log()}")
            if chunk == b"\n":
                return buf.decode()
            buf += chunk

    def send_signal(self, sig):
        """Sends sig to the process itself (not its group)."""
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, timeout=10.0, sig=signal.SIGTERM):
        """Signals the process group, waits, then SIGKILLs the group; returns the exit status."""
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        else:
            # The leader is gone but children it left in the group may not be.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode

    def accepted_peers(self):
        """Peer IPs from the "accept <ip> <port>" lines a pod_server.py wrote to its log."""
        with open(self.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return [line.split()[1] for line in lines if line.startswith("accept ")]

    def log(self, tail_bytes=20000):
        """The tail of the process's log file."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - tail_bytes))
                return f.read().decode(errors="replace")
        except OSError as e:
            return f"<no log: {e}>"
