#!/usr/bin/env python3
"""Tests of tools/monitoring/dashboards.py, the dashboards' check without Grafana: the real
dashboards pass, and each deliberately broken copy of one (one fault each) fails with the
message that names its fault; the promtool fixture generator refuses a fixture that leaves a
panel untested. Run by meson (suite `monitoring`, test monitoring-dashboards-checker) or by
hand: /usr/bin/python3 tools/monitoring/dashboards_test.py"""
import copy
import json
import os
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboards  # noqa: E402

WORKLOAD = os.path.join(dashboards.DASHBOARD_DIR, "weft-workload.json")
FIXTURE = os.path.join(dashboards.ROOT, "tests", "monitoring", "dashboards.test.yml")


def panel(d, title):
    return next(p for p in d["panels"] if p["title"] == title)


def var(d, name):
    return next(v for v in d["templating"]["list"] if v["name"] == name)


def first_target(d, title="Inbound requests/s by source"):
    return panel(d, title)["targets"][0]


def set_expr(d, old, new, title="Inbound requests/s by source"):
    t = first_target(d, title)
    assert old in t["expr"], (old, t["expr"])
    t["expr"] = t["expr"].replace(old, new)


def swap_variables(d):
    vs = d["templating"]["list"]
    vs[1], vs[2] = vs[2], vs[1]


def overlap(d):
    panel(d, "TCP bytes/s")["gridPos"] = dict(panel(d, "Latency")["gridPos"])


# (what is broken, how, a piece of the message that must name it)
BROKEN = [
    ("two panels share an id", lambda d: panel(d, "Latency").update(id=panel(d, "Requests/s")["id"]),
     "is used by another panel"),
    ("two panels share a title", lambda d: panel(d, "Latency").update(title="Requests/s"),
     "another panel has this title"),
    ("a target has no refId", lambda d: first_target(d).pop("refId"), "'refId' is required"),
    ("a target has no expr", lambda d: first_target(d).pop("expr"), "'expr' is required"),
    ("a target names a fixed data source",
     lambda d: first_target(d)["datasource"].update(uid="prometheus"), 'must be "${datasource}"'),
    ("a panel has no data source", lambda d: panel(d, "Latency").pop("datasource"),
     "'datasource' is required"),
    ("schemaVersion is a string", lambda d: d.update(schemaVersion="38"),
     "is not of type integer"),
    ("an unknown top-level key", lambda d: d.update(dashbaord={}), "'dashbaord' is not allowed"),
    ("a panel type weft does not use", lambda d: panel(d, "Latency").update(type="graph"),
     'is not one of ["timeseries", "stat", "table"]'),
    ("the tag weft is missing", lambda d: d.update(tags=["mesh"]), 'must include "weft"'),
    ("the datasource variable is not first",
     lambda d: d["templating"]["list"].append(d["templating"]["list"].pop(0)),
     "the first variable must be `datasource`"),
    ("a variable used before it is defined", swap_variables, "not defined before it"),
    ("a variable no panel uses",
     lambda d: d["templating"]["list"].append(dict(var(d, "namespace"), name="cluster")),
     "no panel or variable uses it"),
    ("a panel uses an undefined variable",
     lambda d: set_expr(d, 'reporter="destination"', 'reporter="destination", node="$node"'),
     "$node is not a variable of the dashboard"),
    ("a fixed rate window", lambda d: set_expr(d, "[$__rate_interval]", "[5m]"),
     "range window [5m]: use [$__rate_interval]"),
    ("$__interval instead of $__rate_interval",
     lambda d: set_expr(d, "$__rate_interval", "$__interval"), "use $__rate_interval"),
    ("grouped by the request path",
     lambda d: set_expr(d, "sum by (source_workload_namespace", "sum by (path, source_workload_namespace"),
     "label 'path': unbounded cardinality"),
    ("a label the agents do not export",
     lambda d: set_expr(d, 'reporter="destination"', 'reporter="destination", pod="x"'),
     "label 'pod' is not one weft's agents"),
    ("a misspelt metric", lambda d: set_expr(d, "weft_requests_total", "weft_request_total"),
     "metric weft_request_total is neither exported"),
    ("a counter without rate()",
     lambda d: first_target(d).update(expr='sum(weft_requests_total{reporter="destination"})'),
     "counter weft_requests_total is not under rate()"),
    ("a recorded rate rated again",
     lambda d: first_target(d, "Requests/s").update(
         expr="rate(workload:weft_requests:rate1m[$__rate_interval])"),
     "is a recorded series; rate() over it means nothing"),
    ("a panel past the 24 columns", lambda d: panel(d, "TCP bytes/s")["gridPos"].update(x=20),
     "past the 24 columns"),
    ("two panels overlap", overlap, "overlaps panel"),
    ("a time series without a unit",
     lambda d: panel(d, "Latency")["fieldConfig"]["defaults"].pop("unit"),
     "fieldConfig.defaults.unit is required"),
    ("a variable query that is neither label_values nor query_result",
     lambda d: var(d, "namespace").update(definition="namespaces", query={"query": "namespaces",
                                                                           "refId": "A"}),
     "not label_values(selector, label) or query_result(expr)"),
    ("an All option without allValue", lambda d: var(d, "namespace").update(includeAll=True),
     "includeAll needs an allValue"),
]


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        with open(WORKLOAD, encoding="utf-8") as f:
            self.good = json.load(f)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, dashboard, name="weft-workload.json", text=None):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text if text is not None else json.dumps(dashboard))
        return path

    def test_the_dashboards_pass(self):
        paths = dashboards.dashboard_files()
        self.assertEqual(len(paths), 5)
        self.assertEqual(dashboards.check(paths), [])
        self.assertEqual(dashboards.kustomization_faults(paths), [])

    def test_an_unchanged_copy_passes(self):
        self.assertEqual(dashboards.check([self.write(self.good)]), [])

    def test_each_broken_copy_fails_naming_its_fault(self):
        for what, breaks, message in BROKEN:
            with self.subTest(what):
                d = copy.deepcopy(self.good)
                breaks(d)
                faults = dashboards.check([self.write(d)])
                self.assertTrue(any(message in f for f in faults),
                                f"{what}: no fault says {message!r}: {faults}")

    def test_uid_must_be_the_file_name(self):
        faults = dashboards.check([self.write(self.good, "workload.json")])
        self.assertTrue(any("must be the file's name" in f for f in faults), faults)

    def test_two_dashboards_with_one_uid(self):
        a = self.write(self.good)
        b = self.write(dict(self.good, title="weft / Other"), "weft-other.json")
        faults = dashboards.check([a, b])
        self.assertTrue(any("uid 'weft-workload' is also" in f for f in faults), faults)

    def test_not_json(self):
        faults = dashboards.check([self.write(None, text="{\"uid\": ")])
        self.assertTrue(any("not JSON" in f for f in faults), faults)

    def test_a_dashboard_the_configmap_leaves_out(self):
        extra = os.path.join(dashboards.DASHBOARD_DIR, "weft-extra.json")
        faults = dashboards.kustomization_faults(dashboards.dashboard_files() + [extra])
        self.assertEqual(len(faults), 1, faults)
        self.assertIn("weft-extra.json: not in the grafana_dashboard ConfigMap", faults[0])


