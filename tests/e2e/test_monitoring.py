"""The alerts and the dashboard of deploy/monitoring/, with the real promtool (Debian's package `prometheus`,
installed by tests/infra/prometheus/install.sh):

- `promtool test rules`: each alert fires on synthetic series that should fire it and stays quiet on series that
  should not (monitoring/alerts.test.yaml); every alert is tested firing;
- every PromQL expression of the alerts and the dashboard parses (`promtool check rules`), and names only metrics
  the operator exports, with labels they carry: the names and labels come from the operator's own registry;
- every alert links to a runbook paragraph of docs/operations.md that names it.

That the names, labels and types on a live /metrics page are what these expressions assume is proven by the real
scrape in test_helm_install.py.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from flink_manager.controller.metrics import Metrics

REPO = pathlib.Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy" / "monitoring" / "alerts.yaml"
DASHBOARD = REPO / "deploy" / "monitoring" / "dashboard.json"
ALERT_TESTS = pathlib.Path(__file__).parent / "monitoring" / "alerts.test.yaml"
OPERATIONS = REPO / "docs" / "operations.md"
# Labels Prometheus adds to every scraped series (the target's), besides those the operator exports.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
# Grafana's variables, as Grafana substitutes them before sending a query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$namespace": ".*"}

PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is needed: tests/infra/prometheus/install.sh (make infra) installs it", pytrace=False)
    return path


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target of the dashboard, Grafana's variables substituted."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets") or ():
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append((f"dashboard panel {panel['title']!r} {target['refId']}", expr))
    return queries


def all_queries() -> list[tuple[str, str]]:
    return [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()] + dashboard_queries()


# -- what the operator exports ---------------------------------------------------------------------------------


def exported_series() -> dict[str, set[str]]:
    """Sample name → label names, for every metric family in the operator's registry (with no object in the cache:
    families are declared whether or not they have samples). The label names come from the declarations, as
    prometheus_client keeps them (a metric object's, or a collector's families'), since an empty family shows none."""
    metrics = Metrics()
    metrics.watch_resources(lambda: (), lambda: ())
    series: dict[str, set[str]] = {}
    for collector in list(metrics.registry._collector_to_names):
        declared = getattr(collector, "_labelnames", None)
        for family in collector.describe():  # type: ignore[attr-defined]
            labels = set(declared if declared is not None else family._labelnames)
            suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}.get(
                family.type
            )
            assert suffixes is not None, f"{family.name}: a {family.type}, which this test does not know"
            for suffix in suffixes:
                series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


# -- PromQL ----------------------------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def names_in(expr: str) -> tuple[set[str], dict[str, set[str]], set[str]]:
    """(metric names, label names each names in its selector, label names of grouping clauses) of a PromQL
    expression that promtool has parsed. Errs towards naming too much: any word that is not a function call,
    an operator or a keyword counts as a metric name, so an unknown word fails the test rather than slipping by."""
    text = _STRING.sub('""', expr)
    grouping: set[str] = set()
    for _, names in _GROUPING.findall(text):
        grouping.update(n.strip() for n in names.split(",") if n.strip())
    text = _GROUPING.sub(r"\1", text)
    matchers: dict[str, set[str]] = {}
    for name, body in _SELECTOR.findall(text):
        labels = {m.split("=")[0].split("!")[0].strip() for m in body.split(",") if m.strip()}
        labels.discard("")
        matchers.setdefault(name or "", set()).update(labels)
    text = _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b\d+(\.\d+)?([eE][-+]?\d+)?(ms|s|m|h|d|w|y)?\b", " ", text)  # numbers, durations
    metrics = {word for word, call in _IDENTIFIER.findall(text) if not call and word not in PROMQL_KEYWORDS}
    return metrics, matchers, grouping


@pytest.mark.parametrize(
    "expr",
    [
        'sum by (kind) (rate(a_total{outcome="error", kind=~"E.*"}[5m])) > 0.5',
        "x == 1 unless on (namespace, name) (y >= on (namespace, name) z)",
        "histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m])))",
    ],
)
def test_names_in_reads_metrics_labels_and_grouping(expr: str) -> None:
    """The reader of PromQL that the tests below rely on."""
    expected = {
        'sum by (kind) (rate(a_total{outcome="error", kind=~"E.*"}[5m])) > 0.5': (
            {"a_total"},
            {"a_total": {"outcome", "kind"}},
            {"kind"},
        ),
        "x == 1 unless on (namespace, name) (y >= on (namespace, name) z)": (
            {"x", "y", "z"},
            {},
            {"namespace", "name"},
        ),
        "histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m])))": ({"h_bucket"}, {}, {"le"}),
    }
    assert names_in(expr) == expected[expr]


# -- the tests -------------------------------------------------------------------------------------------------


def test_every_alert_fires_and_stays_quiet_as_its_promtool_tests_say() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired = {
        case["alertname"] for test in tests for case in test.get("alert_rule_test") or () if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in alert_rules()} - fired == set()


def test_every_query_parses(tmp_path: pathlib.Path) -> None:
    """promtool parses each expression of the alerts and the dashboard (as a recording rule of a scratch file)."""
    rules = [{"record": f"query:{i}", "expr": expr} for i, (_, expr) in enumerate(all_queries())]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    for command in ([promtool(), "check", "rules", str(path)], [promtool(), "check", "rules", str(ALERTS)]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("expr", [pytest.param(expr, id=where) for where, expr in all_queries()])
def test_queries_name_only_metrics_and_labels_the_operator_exports(expr: str) -> None:
    exported = exported_series()
    metrics, matchers, grouping = names_in(expr)
    assert metrics, "a query that names no metric"
    unknown = sorted(metrics - set(exported))
    assert not unknown, f"not exported by the operator: {unknown} (it exports {sorted(exported)})"
    for name, labels in matchers.items():
        known = (exported[name] if name else set().union(*(exported[m] for m in metrics))) | TARGET_LABELS
        assert labels <= known, f"{name or 'a selector'} has no label {sorted(labels - known)}"
    known = set().union(*(exported[m] for m in metrics)) | TARGET_LABELS
    assert grouping <= known, f"grouped by labels no metric of the query has: {sorted(grouping - known)}"


def test_the_dashboard_namespace_variable_reads_an_exported_metric() -> None:
    variables = json.loads(DASHBOARD.read_text())["templating"]["list"]
    queries = [v["query"]["query"] for v in variables if v["type"] == "query"]
    assert queries
    for query in queries:
        found = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert found, query
        assert found.group(2) in exported_series()[found.group(1)], query


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_links_to_its_runbook_paragraph() -> None:
    sections: dict[str, str] = {}
    current = None
    for line in OPERATIONS.read_text().splitlines():
        if line.startswith("#"):
            current = _anchor(line.lstrip("#"))
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("docs/operations.md"), url
        assert anchor in sections, f"{rule['alert']}: docs/operations.md has no heading #{anchor}"
        assert anchor == rule["alert"].lower(), f"{rule['alert']} links to the runbook of another alert"
        assert len(sections[anchor].split()) > 30, f"the runbook of {rule['alert']} is too short to help"
