#!/usr/bin/env python3
"""weft's Grafana dashboards (manifests/monitoring/dashboards/*.json), checked without Grafana,
which is not on the build machines.

    dashboards.py check [FILE.json ...]       every dashboard (default: all five) against
                                              tools/monitoring/dashboard.schema.json, then what a
                                              schema cannot say; one line per fault, exit 1
    dashboards.py promtool-test FIXTURE.yml   a `promtool test rules` file (stdout) that evaluates
                                              every panel's expression and every variable's query
                                              with the fixture's variables and compares the results
                                              with the fixture's expected samples

What `check` refuses, beyond the schema: two panels with one id or one title, panels off the
24-column grid or overlapping, a dashboard without the `datasource` variable (type datasource,
query prometheus) first or without the tag "weft", a variable used before it is defined or never
defined, a Grafana interval other than $__rate_interval, a range window other than
[$__rate_interval], a counter (`_total`) not under rate() or increase(), a recorded rate rated
again, a metric no agent exports and no recording rule records, a label the agents do not
export (and the unbounded ones, such as `path`, by name), a table target that is not an instant
table query, a stat or time-series panel without a unit, a dashboard the kustomization's
ConfigMap leaves out.

The e2e test tests/e2e/test_prometheus_live.py imports this file for `load`, `targets`,
`variables` and `substitute`, so that both checks read the panels the same way."""
import glob
import json
import os
import re
import sys

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DASHBOARD_DIR = os.path.join(ROOT, "manifests", "monitoring", "dashboards")
KUSTOMIZATION = os.path.join(ROOT, "manifests", "monitoring", "kustomization.yaml")
RULES = os.path.join(ROOT, "manifests", "monitoring", "prometheusrule.yaml")
SCHEMA = os.path.join(ROOT, "tools", "monitoring", "dashboard.schema.json")
AGENT_SOURCES = os.path.join(ROOT, "agent")

# Labels on the agents' series (agent/metrics/*.cpp, agent/identity/WorkloadCertificates.cpp),
# the ones Prometheus adds (instance, job; node from the PodMonitor) and the recording rules'.
KNOWN_LABELS = {
    "reporter", "source_workload", "source_workload_namespace", "source_principal",
    "destination_service", "destination_workload", "destination_workload_namespace",
    "destination_principal", "request_protocol", "connection_security_policy", "route",
    "response_code", "grpc_response_status", "le", "reason", "role", "resumed", "timeout",
    "operation", "result", "principal", "outcome", "instance", "job", "node", "__name__",
    # made by the workload variable's label_replace
    "workload",
}
# Labels that would make a series per request; none exists today, and none may be grouped by.
UNBOUNDED_LABELS = {"path", "url", "uri", "request_path", "user_agent", "authority", "host",
                    "trace_id", "source_ip", "destination_ip", "peer"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE_INTERVAL = "$__rate_interval"
VARIABLE_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


# -- reading -------------------------------------------------------------------------------------

def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dashboard_files():
    return sorted(glob.glob(os.path.join(DASHBOARD_DIR, "*.json")))


def variables(dashboard):
    return dashboard.get("templating", {}).get("list", [])


def variable_query(variable):
    q = variable.get("query")
    return q.get("query", "") if isinstance(q, dict) else (q or "")


def targets(dashboard):
    """(panel, target) for every query of every panel, in order."""
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []) or []:
            yield panel, target


def substitute(expr, values):
    """`expr` with Grafana's variables ($x, ${x}, ${x:fmt}, [[x]]) replaced by values[x];
    $1-style capture references (label_replace) stay. KeyError names a variable not given."""
    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.isdigit():
            return m.group(0)
        return values[name]
    return VARIABLE_RE.sub(one, expr)


