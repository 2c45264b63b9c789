#!/usr/bin/env bash
# The monitoring suite's offline check: weft's recording rules (manifests/monitoring/
# prometheusrule.yaml, unwrapped by rules.py) pass `promtool check rules` and the unit tests of
# tests/monitoring/weft.rules.test.yml (`promtool test rules`), and the plain-host scrape
# config manifests/monitoring/prometheus.yml passes `promtool check config` with them. The
# Grafana dashboards (manifests/monitoring/dashboards/*.json; Grafana is not on these machines)
# pass dashboards.py's schema check, and every panel's expression and every variable's query,
# generated from the JSON with the variables of tests/monitoring/dashboards.test.yml, returns
# that fixture's expected samples (`promtool test rules`, with the recording rules).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null || {
  echo "check.sh: promtool is missing (apt-get install prometheus)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$root/tools/monitoring/rules.py" > "$work/weft.rules.yml"
cp "$root/tests/monitoring/weft.rules.test.yml" "$root/manifests/monitoring/prometheus.yml" "$work/"
/usr/bin/python3 "$root/tools/monitoring/dashboards.py" check
/usr/bin/python3 "$root/tools/monitoring/dashboards.py" promtool-test \
  "$root/tests/monitoring/dashboards.test.yml" > "$work/dashboards.test.yml"
cd "$work"
promtool check rules weft.rules.yml
promtool test rules weft.rules.test.yml
promtool test rules dashboards.test.yml
promtool check config prometheus.yml
