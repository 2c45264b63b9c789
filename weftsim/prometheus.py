"""Debian's Prometheus, run by the tests in a node's netns: it scrapes the given agents every
second (evaluating the given rule file as often) and keeps its data in the cluster's workdir."""
import json
import os
import shutil
import urllib.parse

from . import netns, procs


class Prometheus:
    """A running server on 127.0.0.1:`port` of `node`'s netns, stopped by the cluster's
    cleanup; `get` and `query` talk to its HTTP API from that netns."""

    def __init__(self, cluster, node, targets, port, rules=None):
        """targets: host:port of the agents (job weft-agent); rules: the text of a rule file."""
        assert shutil.which("prometheus"), \
            "prometheus is missing: apt-get install prometheus (tools/packages.txt)"
        self.node, self.port = node, port
        home = os.path.join(cluster.workdir, f"prometheus-{port}")
        os.makedirs(home, exist_ok=True)
        settings = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [{"job_name": "weft-agent",
                                        "static_configs": [{"targets": targets}]}]}
        if rules is not None:
            with open(os.path.join(home, "weft.rules.yml"), "w", encoding="utf-8") as f:
                f.write(rules)
            settings["rule_files"] = ["weft.rules.yml"]
        config = os.path.join(home, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        svc = procs.Service(netns.exec_argv(node.netns, [
            "prometheus", f"--config.file={config}", f"--storage.tsdb.path={home}/data",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]),
            os.path.join(cluster.workdir, f"prometheus-{port}.log"), "prometheus")
        cluster.cleanup.push("stop prometheus", svc.stop)
        procs.wait_until(lambda: self.get("/-/ready") is not None, 30, what="prometheus ready")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path):
        """The body of GET path, or None when the server did not answer."""
        r = procs.run(netns.exec_argv(self.node.netns, [
            "curl", "-sS", "--max-time", "5", f"{self.url}{path}"]), check=False, timeout=15)
        return r.stdout if r.returncode == 0 else None

    def query(self, expr, at=None):
        """An instant query's result (at Unix time `at`, else now); asserts it succeeded."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        answer = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode(params)))
        assert answer["status"] == "success", answer
        return answer["data"]["result"]