def label_values_query(query):
    """label_values(SELECTOR, LABEL) -> (SELECTOR, LABEL); query_result(EXPR) -> (EXPR, None)."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", query, re.S)
    if m:
        return m.group(1).strip(), m.group(2)
    m = re.fullmatch(r"\s*query_result\((.*)\)\s*", query, re.S)
    if m:
        return m.group(1).strip(), None
    raise ValueError(f"not label_values(selector, label) or query_result(expr): {query}")


def grafana_regex(regex):
    """A variable's regex as Grafana writes it (/.../flags) as a Python pattern, or None."""
    if not regex:
        return None
    m = re.fullmatch(r"/(.*)/([a-z]*)", regex, re.S)
    if not m:
        raise ValueError(f"regex {regex!r} is not /pattern/flags")
    return re.compile(m.group(1), re.I if "i" in m.group(2) else 0)


def apply_regex(regex, texts):
    """What Grafana lists for a variable whose query returned `texts`: with a regex, the first
    capture group (or the whole match) of each text that matches."""
    pattern = grafana_regex(regex)
    if pattern is None:
        return sorted(set(texts))
    out = set()
    for t in texts:
        m = pattern.search(t)
        if m:
            out.add(m.group(1) if m.groups() else m.group(0))
    return sorted(out)


