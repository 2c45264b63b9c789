#!/usr/bin/env bash
# weft demo: one simulated node (a netns with its own weft-agent), a client pod and a Service
# `echo` backed by two server pods, all wired by the real CNI chain. Prints the agent config,
# the manifests, which pod answers each request, and the agent's weft_tcp_* metrics.
# Usage (as root): tools/demo.sh [--once] [--interval SECONDS] [--no-setup]
#   --once      10 requests, metrics, clean up, exit (0 when both pods answered) - CI smoke
#   --no-setup  skip tools/setup.sh (packages + build) and use ./build as it is
# Ctrl-C stops the loop and removes everything the demo created.
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
args=()
for a in "$@"; do
  if [ "$a" = "--no-setup" ]; then setup=0; else args+=("$a"); fi
done
if [ "$setup" = 1 ]; then
  tools/setup.sh
fi
exec /usr/bin/python3 tools/demo.py "${args[@]+"${args[@]}"}"