class PromtoolFixtureTest(unittest.TestCase):
    def setUp(self):
        with open(FIXTURE, encoding="utf-8") as f:
            self.fixture = yaml.safe_load(f)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def generate(self, fixture):
        path = os.path.join(self.tmp.name, "fixture.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(fixture, f)
        return dashboards.promtool_test(path)

    def test_every_panel_target_and_variable_becomes_a_test(self):
        doc = self.generate(self.fixture)
        tests = doc["tests"][0]["promql_expr_test"]
        n_targets = sum(1 for p in dashboards.dashboard_files() for _ in
                        dashboards.targets(dashboards.load(p)))
        n_vars = sum(1 for p in dashboards.dashboard_files() for v in
                     dashboards.variables(dashboards.load(p)) if v["type"] == "query")
        self.assertEqual(len(tests), n_targets + n_vars)
        self.assertFalse([t["expr"] for t in tests if "$" in t["expr"].replace('"$1"', "")],
                         "variables left in the generated expressions")

    def test_a_panel_without_expectations_is_refused(self):
        fx = copy.deepcopy(self.fixture)
        del fx["dashboards"]["weft-route"]["panels"]["Retries/s by rule and reason"]
        with self.assertRaisesRegex(ValueError, "'Retries/s by rule and reason' target A: no "
                                    "expected samples"):
            self.generate(fx)

    def test_an_expectation_for_a_missing_panel_is_refused(self):
        fx = copy.deepcopy(self.fixture)
        fx["dashboards"]["weft-route"]["panels"]["Gone"] = {"A": [{"labels": "{}", "value": 1}]}
        with self.assertRaisesRegex(ValueError, "panel 'Gone' target A, which the dashboard"):
            self.generate(fx)

    def test_a_variable_regex_that_extracts_something_else_is_refused(self):
        fx = copy.deepcopy(self.fixture)
        fx["dashboards"]["weft-route"]["variables"]["namespace"]["values"] = ["web"]
        with self.assertRaisesRegex(ValueError, "variable namespace: its regex makes"):
            self.generate(fx)


if __name__ == "__main__":
    unittest.main(verbosity=1)
