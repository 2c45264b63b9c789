#!/usr/bin/env bash
# Runs tools/manifests/check.mjs (validate | agent) after checking that what it needs is here, so
# a missing tool fails with its name instead of a stack trace. Registered in tests/meson.build
# (suite `manifests`). kubectl is not a Debian bookworm package in a usable version (bookworm's
# kubernetes-client is 1.20, whose kustomize predates the layout used here): install kubectl
# >= 1.27 yourself. node and npm are Debian packages (tools/packages.txt); tools/setup.sh runs
# `npm ci` here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "check.sh: node is missing (apt-get install nodejs)" >&2; exit 1; }
command -v kubectl >/dev/null || {
  echo "check.sh: kubectl is missing: install kubectl >= 1.27 (not a usable Debian package)" >&2
  exit 1
}
[ -d "$here/node_modules/kubernetes-models" ] || {
  echo "check.sh: $here/node_modules is missing: run tools/setup.sh (npm ci --prefix tools/manifests)" >&2
  exit 1
}
exec node "$here/check.mjs" "$@"
