#!/usr/bin/env bash
# Fails if a source file includes a folder its layer may not depend on. The data plane's folders
# (ARCHITECTURE.md, "Source layout") depend one way: loop and tls on none of the others, plan on
# tls, l4 and http on loop and plan, tunnel on those and http, dispatch on all of them. The
# agent's other folders (discovery, metrics, pods, ...) include none of the data plane, and l7/
# and common/ include nothing of agent/. Agent.cpp and main.cpp, which start the workers, may.
set -euo pipefail
cd "$(dirname "$0")/.."

data_plane="loop tls plan l4 http tunnel dispatch"
declare -A allowed=(
  [loop]=""
  [tls]=""
  [plan]="tls"
  [l4]="loop plan"
  [http]="loop plan"
  [tunnel]="loop plan tls http"
  [dispatch]="loop plan tls l4 http tunnel"
)

status=0
violation() {
  echo "$1: includes $2 ($3)"
  status=1
}

for dir in agent/*/; do
  folder=$(basename "$dir")
  for file in "$dir"*.cpp "$dir"*.hpp; do
    [ -e "$file" ] || continue
    for used in $(sed -n 's|^#include "agent/\([a-z0-9]*\)/.*|\1|p' "$file" | sort -u); do
      [ "$used" = "$folder" ] && continue
      case " $data_plane " in *" $used "*) ;; *) continue ;; esac
      if [ -z "${allowed[$folder]+set}" ]; then
        violation "$file" "agent/$used/" "$folder/ is below the data plane"
      else
        case " ${allowed[$folder]} " in
          *" $used "*) ;;
          *) violation "$file" "agent/$used/" "$folder/ may use: ${allowed[$folder]:-nothing}" ;;
        esac
      fi
    done
  done
done

for file in $(grep -rlE '^#include "agent/' l7 common --include='*.cpp' --include='*.hpp' || true); do
  violation "$file" "agent/" "l7/ and common/ stand below the agent"
done
exit $status
