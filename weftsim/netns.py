"""Network namespaces (`ip netns`), veth links and commands run inside a namespace."""
import contextlib
import ctypes
import os
import socket

from . import procs

_CLONE_NEWNET = 0x40000000

NETNS_DIR = "/var/run/netns"


def path(name):
    """The bind-mount path of a named netns (what CNI_NETNS and nsenter take)."""
    return os.path.join(NETNS_DIR, name)


def add(name, cleanup):
    """Creates netns `name` with lo up; its deletion is registered in cleanup."""
    procs.run(["ip", "netns", "add", name])
    cleanup.push(f"ip netns del {name}", delete, name)
    procs.run(["ip", "-n", name, "link", "set", "lo", "up"])


def delete(name):
    """Deletes a netns; links inside it go with it (veth peers elsewhere too)."""
    if os.path.exists(path(name)):
        procs.run(["ip", "netns", "del", name])


def exec_argv(name, argv):
    """argv run inside netns `name` via `ip netns exec` (a private mount ns; fine for apps)."""
    return ["ip", "netns", "exec", name] + list(argv)


def nsenter_argv(name, argv):
    """argv run inside netns `name` via nsenter, keeping the host mount namespace (bpffs)."""
    return ["nsenter", f"--net={path(name)}"] + list(argv)


def run_in(name, argv, check=True, input=None, timeout=60):
    """Runs argv inside netns `name` to completion."""
    return procs.run(exec_argv(name, argv), check=check, input=input, timeout=timeout)


def ip(name, *args, check=True):
    """`ip -n name ...` (json output is the caller's business)."""
    return procs.run(["ip", "-n", name] + list(args), check=check)


def sysctl(name, key, value):
    """Sets a sysctl inside netns `name` (net.* sysctls are per namespace)."""
    procs.run(nsenter_argv(name, ["sysctl", "-q", "-w", f"{key}={value}"]))


def veth_between(ns_a, if_a, addr_a, ns_b, if_b, addr_b, cleanup):
    """A veth pair joining two namespaces, each end addressed (CIDR) and up."""
    procs.run(["ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
               "netns", ns_b])
    # Deleting either netns removes the pair; this covers a failure before that.
    cleanup.push(f"ip link del {if_a}", lambda: ip(ns_a, "link", "del", if_a, check=False))
    ip(ns_a, "addr", "add", addr_a, "dev", if_a)
    ip(ns_b, "addr", "add", addr_b, "dev", if_b)
    ip(ns_a, "link", "set", if_a, "up")
    ip(ns_b, "link", "set", if_b, "up")


@contextlib.contextmanager
def entered(name):
    """Runs the body with the calling thread in netns `name` (setns), then returns it to
    its own: sockets created inside stay in `name` (e.g. a test's HTTP client)."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(path(name), os.O_RDONLY)
    try:
        if libc.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
        try:
            yield
        finally:
            if libc.setns(own, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the harness netns")
    finally:
        os.close(target)
        os.close(own)


def connect_in(name, address, timeout=10):
    """A TCP socket connected to address (host, port) from inside netns `name`."""
    with entered(name):
        return socket.create_connection(address, timeout=timeout)
