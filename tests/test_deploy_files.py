"""deploy/: the Grafana dashboard and the Prometheus files only use metrics that exist.

A dashboard panel or an alert on a misspelt or renamed metric shows "No data" or
never fires, silently; these tests catch it. They also check the shape an
operator relies on: every alert has a severity, a summary and a description,
every dashboard panel a title and a query, and Prometheus scrapes the port the
gateway serves /metrics on. promtool (on PATH, or fetched into the venv by
`make test`) also checks the rules and unit-tests them (deploy/prometheus/alerts_test.yml).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config.model import Server
from tests.metric_names import exposed_series

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "deploy" / "grafana" / "stopgate.json"
PROMETHEUS = REPO / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"

#: A series name in PromQL: an identifier starting with stopgate_ (not part of a longer one).
METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])stopgate_[A-Za-z0-9_:]*")
SEVERITIES = {"critical", "warning", "info"}


def metric_names(expr: str) -> set[str]:
    """The stopgate series an expression reads (label values in quotes excluded)."""
    return set(METRIC_RE.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)))


def unknown_metrics(exprs: dict[str, str]) -> dict[str, list[str]]:
    """where -> series it names that no stopgate registry exposes."""
    known = exposed_series()
    out: dict[str, list[str]] = {}
    for where, expr in exprs.items():
        unknown = sorted(metric_names(expr) - set(known))
        if unknown:
            out[where] = unknown
    return out


# --- the dashboard -------------------------------------------------------------------------

def dashboard() -> dict[str, Any]:
    dash: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dash


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels included."""
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboard_exprs(dash: dict[str, Any]) -> dict[str, str]:
    exprs: dict[str, str] = {}
    for panel in panels(dash["panels"]):
        for target in panel.get("targets", []):
            exprs[f"panel {panel.get('title')!r} {target.get('refId')}"] = target.get("expr", "")
    for var in dash.get("templating", {}).get("list", []):
        query = var.get("query")
        if var.get("type") == "query":
            text = query.get("query", "") if isinstance(query, dict) else str(query)
            exprs[f"variable {var['name']!r}"] = text
    return exprs


def test_dashboard_is_a_grafana_dashboard_on_a_prometheus_datasource_variable() -> None:
    dash = dashboard()
    assert dash["title"] and dash["uid"]
    assert dash["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(dash["panels"]):
        for holder in [panel, *panel.get("targets", [])]:
            if "datasource" in holder:
                assert holder["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_dashboard_panel_has_a_title_and_a_query() -> None:
    dash = dashboard()
    ids = []
    for panel in panels(dash["panels"]):
        ids.append(panel["id"])
        assert panel.get("title", "").strip(), f"panel {panel['id']} has no title"
        if panel["type"] == "row":
            continue
        targets = panel.get("targets", [])
        assert targets, f"panel {panel['title']!r} has no target"
        for target in targets:
            assert target.get("expr", "").strip(), f"panel {panel['title']!r}: empty query"
            assert target["expr"].count("(") == target["expr"].count(")"), panel["title"]
            assert target["expr"].count("{") == target["expr"].count("}"), panel["title"]
    assert len(ids) == len(set(ids)), "panel ids repeat"


def test_dashboard_uses_only_metrics_that_exist() -> None:
    exprs = dashboard_exprs(dashboard())
    named = set().union(*(metric_names(e) for e in exprs.values()))
    assert len(named) >= 10, "the dashboard should chart stopgate's metrics"
    assert unknown_metrics(exprs) == {}


# --- Prometheus --------------------------------------------------------------------------------

def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert doc["groups"], "alerts.yml has no group"
    rules: list[dict[str, Any]] = []
    for group in doc["groups"]:
        assert group["name"] and group["rules"], group
        rules.extend(group["rules"])
    return rules


def test_every_alert_has_severity_summary_and_description() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names repeat"
    for rule in rules:
        name = rule["alert"]
        assert str(rule.get("expr", "")).strip(), f"{name} has no expr"
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{name}: bad 'for'"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        annotations = rule.get("annotations", {})
        assert str(annotations.get("summary", "")).strip(), f"{name} has no summary"
        assert str(annotations.get("description", "")).strip(), f"{name} has no description"


def test_alerts_use_only_metrics_that_exist() -> None:
    exprs = {f"alert {rule['alert']}": str(rule["expr"]) for rule in alert_rules()}
    assert unknown_metrics(exprs) == {}


def test_alerts_cover_what_an_operator_pages_on() -> None:
    text = " ".join(str(rule["expr"]) for rule in alert_rules())
    for needed in ('up{job="stopgate"}', "stopgate_upstream_sessions",
                   "stopgate_suppression_cache_ready", 'outcome="rejected"',
                   "stopgate_submit_latency_seconds_bucket", "stopgate_dlr_queue_depth",
                   "stopgate_dlr_total", "stopgate_webhook_deliveries_total",
                   "stopgate_redis_up", "stopgate_ledger_writable",
                   "stopgate_config_hash_mismatch", "stopgate_optout_reviews_due_soon",
                   "stopgate_optout_review_deadline_seconds"):
        assert needed in text, f"no alert on {needed}"


def test_prometheus_scrapes_the_gateway_and_loads_the_alerts() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file(), rule_file
    assert "alerts.yml" in config["rule_files"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    job = jobs["stopgate"]  # the job the alerts and the dashboard select
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    # The HTTP port the gateway serves /metrics on by default.
    assert targets == [f"stopgate:{Server().http_listen.port}"]


# --- the checker itself --------------------------------------------------------------------

def test_checker_catches_a_metric_that_does_not_exist() -> None:
    dash = dashboard()
    exprs = dashboard_exprs(dash)
    where, expr = next((w, e) for w, e in exprs.items() if "stopgate_mt_total" in e)
    broken = {where: expr.replace("stopgate_mt_total", "stopgate_mt_totals")}
    assert unknown_metrics(broken) == {where: ["stopgate_mt_totals"]}
    # The family name alone is not a series (a counter is scraped as ..._total).
    assert unknown_metrics({"x": "rate(stopgate_mt[5m])"}) == {"x": ["stopgate_mt"]}
    assert unknown_metrics({"x": "stopgate_submit_latency_seconds"}) != {}
    # Label values and label names are not metric names.
    assert metric_names('sum by (outcome) (stopgate_dlr_total{outcome="stopgate_x"})') == {
        "stopgate_dlr_total"}


def _promtool() -> str | None:
    """promtool on PATH, else the one `make test` fetched into the venv (.venv/bin)."""
    beside = Path(sys.executable).parent / "promtool"
    return shutil.which("promtool") or (str(beside) if beside.is_file() else None)


PROMTOOL = _promtool()


@pytest.mark.skipif(PROMTOOL is None,
                    reason="promtool is not installed (`make test` fetches it with apt-get)")
def test_promtool_accepts_the_config_and_passes_the_rule_tests() -> None:
    assert PROMTOOL is not None
    for args in (["check", "config", "prometheus.yml"], ["test", "rules", "alerts_test.yml"]):
        done = subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
