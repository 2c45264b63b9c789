"""weftsim: simulated Kubernetes nodes and pods on one Linux kernel, meshed by the real weft.

A node is a network namespace with its own weft-agent; a pod is a network namespace wired by
the real CNI plugins (bridge + host-local, then weft-cni) run the way a container runtime runs
them. Everything created carries the run's unique prefix and is removed by `Cleanup`. The
end-to-end tests (tests/e2e), the benchmarks (bench/) and the demo (tools/demo.py) are built on
it; `servers/` holds the programs it runs inside pods (by path with /usr/bin/python3, never
imported). See weftsim/README.md for the modules.

Import path: weftsim is a top-level package at the repository root, used in place (no install;
Debian's pip refuses system installs and the Debian python3-grpcio / -h2 / -cryptography of
/usr/bin/python3 are needed). Whoever runs Python puts the repository root on the import path:
tests/e2e/pytest.ini with `pythonpath = ../..` (so `meson test` and a hand-run pytest), and the
shell entry points bench/run.sh and tools/demo.sh with PYTHONPATH=<repository root>. By hand:
`PYTHONPATH=$PWD /usr/bin/python3 bench/l4_bench.py ...` from the repository root.
"""
