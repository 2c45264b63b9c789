#!/usr/bin/env bash
# Fails if C/C++ sources use an API listed in tools/banned-apis.txt (each entry has its reason).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS=$'\t' read -r pattern _ reason; do
  case "$pattern" in ''|'#'*) continue ;; esac
  hits=$(grep -rnE "$pattern" --include='*.cpp' --include='*.hpp' --include='*.c' --include='*.h' \
         agent cni common bpf fuzz 2>/dev/null || true)
  if [ -n "$hits" ]; then
    echo "banned API /$pattern/ ($reason):"
    echo "$hits"
    status=1
  fi
done < tools/banned-apis.txt
exit $status
