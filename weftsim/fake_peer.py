"""A fake tunnel peer (servers/tls_peer.py) run inside a pod with a chosen certificate:
a server standing in for a pod's :15008, or a client dialling one."""
import json

from . import paths, procs

TUNNEL_PORT = 15008


class FakeServer:
    """tls_peer.py server in `pod`; events() are the JSON lines it logged (handshakes,
    CONNECTs)."""

    def __init__(self, pod, cert, key, ca, workdir, cleanup, port=TUNNEL_PORT):
        self.pod = pod
        self.port = port
        argv = pod.exec_argv([paths.PYTHON, paths.TLS_PEER, "server", "--port", str(port),
                              "--cert", cert, "--key", key, "--ca", ca])
        self.service = procs.Service(argv, f"{workdir}/{pod.netns}-tls-peer-{port}.log",
                                     f"fake tunnel server in {pod.name}", stdout_pipe=True)
        cleanup.push(f"stop {self.service.name}", self.service.stop)
        line = self.service.readline(timeout=15)
        if not line.startswith("ready"):
            raise RuntimeError(f"{self.service.name} printed {line!r}\n{self.service.log()}")

    def events(self, kind=None):
        """The logged events (optionally only those with event == kind)."""
        out = []
        with open(self.service.log_path, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                if line.startswith("{"):
                    ev = json.loads(line)
                    if kind is None or ev.get("event") == kind:
                        out.append(ev)
        return out


def dial(pod, host, cert, key, ca, port=TUNNEL_PORT, connect=None, send=0, marker=None,
         timeout=10, headers=()):
    """tls_peer.py client from inside `pod`; returns its JSON result (see tls_peer.py).
    headers: extra CONNECT request headers, (name, value) pairs."""
    argv = [paths.PYTHON, paths.TLS_PEER, "client", "--host", host, "--port", str(port),
            "--cert", cert, "--key", key, "--ca", ca, "--timeout", str(timeout)]
    if connect:
        argv += ["--connect", connect, "--send", str(send)]
        if marker:
            argv += ["--marker", marker]
        for name, value in headers:
            argv += ["--header", f"{name}={value}"]
    r = pod.run(argv, timeout=timeout + 30)
    return json.loads(r.stdout)
