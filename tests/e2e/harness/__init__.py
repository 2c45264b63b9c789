"""End-to-end test harness for weft: simulated nodes and pods on one kernel.

A node is a network namespace with its own weft-agent; a pod is a network namespace wired by
the real CNI plugins (bridge + host-local, then weft-cni) run the way a container runtime runs
them. Everything created carries the run's unique prefix and is removed by `Cleanup`.
"""
