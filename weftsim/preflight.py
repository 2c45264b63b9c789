"""Checks that the machine can run the e2e tests; each problem is one clear sentence."""
import os
import shutil
import subprocess

from . import paths


def problems(build=None, need_binaries=True):
    """Everything missing for the e2e tests (root, netns, BPF, tools, binaries)."""
    out = []
    if os.geteuid() != 0:
        out.append("must run as root (netns, veth, BPF and bpffs need CAP_SYS_ADMIN/NET_ADMIN/BPF)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        out.append("kernel has no BTF (/sys/kernel/btf/vmlinux missing); weft's BPF needs it")
    try:
        with open("/proc/mounts") as f:
            if not any(line.split()[2] == "cgroup2" for line in f if len(line.split()) > 2):
                out.append("no cgroup v2 mount in /proc/mounts; weft attaches connect hooks there")
    except OSError as e:
        out.append(f"cannot read /proc/mounts: {e}")
    for tool, package in (("ip", "iproute2"), ("ss", "iproute2"), ("nsenter", "util-linux"),
                          ("curl", "curl"), ("tcpdump", "tcpdump"), ("tshark", "tshark")):
        if shutil.which(tool) is None:
            out.append(f"'{tool}' not found in PATH (apt-get install {package})")
    if not os.path.exists(paths.PYTHON):
        out.append(f"{paths.PYTHON} not found")
    else:
        # The pod-side scripts run under Debian's python: its modules are what count.
        for module, package in (("cryptography", "python3-cryptography"), ("h2", "python3-h2"),
                                ("grpc", "python3-grpcio")):
            r = subprocess.run([paths.PYTHON, "-c", f"import {module}"], capture_output=True,
                               text=True, check=False)
            if r.returncode != 0:
                out.append(f"{paths.PYTHON} cannot import {module} "
                           f"(apt-get install {package}): {r.stderr.strip()[-200:]}")
    for plugin in ("bridge", "host-local", "loopback"):
        if not os.path.exists(os.path.join(paths.SYSTEM_CNI_DIR, plugin)):
            out.append(f"CNI plugin {paths.SYSTEM_CNI_DIR}/{plugin} missing "
                       "(apt-get install containernetworking-plugins)")
    if need_binaries:
        out.extend((build or paths.Build()).missing())
    return out
