#!/usr/bin/env bash
# Builds the weft image without network access from a local build, as root: weft-agent and
# weft-cni (debug sections stripped), exactly the shared libraries they load (from ldd) and the
# dynamic loader, in one layer `from scratch`, written as an OCI archive. It has the runtime
# layout of image/Containerfile (binaries in /usr/local/bin, entrypoint weft-agent) without its
# Debian base.
#
#   tools/build-image.sh [--build-dir build] [--output build/weft-image.oci.tar]
#
# The image is named weft:<version of weft-agent>. buildah runs with vfs storage in a temporary
# directory that is removed afterwards: nothing is left in the host's container storage.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

build_dir=build
output=
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --output) output=${2:?--output needs a file}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-image.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
output=${output:-$build_dir/weft-image.oci.tar}

binaries=("$build_dir/agent/weft-agent" "$build_dir/cni/weft-cni")
for b in "${binaries[@]}"; do
  [ -x "$b" ] || { echo "build-image.sh: $b is missing: build first (tools/setup.sh)" >&2; exit 2; }
done
command -v buildah >/dev/null || { echo "build-image.sh: buildah is missing (apt-get install buildah)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "build-image.sh: run as root (buildah with vfs storage)" >&2; exit 2; }

version=$("${binaries[0]}" --version | awk '{print $2}')
[ -n "$version" ] || { echo "build-image.sh: weft-agent --version printed no version" >&2; exit 1; }

work=$(mktemp -d /tmp/weft-image.XXXXXX)
container=
cleanup() {
  if [ -n "$container" ]; then
    buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs rm "$container" \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
buildah_() {
  buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"
}

# The root filesystem: each binary and every library the loader resolves for it, at the path
# the loader found it (links followed, so the file itself is copied under its soname).
rootfs="$work/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
for b in "${binaries[@]}"; do
  # Without debug sections (the build's are for gdb on the build host); symbols stay.
  objcopy --strip-debug "$b" "$rootfs/usr/local/bin/$(basename "$b")"
  chmod 0755 "$rootfs/usr/local/bin/$(basename "$b")"
  while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done < <(ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
done

container=$(buildah_ from scratch)
buildah_ copy "$container" "$rootfs" / >/dev/null
buildah_ config \
  --entrypoint '["/usr/local/bin/weft-agent"]' \
  --env PATH=/usr/local/bin \
  --label org.opencontainers.image.title=weft \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  "$container"
mkdir -p "$(dirname "$output")"
rm -f "$output"
buildah_ commit --format oci --quiet "$container" "oci-archive:$output:weft:$version" >/dev/null
echo "$output weft:$version ($(du -h "$output" | cut -f1))"
