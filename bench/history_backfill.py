#!/usr/bin/python3
"""Rebuilds bench/results/history.csv from every report ever committed under bench/results/.

The bench scripts append their rows to history.csv when they save a report; this one-off reads
the reports that were saved before that (and were since dropped from the tree: their text is
in git history), parses their Markdown tables and writes the same columns
(benchlib.HISTORY_COLUMNS), one run per distinct report, oldest first. The figures are the
report's own (rounded as printed; ratios as printed, not recomputed). Rows already in the file
for a report (same date, kind and file name) are kept as they are, so running it again adds
nothing.

    PYTHONPATH=$PWD /usr/bin/python3 bench/history_backfill.py [--dry-run]   # from the repo root
"""
import argparse
import csv
import os
import re
import subprocess
import sys

import benchlib

REPO = benchlib.REPO
RESULTS = "bench/results"
KINDS = {"L4": "l4", "cross-node": "cross-node", "L7": "l7"}
# `## ...` headings of the L7 report that open a placement's tables; any other `## ` closes it.
PLACEMENTS = {"same node": "same-node", "across nodes": "cross-node"}
# `### ...` headings (or the L4 table's load cell) -> load.
LOADS = (("HTTP/1.1", "http1"), ("HTTP/2", "h2"), ("gRPC", "grpc"), ("new connections", "newconn"),
         ("bulk", "bulk"))


def git(*argv):
    return subprocess.run(["git", "-C", REPO, *argv], capture_output=True, text=True,
                          check=True).stdout


def committed_reports():
    """(commit, path, text) of every version of a report added or changed in any commit."""
    out = []
    commit = None
    for line in git("log", "--all", "--format=C %H", "--name-status", "--diff-filter=AMR",
                    "--", RESULTS + "/").splitlines():
        if line.startswith("C "):
            commit = line[2:]
        elif line.strip():
            path = line.split("\t")[-1]
            if path.endswith(".md"):
                out.append((commit, path, git("show", f"{commit}:{path}")))
    return out


def _load(title):
    return next((load for prefix, load in LOADS if title.startswith(prefix)), None)


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _number(cell):
    """The number a cell starts with, without thousands separators (`99,936` -> 99936,
    `0.92x` -> 0.92, `0.66 ms` -> 0.66); empty for `—`."""
    m = re.match(r"[0-9][0-9,]*(\.[0-9]+)?", cell)
    return m.group(0).replace(",", "") if m else ""


def parse(text):
    """The run's columns and its rows (without the run's columns) from one report."""
    head = re.match(r"# weft (L4|cross-node|L7) bench, (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", text)
    if not head:
        return None, []
    kind = KINDS[head.group(1)]
    env = re.search(r"^- commit `(\w+)`(?: \((.*?)\))?, kernel \S+, \d+ CPUs \((.*)\)$",
                    text, re.M)
    rounds = re.search(r"(\d+) interleaved rounds of (\d+) s", text)
    run = {"date": head.group(2), "commit": env.group(1) + ("-dirty" if env.group(2) else ""),
           "kind": kind, "rounds": rounds.group(1), "seconds": rounds.group(2),
           "cpu_model": env.group(3)}
    rows, l7_vs_l4 = [], {}
    placement = "cross-node" if kind == "cross-node" else "same-node"
    load, header = None, None
    for line in text.splitlines():
        if line.startswith("## "):
            title = line[3:]
            placement = next((p for k, p in PLACEMENTS.items() if title.startswith(k)),
                             None if kind == "l7" else placement)
            load, header = None, None
        elif line.startswith("### "):
            load, header = _load(line[4:]), None
        elif not line.startswith("|"):
            header = None
        elif header is None:
            header = _cells(line)
        elif not line.startswith("|---"):
            cell = dict(zip(header, _cells(line)))
            if header[:3] == ["placement", "load", "weft (L7) req/s"]:
                l7_vs_l4[(cell["placement"], cell["load"])] = _number(cell["L7 ÷ L4 req/s"])
            elif header[:2] == ["load", "way"] and kind == "l4" and "vs direct" in cell:
                rows.append(_row(placement, _load(cell["load"]), cell, kind))
            elif header[0] == "way" and placement and load:
                rows.append(_row(placement, load, cell, kind))
    for r in rows:
        if r["way"] == "weft":
            r["l7_vs_l4"] = l7_vs_l4.get((r["placement"], r["load"]), "")
    return run, rows


def _row(placement, load, cell, kind):
    """One row from a table row (`cell`: header -> text) of a way table or of the L4 table."""
    rate_col = {"req/s": "req/s", "conn/s": "conn/s", "Gbit/s": "Gbit/s"}
    rate = next(cell[c] for c in rate_col if cell.get(c))
    vs = next((cell[c] for c in cell if c.endswith("vs direct") and not c.startswith("p99")), "")
    cpu = next((cell[c] for c in cell if c.startswith("proxy CPU") or c == "agent CPU"), "")
    cpu = "" if cell["way"] == "direct" else _number(cpu)
    return {"placement": placement, "load": load, "way": cell["way"], "rate": _number(rate),
            "rate_unit": benchlib.RATE_UNITS[load], "vs_direct": _number(vs), "l7_vs_l4": "",
            "proxy_cpu": cpu, "proxy_cpu_unit": benchlib.CPU_UNITS[load] if cpu else "",
            "p99_ms": _number(cell.get("p99", ""))}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", default=os.path.join(REPO, RESULTS))
    parser.add_argument("--dry-run", action="store_true", help="print the rows, write nothing")
    args = parser.parse_args()

    path = os.path.join(args.results_dir, benchlib.HISTORY_FILE)
    have = set()
    if os.path.exists(path):
        with open(path, newline="") as f:
            have = {(r["date"], r["kind"], r["report"]) for r in csv.DictReader(f)}
    runs = {}
    for commit, report_path, text in committed_reports():
        run, rows = parse(text)
        if run is None or not rows:
            print(f"skipped {commit[:7]}:{report_path}: not a bench report", file=sys.stderr)
            continue
        run["report"] = os.path.basename(report_path)
        runs[(run["date"], run["kind"], run["report"])] = [dict(r, **run) for r in rows]
    new = [runs[k] for k in sorted(runs) if k not in have]
    rows = [r for run_rows in new for r in run_rows]
    if args.dry_run:
        w = csv.DictWriter(sys.stdout, fieldnames=benchlib.HISTORY_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        benchlib.append_history(args.results_dir, rows)
    print(f"{len(new)} reports, {len(rows)} rows{' (dry run)' if args.dry_run else ''}; "
          f"{len(runs) - len(new)} reports already there", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