# -- schema --------------------------------------------------------------------------------------

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is_type(value, name):
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def validate(value, schema, root, where=""):
    """Faults of `value` against `schema` (the keywords dashboard.schema.json uses), each
    "<JSON pointer>: <what>"."""
    here = where or "/"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return validate(value, root["$defs"][name], root, where)
    if "oneOf" in schema:
        results = [validate(value, s, root, where) for s in schema["oneOf"]]
        passing = [r for r in results if not r]
        if len(passing) == 1:
            return []
        if not passing:
            best = min(results, key=len)
            return best if len(best) <= 3 else [f"{here}: matches none of its allowed shapes"]
        return [f"{here}: matches more than one of its allowed shapes"]
    faults = []
    if "type" in schema and not _is_type(value, schema["type"]):
        return [f"{here}: {json.dumps(value)[:60]} is not of type {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        faults.append(f"{here}: must be {json.dumps(schema['const'])}, not {json.dumps(value)}")
    if "enum" in schema and value not in schema["enum"]:
        faults.append(f"{here}: {json.dumps(value)} is not one of {json.dumps(schema['enum'])}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            faults.append(f"{here}: {value!r} does not match {schema['pattern']!r}")
        if len(value) < schema.get("minLength", 0):
            faults.append(f"{here}: must not be empty")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            faults.append(f"{here}: {value} is less than {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            faults.append(f"{here}: {value} is more than {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            faults.append(f"{here}: needs at least {schema['minItems']} item(s)")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            faults.append(f"{here}: allows at most {schema['maxItems']} item(s)")
        for i, item in enumerate(value):
            if "items" in schema:
                faults += validate(item, schema["items"], root, f"{where}/{i}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                faults.append(f"{here}: {key!r} is required")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                faults += validate(item, props[key], root, f"{where}/{key}")
            elif schema.get("additionalProperties") is False:
                faults.append(f"{here}: {key!r} is not allowed here")
    return faults


# -- PromQL, without a parser ----------------------------------------------------------------------

def _strip_strings(expr):
    return STRING_RE.sub('""', expr)


def _exported_metrics():
    """Metric names the agent registers (string literals in agent/**/*.cpp, tests excluded),
    with a histogram's series, plus Prometheus's `up`."""
    names = {"up"}
    for path in glob.glob(os.path.join(AGENT_SOURCES, "**", "*.cpp"), recursive=True):
        if path.endswith("_test.cpp"):
            continue
        with open(path, encoding="utf-8") as f:
            names.update(re.findall(r'"((?:weft|process)_[a-z0-9_]+)"', f.read()))
    for name in list(names):
        if name.endswith("_seconds") or name.endswith("_bytes"):
            names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def _recorded_metrics():
    with open(RULES, encoding="utf-8") as f:
        rule = yaml.safe_load(f)
    return {r["record"] for g in rule["spec"]["groups"] for r in g["rules"] if "record" in r}


def promql_faults(expr, known_metrics, is_variable_query=False):
    """What is wrong with one expression by weft's rules (see the module's doc)."""
    faults = []
    bare = _strip_strings(expr)
    for window in re.findall(r"\[([^\]]*)\]", bare):
        if window.strip() != RATE_INTERVAL:
            faults.append(f"range window [{window}]: use [{RATE_INTERVAL}]")
    for label in re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", " ".join(
            re.findall(r"\{([^}]*)\}", bare))):
        faults += _label_faults(label)
    for _, names in re.findall(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)",
                               bare):
        for label in filter(None, (n.strip() for n in names.split(","))):
            faults += _label_faults(label)
    # Metric names: what is left once braces, ranges and grouping lists are gone, except
    # functions and aggregations (followed by "(") and keywords.
    rest = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", VARIABLE_RE.sub("0", bare))
    rest = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", rest)
    for m in re.finditer(r"[a-zA-Z_:][\w:]*", rest):
        name = m.group(0)
        after = rest[m.end():].lstrip()
        if after.startswith("(") or name.lower() in KEYWORDS:
            continue
        if is_variable_query and name in ("label_values", "query_result"):
            continue
        if name not in known_metrics:
            faults.append(f"metric {name} is neither exported by the agents nor recorded by "
                          "manifests/monitoring/prometheusrule.yaml")
        before = rest[:m.start()].rstrip()
        rated = before.endswith("rate(") or before.endswith("increase(")
        if name.endswith("_total") and not rated and not is_variable_query:
            faults.append(f"counter {name} is not under rate() or increase()")
        if ":" in name and re.search(r"(rate|increase)\($", before):
            faults.append(f"{name} is a recorded series; rate() over it means nothing")
    return faults


def _label_faults(label):
    if label in UNBOUNDED_LABELS:
        return [f"label {label!r}: unbounded cardinality (a series per value); weft does not "
                "export it"]
    if label not in KNOWN_LABELS:
        return [f"label {label!r} is not one weft's agents or recording rules carry"]
    return []


# -- the check -----------------------------------------------------------------------------------

def check_dashboard(dashboard, schema, known_metrics):
    """Faults of one dashboard, each "<where>: <what>"."""
    faults = validate(dashboard, schema, schema)
    if faults:
        return faults  # the checks below assume the shapes the schema asks for
    if "weft" not in dashboard["tags"]:
        faults.append("/tags: must include \"weft\"")
    vars_ = variables(dashboard)
    first = vars_[0]
    if first.get("name") != "datasource" or first.get("type") != "datasource" or \
            first.get("query") != "prometheus":
        faults.append("/templating/list/0: the first variable must be `datasource` "
                      "(type datasource, query prometheus)")
    defined = []
    used = set()
    for i, v in enumerate(vars_):
        where = f"/templating/list/{i} ({v['name']})"
        if v["name"] in defined:
            faults.append(f"{where}: defined twice")
        if v["type"] == "query":
            query = variable_query(v)
            if v.get("datasource") != DATASOURCE:
                faults.append(f"{where}: datasource must be {json.dumps(DATASOURCE)}")
            if v.get("definition") != query:
                faults.append(f"{where}: definition differs from query")
            try:
                inner, _ = label_values_query(query)
                grafana_regex(v.get("regex", ""))
            except ValueError as e:
                faults.append(f"{where}: {e}")
                inner = query
            for f in promql_faults(inner, known_metrics, is_variable_query=True):
                faults.append(f"{where}: {f}")
            for name in _referenced(query):
                used.add(name)
                if name not in defined:
                    faults.append(f"{where}: uses ${name}, not defined before it")
            if v.get("includeAll") and "allValue" not in v:
                faults.append(f"{where}: includeAll needs an allValue (a regex such as .+)")
        defined.append(v["name"])
    ids, titles, boxes = set(), set(), []
    for i, panel in enumerate(dashboard["panels"]):
        where = f"/panels/{i} ({panel['title']!r})"
        if panel["id"] in ids:
            faults.append(f"{where}: id {panel['id']} is used by another panel")
        ids.add(panel["id"])
        if panel["title"] in titles:
            faults.append(f"{where}: another panel has this title")
        titles.add(panel["title"])
        g = panel["gridPos"]
        if g["x"] + g["w"] > 24:
            faults.append(f"{where}: gridPos x {g['x']} + w {g['w']} is past the 24 columns")
        for other_title, o in boxes:
            if g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"] and \
                    g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]:
                faults.append(f"{where}: overlaps panel {other_title!r}")
        boxes.append((panel["title"], g))
        if panel["type"] == "row":
            continue
        unit = panel["fieldConfig"]["defaults"].get("unit")
        if panel["type"] != "table" and not unit:
            faults.append(f"{where}: fieldConfig.defaults.unit is required")
        refs = set()
        for j, t in enumerate(panel["targets"]):
            twhere = f"{where} target {t['refId']}"
            if t["refId"] in refs:
                faults.append(f"{twhere}: refId used twice in the panel")
            refs.add(t["refId"])
            if panel["type"] == "table" and (t.get("format") != "table" or not t.get("instant")):
                faults.append(f"{twhere}: a table's targets must be instant table queries")
            for f in promql_faults(t["expr"], known_metrics):
                faults.append(f"{twhere}: {f}")
            for name in _referenced(t["expr"]):
                used.add(name)
                if name.startswith("__") and name != RATE_INTERVAL[1:]:
                    faults.append(f"{twhere}: ${name}: use ${RATE_INTERVAL[1:]}, which Grafana "
                                  "keeps at least four scrape intervals")
                elif not name.startswith("__") and name not in defined:
                    faults.append(f"{twhere}: ${name} is not a variable of the dashboard")
    for v in vars_:
        if v["type"] == "query" and v["name"] not in used:
            faults.append(f"/templating ({v['name']}): no panel or variable uses it")
    return faults


def _referenced(expr):
    names = []
    for m in VARIABLE_RE.finditer(expr):
        name = m.group(1) or m.group(2) or m.group(3)
        if not name.isdigit():
            names.append(name)
    return names


def check(paths):
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    known = _exported_metrics() | _recorded_metrics()
    faults, uids, titles = [], {}, {}
    for path in paths:
        name = os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path
        try:
            dashboard = load(path)
        except (OSError, ValueError) as e:
            faults.append(f"{name}: not JSON: {e}")
            continue
        for f in check_dashboard(dashboard, schema, known):
            faults.append(f"{name}: {f}")
        uid, title = dashboard.get("uid"), dashboard.get("title")
        if uid != os.path.splitext(os.path.basename(path))[0]:
            faults.append(f"{name}: uid {uid!r} must be the file's name")
        for seen, key, what in ((uids, uid, "uid"), (titles, title, "title")):
            if key in seen:
                faults.append(f"{name}: {what} {key!r} is also {seen[key]}'s")
            seen[key] = name
    return faults


def kustomization_faults(paths):
    """The dashboards the ConfigMap generator of manifests/monitoring/kustomization.yaml lists
    must be exactly the files in manifests/monitoring/dashboards/."""
    with open(KUSTOMIZATION, encoding="utf-8") as f:
        k = yaml.safe_load(f)
    listed = set()
    for gen in k.get("configMapGenerator", []):
        if gen.get("options", {}).get("labels", {}).get("grafana_dashboard") == "1":
            listed.update(os.path.normpath(os.path.join(os.path.dirname(KUSTOMIZATION), p))
                          for p in gen.get("files", []))
    on_disk = {os.path.normpath(p) for p in paths}
    return ([f"{os.path.relpath(p, ROOT)}: not in the grafana_dashboard ConfigMap of "
             "manifests/monitoring/kustomization.yaml" for p in sorted(on_disk - listed)]
            + [f"manifests/monitoring/kustomization.yaml lists {os.path.relpath(p, ROOT)}, "
               "which is not a dashboard file" for p in sorted(listed - on_disk)])


# -- promtool test rules from a fixture ------------------------------------------------------------

def promtool_test(fixture_path):
    """The `promtool test rules` document for the fixture: one promql_expr_test per panel
    target and per query variable of every dashboard. Raises ValueError when the fixture misses
    a panel, a target or a variable, or names one no dashboard has: every panel is tested."""
    with open(fixture_path, encoding="utf-8") as f:
        fx = yaml.safe_load(f)
    values = dict(fx["variables"])
    values["__rate_interval"] = fx["rate_interval"]
    expected = fx["dashboards"]
    tests, problems = [], []
    files = {os.path.splitext(os.path.basename(p))[0]: p for p in dashboard_files()}
    for uid in sorted(set(expected) - set(files)):
        problems.append(f"fixture names dashboard {uid}, which does not exist")
    for uid, path in files.items():
        dashboard = load(path)
        exp = expected.get(uid)
        if exp is None:
            problems.append(f"{uid}: no expectations in the fixture")
            continue
        exp_panels, exp_vars = exp.get("panels", {}), exp.get("variables", {})
        seen = set()
        for panel, target in targets(dashboard):
            key = (panel["title"], target["refId"])
            seen.add(key)
            samples = exp_panels.get(panel["title"], {}).get(target["refId"])
            if not samples:
                problems.append(f"{uid}: panel {panel['title']!r} target {target['refId']}: "
                                "no expected samples")
                continue
            tests.append({"expr": substitute(target["expr"], values),
                          "eval_time": fx["eval_time"],
                          "exp_samples": [{"labels": s["labels"], "value": s["value"]}
                                          for s in samples]})
        for title, refs in exp_panels.items():
            for ref in refs:
                if (title, ref) not in seen:
                    problems.append(f"{uid}: fixture expects panel {title!r} target {ref}, "
                                    "which the dashboard does not have")
        qvars = [v for v in variables(dashboard) if v["type"] == "query"]
        for v in qvars:
            e = exp_vars.get(v["name"])
            if e is None:
                problems.append(f"{uid}: variable {v['name']}: no expected values")
                continue
            inner, label = label_values_query(variable_query(v))
            inner = substitute(inner, values)
            if label is not None:
                tests.append({"expr": f"group by ({label}) ({inner})", "eval_time": fx["eval_time"],
                              "exp_samples": [{"labels": f'{{{label}="{r}"}}', "value": 1}
                                              for r in e["raw"]]})
            else:
                tests.append({"expr": inner, "eval_time": fx["eval_time"],
                              "exp_samples": [{"labels": r, "value": 1} for r in e["raw"]]})
            listed = apply_regex(v.get("regex", ""), e["raw"])
            if listed != sorted(e["values"]):
                problems.append(f"{uid}: variable {v['name']}: its regex makes {listed} of "
                                f"{e['raw']}, the fixture expects {sorted(e['values'])}")
        for name in sorted(set(exp_vars) - {v["name"] for v in qvars}):
            problems.append(f"{uid}: fixture expects variable {name}, which is not a query "
                            "variable of the dashboard")
    if problems:
        raise ValueError("\n".join(problems))
    return {"rule_files": ["weft.rules.yml"], "evaluation_interval": fx["interval"],
            "tests": [{"interval": fx["interval"], "input_series": fx["input_series"],
                       "alert_rule_test": [], "promql_expr_test": tests}]}


def main(argv):
    if len(argv) >= 1 and argv[0] == "promtool-test" and len(argv) == 2:
        try:
            doc = promtool_test(argv[1])
        except ValueError as e:
            print(f"dashboards.py: {argv[1]}:\n{e}", file=sys.stderr)
            return 1
        sys.stdout.write("# Generated by tools/monitoring/dashboards.py promtool-test from "
                         f"{os.path.relpath(argv[1], ROOT)} and the dashboards.\n")
        yaml.safe_dump(doc, sys.stdout, sort_keys=False, width=100)
        return 0
    if len(argv) >= 1 and argv[0] == "check":
        paths = argv[1:] or dashboard_files()
        faults = check(paths)
        if not argv[1:]:
            faults += kustomization_faults(paths)
        for f in faults:
            print(f"dashboards.py: {f}", file=sys.stderr)
        if faults:
            print(f"dashboards.py: {len(faults)} fault(s)", file=sys.stderr)
            return 1
        print(f"dashboards.py: {len(paths)} dashboard(s) pass "
              f"({sum(1 for p in paths for _ in targets(load(p)))} panel queries)")
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
