#!/usr/bin/env bash
# Installs weft's Debian packages (as root) and builds it into ./build.
# Usage: tools/setup.sh            (idempotent; safe to run again)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "tools/setup.sh: run as root (it installs packages and weft needs root for BPF)" >&2
  exit 1
fi

mapfile -t packages < <(grep -v '^#' tools/packages.txt | grep -v '^$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The manifest checks' npm packages (tools/manifests/package-lock.json), from the npm registry.
# Debian's npm is a separate package; NodeSource's nodejs ships npm and conflicts with it, so
# npm is installed only when missing rather than listed in tools/packages.txt.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
fi
if [ ! -d tools/manifests/node_modules ] || \
    [ tools/manifests/package-lock.json -nt tools/manifests/node_modules ]; then
  echo "== npm ci in tools/manifests"
  npm ci --prefix tools/manifests --no-audit --no-fund
  touch tools/manifests/node_modules
fi

if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build
