#!/usr/bin/env bash
# weft L4 benchmark: direct vs weft (pod IP) vs weft (Service), HTTP/1.1 (wrk) and bulk TCP
# (iperf3), 3 interleaved rounds, median; writes bench/results/<UTC date>-l4.md.
# Usage (as root, after tools/setup.sh built ./build):
#   bench/run.sh [--duration 10] [--rounds 3] [--connections 32] [--build-dir build] [--no-save]
# Exit status: 0 when the targets are met, 1 when one is missed, 2 when prerequisites are.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/l4_bench.py "$@"
