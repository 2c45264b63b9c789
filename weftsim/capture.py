"""Packet captures on a node's end of a node link: tcpdump inside the node netns writing a
pcap into the test's workdir (stopped by PID, removed in cleanup), read back with tshark and
as raw bytes."""
import os
import signal

from . import cleanup as cleanup_mod
from . import netns, procs

# Bounds so a capture can never fill the disk: packets are cut to SNAPLEN bytes and tcpdump
# stops after MAX_PACKETS (at most ~100 MB; tests capture a few small flows, not bulk
# transfers).
SNAPLEN = 2048
MAX_PACKETS = 50000


class Capture:
    """tcpdump -i <iface> in netns `ns_name`; use as a context manager or start()/stop()."""

    def __init__(self, ns_name, iface, workdir, cleanup, bpf_filter="tcp"):
        self.ns_name = ns_name
        self.iface = iface
        self.cleanup = cleanup
        self.filter = bpf_filter
        self.path = os.path.join(workdir, f"{cleanup_mod.unique('cap')}-{iface}.pcap")
        self.service = None

    def start(self, timeout=10):
        """Starts tcpdump and waits until it reports that it is listening."""
        argv = netns.nsenter_argv(self.ns_name, [
            # -Z root: keep root so the pcap can be written into the (0700) workdir;
            # --immediate-mode: packets reach the file at once, not when a buffer fills.
            "tcpdump", "-n", "-Z", "root", "--immediate-mode", "-i", self.iface,
            "-s", str(SNAPLEN), "-c", str(MAX_PACKETS), "-U", "-w", self.path, self.filter])
        self.cleanup.push(f"rm {self.path}", self._remove)
        self.service = procs.Service(argv, self.path + ".log", f"tcpdump on {self.iface}")
        self.cleanup.push(f"stop tcpdump pid {self.service.pid}", self.service.stop)
        procs.wait_until(self._listening, timeout, interval=0.1,
                         what=f"tcpdump listening on {self.iface}")
        return self

    def _listening(self):
        if not self.service.alive():
            raise RuntimeError(f"tcpdump exited: {self.service.log()}")
        return "listening on" in self.service.log()

    def stop(self):
        """SIGINT (tcpdump flushes and reports its counts), then waits; returns the log."""
        if self.service is not None and self.service.alive():
            self.service.send_signal(signal.SIGINT)
            try:
                self.service.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - a stuck tcpdump is killed by stop() below
                pass
        if self.service is not None:
            self.service.stop()
        return self.service.log() if self.service else ""

    def _remove(self):
        for p in (self.path, self.path + ".log"):
            if os.path.exists(p):
                os.remove(p)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def raw(self):
        """The pcap file's bytes (headers and payloads as captured)."""
        with open(self.path, "rb") as f:
            return f.read()

    def contains(self, marker):
        """True when the marker's bytes occur anywhere in the pcap."""
        if isinstance(marker, str):
            marker = marker.encode()
        return marker in self.raw()

    def tshark(self, display_filter, fields, decode_as=("tcp.port==15008,tls",)):
        """Rows (lists of field strings) of `tshark -r` for display_filter; every port in
        decode_as is dissected as the given protocol."""
        argv = ["tshark", "-n", "-r", self.path]
        for d in decode_as:
            argv += ["-d", d]
        argv += ["-Y", display_filter, "-T", "fields", "-E", "separator=|",
                 "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in fields:
            argv += ["-e", f]
        r = procs.run(argv, timeout=120)
        return [line.split("|") for line in r.stdout.splitlines() if line.strip()]

    def count(self, display_filter, decode_as=("tcp.port==15008,tls",)):
        """Number of frames matching display_filter."""
        return len(self.tshark(display_filter, ["frame.number"], decode_as))

    def tls_summary(self, port=15008):
        """What tshark sees of TLS on `port`: ClientHello ALPN lists, ServerHello
        supported_versions (the TLS 1.3 selection), and the number of application data
        records, plus the TCP conversations (src, dst) that carried ClientHellos."""
        decode = (f"tcp.port=={port},tls",)
        port_filter = f"tcp.port=={port}"
        hellos = self.tshark(f"{port_filter} && tls.handshake.type==1",
                             ["ip.src", "ip.dst", "tls.handshake.extensions_alpn_str"], decode)
        servers = self.tshark(f"{port_filter} && tls.handshake.type==2",
                              ["tls.handshake.extensions.supported_version"], decode)
        return {
            "client_hellos": len(hellos),
            "client_alpn": [row[2] for row in hellos],
            "client_conversations": sorted({(row[0], row[1]) for row in hellos}),
            "server_hellos": len(servers),
            "server_versions": [row[0] for row in servers],
            "app_data_records": self.count(f"{port_filter} && tls.app_data", decode),
        }
