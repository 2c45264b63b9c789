"""Fixtures for weft's end-to-end tests (run as root: netns, veth, BPF).

Every test gets a fresh `Cluster` with its own temp dir; everything it creates is undone in
the fixture's finalizer, and — if the process is interrupted or killed by a timeout
(SIGTERM/SIGINT/SIGHUP) — by the atexit sweep. Agent logs are printed when a test fails.
"""
import atexit
import os
import shutil
import signal
import sys
import tempfile

import pytest

from weftsim import cleanup as cleanup_mod
from weftsim import paths, preflight, procs
from weftsim.cluster import Cluster

atexit.register(cleanup_mod.sweep)


def _terminate(signum, _frame):
    # meson's timeout sends SIGTERM: turn it into an exception so finalizers run, then the
    # atexit sweep catches anything left.
    raise KeyboardInterrupt(f"signal {signum}")


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _terminate)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item so fixtures know whether the test failed."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def build():
    """The build under test; fails (never skips) with every missing prerequisite named."""
    b = paths.Build()
    missing = preflight.problems(b)
    if missing:
        pytest.fail("e2e prerequisites missing:\n  - " + "\n  - ".join(missing),
                    pytrace=False)
    return b


@pytest.fixture(scope="session")
def machine():
    """Root, netns, BPF, the CNI plugins (not weft's binaries); fails when missing."""
    missing = preflight.problems(need_binaries=False)
    if missing:
        pytest.fail("e2e prerequisites missing:\n  - " + "\n  - ".join(missing),
                    pytrace=False)
    return paths.Build()


@pytest.fixture
def cluster(build, request):
    """An empty Cluster (add nodes with cluster.add_node); torn down after the test."""
    yield from _cluster(build, request)


@pytest.fixture
def bare_cluster(machine, request):
    """A Cluster for topology-only tests (no weft binaries needed: add nodes with
    with_agent=False)."""
    yield from _cluster(machine, request)


def _cluster(build, request):
    workdir = tempfile.mkdtemp(prefix=f"{cleanup_mod.PREFIX}-")
    cleanup = cleanup_mod.Cleanup()
    cleanup.push(f"rm -rf {workdir}", shutil.rmtree, workdir, True)
    c = Cluster(build, workdir, cleanup)
    try:
        yield c
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            sys.stderr.write(c.agent_logs() + "\n")
        failures = cleanup.run()
        leftovers = _leftovers()
        if failures or leftovers:
            pytest.fail("teardown incomplete:\n" + "\n".join(failures + leftovers),
                        pytrace=False)


def _leftovers():
    """Names with this run's prefix that teardown should have removed."""
    out = []
    listed = procs.run(["ip", "netns", "list"], check=False).stdout
    for line in listed.splitlines():
        if line.startswith(cleanup_mod.PREFIX + "-"):
            out.append(f"netns left behind: {line.split()[0]}")
    if os.path.isdir("/sys/fs/bpf"):
        for entry in os.listdir("/sys/fs/bpf"):
            if entry.startswith(cleanup_mod.PREFIX + "-"):
                out.append(f"bpffs dir left behind: /sys/fs/bpf/{entry}")
    return out
