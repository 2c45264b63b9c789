#!/usr/bin/env bash
# Long fuzzing runs, beyond CI's 45 s per target (tools/test.sh): each libFuzzer target in turn
# until it has executed N inputs, then the inputs that found new coverage are merged into its
# corpus in fuzz/corpus/<name>, and a Markdown table of the totals is printed. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: tools/fuzz-long.sh [--runs N] [--out DIR] [target...]

Runs each libFuzzer target (default: all of fuzz/meson.build's, e.g. h2_session_fuzz or just
h2_session) one after the other, one process on one core, under nice, until it has executed N
inputs (default 10000000). Seeds come from fuzz/corpus/<name>; new inputs go to a scratch corpus
under DIR (default build-fuzz/fuzz-long), and afterwards `-merge=1` adds to fuzz/corpus/<name>
only those that bring new coverage (files over the target's max length are dropped first).
Crash, leak, timeout and OOM reproducers are kept in DIR/<target>/artifacts; logs in DIR/<target>.

Prints a Markdown table (target | executions | seconds | exec/s | corpus files before→after |
crashes), also written to DIR/totals.md. Exits 1 if a target crashed or ran fewer than N inputs.

Builds build-fuzz first when needed (CXX=clang++-16 CC=clang-16 meson setup build-fuzz
-Dfuzz=true). Environment: FUZZ_NICE (default 10), FUZZ_RSS_MB (default 2048).
EOF
}

runs=10000000
out=build-fuzz/fuzz-long
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "tools/fuzz-long.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) targets+=("${1%_fuzz}_fuzz"); shift ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "tools/fuzz-long.sh: --runs wants a number, got '$runs'" >&2; exit 2 ;; esac

# Longest input per target: what its inputs really are plus room, not more (a longer input costs
# more per execution and rarely reaches new code).
declare -A max_len=(
  [registration_fuzz]=4096      # one JSON line; real ones are < 1 KB
  [manifest_fuzz]=8192          # a manifest file: several documents
  [kube_api_fuzz]=8192          # a list page or a few watch lines
  [cni_config_fuzz]=4096        # a network config or conflist
  [tunnel_request_fuzz]=256     # :authority and forwarded
  [http1_parser_fuzz]=4096      # pipelined heads and bodies
  [protocol_detect_fuzz]=4096   # the target stretches inputs past the 8 KiB window itself
  [h2_session_fuzz]=4096        # a client's first flights of frames
)
mapfile -t all < <(sed -n "s/^ *'\([a-z0-9_]*_fuzz\)'.*/\1/p" fuzz/meson.build)
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all[@]}")
fi
for t in "${targets[@]}"; do
  if ! printf '%s\n' "${all[@]}" | grep -qx "$t"; then
    echo "tools/fuzz-long.sh: no target $t in fuzz/meson.build (have: ${all[*]})" >&2
    exit 2
  fi
done

if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++-16 CC=clang-16 meson setup build-fuzz -Dfuzz=true
fi
ninja -C build-fuzz >/dev/null

nice_level=${FUZZ_NICE:-10}
rss=${FUZZ_RSS_MB:-2048}
mkdir -p "$out"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
rows=()
status=0

for t in "${targets[@]}"; do
  name=${t%_fuzz}
  len=${max_len[$t]:-4096}
  dir=$out/$t
  seeds=fuzz/corpus/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$seeds"
  before=$(find "$seeds" -type f | wc -l)
  echo "== $t: $runs runs, max_len $len ($(date '+%H:%M:%S'))"
  start=$(date +%s)
  # No -jobs/-workers: without them libFuzzer is one process on one core (-jobs=1 would fork a
  # child that logs to fuzz-0.log). -timeout: an input slower than 30 s is a finding too.
  rc=0
  nice -n "$nice_level" "build-fuzz/fuzz/$t" -runs="$runs" -max_len="$len" -rss_limit_mb="$rss" \
    -timeout=30 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$seeds" >"$dir/fuzz.log" 2>&1 || rc=$?
  seconds=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n 1)
  execs=${execs:-$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/fuzz.log" | tail -n 1)}
  execs=${execs:-0}
  crashes=$(find "$dir/artifacts" -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes="? (exit $rc)"
  fi

  # Only inputs that reach code the kept corpus does not go in (-use_counters=0: a new edge, not
  # a new hit count of a known one, which would add hundreds of files per run), none longer than
  # the target's max.
  find "$dir/corpus" -type f -size +"${len}"c -delete
  if ! nice -n "$nice_level" "build-fuzz/fuzz/$t" -merge=1 -use_counters=0 -max_len="$len" \
      -rss_limit_mb="$rss" -timeout=30 "$seeds" "$dir/corpus" >"$dir/merge.log" 2>&1; then
    echo "   merge failed: see $dir/merge.log" >&2
    status=1
  fi
  after=$(find "$seeds" -type f | wc -l)
  size_kb=$(( ($(find "$seeds" -type f -printf '%s\n' | awk '{n += $1} END {print n + 0}') + 1023) / 1024 ))
  rate=$(( seconds > 0 ? execs / seconds : execs ))
  rows+=("| $t | $execs | $seconds | $rate | $before→$after | $crashes |")
  echo "   $execs executions in ${seconds}s, corpus $before→$after files (${size_kb} KiB), crashes: $crashes"
  if [ "$size_kb" -gt 2048 ]; then
    echo "   note: $seeds is over 2 MiB; consider minimizing it (-merge=1 into an empty dir)" >&2
  fi
  if [ "$crashes" != 0 ] || [ "$execs" -lt "$runs" ]; then
    status=1
    echo "   FAILED: see $dir/fuzz.log and $dir/artifacts/" >&2
  fi
done

{
  echo "Fuzzing totals, build-fuzz from $commit$dirty, $(date '+%Y-%m-%d'), $runs runs per target:"
  echo
  echo "| target | executions | seconds | exec/s | corpus files before→after | crashes |"
  echo "|---|---:|---:|---:|---|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/totals.md"
exit $status
