#!/usr/bin/env bash
# weft demo: two simulated nodes (netns, each with its own weft-agent), a client pod and a
# Service `echo` backed by one server pod on each node, all wired by the real CNI chain (see
# tools/demo.py). Prints which pod answers each request and both agents' metrics.
# Usage (as root): tools/demo.sh [--once] [--interval SECONDS] [--no-setup]
#   --once      10 requests, metrics, clean up, exit (0 when both pods answered) - CI smoke
#   --no-setup  skip tools/setup.sh (packages + build) and use ./build as it is
# Ctrl-C stops the loop and removes everything the demo created.
set -euo pipefail
cd "$(dirname "$0")/.."
# The weftsim package (simulated nodes and pods) is imported from the repository root.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

setup=1
args=()
for a in "$@"; do
  if [ "$a" = "--no-setup" ]; then setup=0; else args+=("$a"); fi
done
if [ "$setup" = 1 ]; then
  tools/setup.sh
fi
exec /usr/bin/python3 tools/demo.py "${args[@]+"${args[@]}"}"
