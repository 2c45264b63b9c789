#!/usr/bin/env bash
# Installs, builds, and runs every test: unit (doctest), end-to-end (real CNI plugins, netns,
# BPF, real clients), the I/O-free unit tests again under ASan/UBSan, and the libFuzzer targets
# for a bounded time under ASan/UBSan.
# Usage: tools/test.sh   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

status=0
meson test -C build --print-errorlogs --num-processes 1 || status=1

# Sanitizer build: clang-16 with ASan/UBSan. Its unit tests (the libraries without I/O) run
# once, then each libFuzzer target for FUZZ_SECONDS.
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++-16 CC=clang-16 meson setup build-fuzz -Dfuzz=true
fi
ninja -C build-fuzz
meson test -C build-fuzz --print-errorlogs || status=1
fuzz_pass=0
fuzz_fail=0
for target in registration_fuzz manifest_fuzz kube_api_fuzz cni_config_fuzz tunnel_request_fuzz \
    http1_parser_fuzz protocol_detect_fuzz h2_session_fuzz metrics_text_fuzz tap_record_fuzz \
    tap_query_fuzz observe_ndjson_fuzz; do
  corpus=$(mktemp -d)
  seeds=fuzz/corpus/${target%_fuzz}
  echo "== fuzz $target for ${FUZZ_SECONDS}s"
  if build-fuzz/fuzz/$target -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
      "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"build-fuzz/$target.log" 2>&1; then
    fuzz_pass=$((fuzz_pass + 1))
    tail -n 1 "build-fuzz/$target.log"
  else
    fuzz_fail=$((fuzz_fail + 1))
    status=1
    tail -n 40 "build-fuzz/$target.log"
  fi
  rm -rf "$corpus"
done

# One closing line over everything that ran: meson's tests plus the fuzz targets.
python3 - "$fuzz_pass" "$fuzz_fail" <<'PY'
import json, sys
passed, failed = int(sys.argv[1]), int(sys.argv[2])
for log in ("build/meson-logs/testlog.json", "build-fuzz/meson-logs/testlog.json"):
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            if r["result"] == "OK":
                passed += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
