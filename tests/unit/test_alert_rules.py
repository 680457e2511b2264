"""The alerting rules (ops/prometheus) and the Grafana dashboard (ops/grafana).

promtool checks the rules and runs their unit tests (alerts_test.yml); every metric the rules
and the dashboard name must be one the app exports, read from a fresh `Metrics` registry, so
a renamed metric cannot leave an alert that never fires. promtool is Debian's `prometheus`
package (`make test` installs it); without it these tests fail, they are never skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import QueuePool

from backend.web.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "calcapp.json"

METRIC_NAME = re.compile(r"\bcalcapp_[a-z0-9_]*[a-z0-9]\b")
# The series a family of each type exports (prometheus_client: a counter family's name lacks
# `_total`; `_created` is the timestamp series it adds to counters and histograms).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
SEVERITIES = {"page", "ticket"}
# Grafana's variables, replaced by a duration so promtool can parse the panel's query.
GRAFANA_RANGES = re.compile(r"\$__(rate_interval|interval|range)\b")
DOC_SECTION = re.compile(r'(docs/[a-z_-]+\.md), "([^"]+)"')


def _no_connection() -> DBAPIConnection:
    raise AssertionError("reading the pool's gauges opens no connection")


def exported_metric_names() -> set[str]:
    """Every series name a fresh app's registry exports, the database pool's included."""
    metrics = Metrics()
    # The pool gauges come from a collector that yields nothing until the app has a pool: give
    # it one that is never connected (QueuePool opens connections on checkout only).
    pool = QueuePool(_no_connection, pool_size=10)
    metrics.watch_pool(lambda: pool)
    names: set[str] = set()
    for family in metrics.registry.collect():
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def promql_names(expressions: Iterator[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)}


def load_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


def dashboard_expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            yield target["expr"]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is missing: run `apt-get install prometheus` (Debian's package ships "
            "/usr/bin/promtool; `make test` installs it when missing)",
            pytrace=False,
        )
    return path


def run_promtool(*args: str) -> None:
    done = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, (
        f"promtool {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )


def test_promtool_checks_the_rules() -> None:
    run_promtool("check", "rules", str(RULES))


def test_the_rules_pass_their_unit_tests() -> None:
    run_promtool("test", "rules", str(RULE_TESTS))


def test_every_alert_has_a_severity_a_summary_and_a_description() -> None:
    alerts = [rule for rule in load_rules() if "alert" in rule]
    assert len(alerts) >= 10
    for alert in alerts:
        name = alert["alert"]
        assert alert["expr"].strip() and "for" in alert, name
        assert alert["labels"]["severity"] in SEVERITIES, name
        assert alert["annotations"]["summary"].strip(), name
        assert alert["annotations"]["description"].strip(), name


def test_every_alert_has_a_firing_and_a_quiet_case_in_the_unit_tests() -> None:
    alerts = {rule["alert"] for rule in load_rules() if "alert" in rule}
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in document["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts - fires == set(), "alerts no test sees firing"
    assert alerts - quiet == set(), "alerts no test sees quiet"


def test_the_runbook_sections_the_alerts_name_exist() -> None:
    for rule in load_rules():
        description = rule.get("annotations", {}).get("description", "")
        for doc, section in DOC_SECTION.findall(description):
            headings = [
                line.lstrip("#").strip()
                for line in (ROOT / doc).read_text(encoding="utf-8").splitlines()
                if line.startswith("#")
            ]
            assert any(heading.startswith(section) for heading in headings), (
                f"{rule['alert']}: {doc} has no section {section!r}"
            )


def test_the_rules_name_only_metrics_the_app_exports() -> None:
    used = promql_names(rule["expr"] for rule in load_rules())
    assert {"calcapp_http_requests_total", "calcapp_db_pool_checked_out"} <= used
    assert used - exported_metric_names() == set()


def test_the_pool_gauges_are_among_the_exported_names() -> None:
    names = exported_metric_names()
    assert {
        "calcapp_db_pool_size",
        "calcapp_db_pool_checked_out",
        "calcapp_db_pool_checked_in",
    } <= names
    assert "calcapp_http_request_duration_seconds_bucket" in names


def test_the_dashboard_names_only_metrics_the_app_exports() -> None:
    dashboard = load_dashboard()
    used = promql_names(dashboard_expressions(dashboard))
    assert {"calcapp_sync_ops_total", "calcapp_sync_poke_to_pull_seconds_bucket"} <= used
    assert used - exported_metric_names() == set()


def test_the_dashboard_is_importable() -> None:
    dashboard = load_dashboard()
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    panels = list(dashboard_panels(dashboard))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]


def test_the_dashboard_queries_parse(tmp_path: Path) -> None:
    """Each panel's query as a recording rule, for promtool's PromQL parser."""
    rules = [
        {"record": f"dashboard:query_{n}", "expr": GRAFANA_RANGES.sub("5m", expr)}
        for n, expr in enumerate(dashboard_expressions(load_dashboard()))
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool("check", "rules", str(path))
