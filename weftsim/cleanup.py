"""A LIFO stack of undo actions, and the per-run naming prefix.

Every object the harness creates (netns, link, bpffs dir, process, temp dir) registers its undo
here right after it exists, so a failure at any later step still removes it. `sweep()` is the
last resort (atexit, signals): it removes whatever still carries this run's prefix.
"""
import itertools
import os
import shutil
import sys
import traceback

from . import procs

# Unique per run: names of netns, links and bpffs dirs start with it (interface names are
# limited to 15 bytes, so it stays short: "wt" + pid).
PREFIX = f"wt{os.getpid()}"
_counter = itertools.count()


def unique(tag):
    """A short unique name with the run prefix, e.g. wt1234-n3 (tag 'n')."""
    return f"{PREFIX}-{tag}{next(_counter)}"


# Every Cleanup ever made, so an atexit/signal handler can finish the ones a crash left.
_ALL = []


class Cleanup:
    """Runs registered undo actions in reverse order; never raises from run()."""

    def __init__(self):
        self._actions = []
        _ALL.append(self)

    def push(self, description, fn, *args, **kwargs):
        """Registers fn(*args, **kwargs) to undo something just created."""
        self._actions.append((description, fn, args, kwargs))

    def run(self):
        """Runs every action (last registered first); returns the list of failures."""
        failures = []
        while self._actions:
            description, fn, args, kwargs = self._actions.pop()
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - keep undoing the rest
                failures.append(f"cleanup '{description}' failed:\n{traceback.format_exc()}")
        for f in failures:
            print(f, file=sys.stderr)
        return failures


def sweep():
    """Runs every pending cleanup, then removes every netns and bpffs dir that still carries
    this run's prefix (the last resort for atexit and signal handlers)."""
    for c in reversed(_ALL):
        c.run()
    listed = procs.run(["ip", "netns", "list"], check=False).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX + "-"):
            procs.run(["ip", "netns", "del", name], check=False)
    bpffs_root = "/sys/fs/bpf"
    try:
        entries = os.listdir(bpffs_root)
    except OSError:
        entries = []
    for entry in entries:
        if entry.startswith(PREFIX + "-"):
            path = os.path.join(bpffs_root, entry)
            shutil.rmtree(path, ignore_errors=True)
