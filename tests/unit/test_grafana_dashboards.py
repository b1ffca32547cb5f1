"""Haven's Grafana dashboards (deploy/grafana/) are dashboards Grafana can load and point at
the provisioned datasource; their queries read metrics Haven exports, grouped by labels that
never identify anyone. tests/e2e/test_prometheus.py runs every query against a real
Prometheus scraping Haven."""
from __future__ import annotations

import re

import yaml

from tests.support.observability import DASHBOARDS, ROOT, dashboards, declared_metrics, metrics_read_by, panel_queries

PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
EXPECTED = {"overview", "referrals", "notify", "events", "directory"}
# Labels a panel may group by: none of them can identify a person, agency or referral.
SAFE_LABELS = {"service", "route", "method", "status", "urgency", "service_kind", "action", "deadline", "channel",
               "outcome", "topic", "group", "check", "le", "job", "instance"}


def datasource() -> dict:
    [source] = yaml.safe_load((PROVISIONING / "datasources" / "haven.yml").read_text())["datasources"]
    return source


def test_the_five_dashboards_are_there_with_unique_uids():
    boards = dashboards()
    assert set(boards) == EXPECTED
    assert len({board["uid"] for board in boards.values()}) == len(boards)


def test_each_dashboard_is_grafana_dashboard_json():
    for name, board in dashboards().items():
        assert board["title"].startswith("Haven") and isinstance(board["schemaVersion"], int), name
        assert board["schemaVersion"] >= 36 and board["panels"], name
        assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"]), name
        for panel in board["panels"]:
            where = (name, panel["title"])
            assert panel["type"] in {"timeseries", "stat", "bargauge", "table"}, where
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
            assert panel["datasource"]["uid"] == datasource()["uid"], where
            assert panel["targets"] and len({t["refId"] for t in panel["targets"]}) == len(panel["targets"]), where
            for target in panel["targets"]:
                assert target["expr"].strip() and target["datasource"]["uid"] == datasource()["uid"], where


def test_panels_read_only_metrics_haven_exports_by_labels_that_identify_no_one():
    declared = declared_metrics()
    for name, title, expr in panel_queries():
        assert metrics_read_by(expr) - declared == set(), (name, title, expr)
        for grouping in re.findall(r"\bby \(([^)]*)\)", expr):
            labels = {label.strip() for label in grouping.split(",")}
            assert labels <= SAFE_LABELS, (name, title, labels - SAFE_LABELS)
        # Grafana's own interval variables only: nothing a Prometheus query cannot be given
        assert set(re.findall(r"\$\w+", expr)) <= {"$__rate_interval", "$__range"}, (name, title)


def test_provisioning_takes_the_prometheus_url_from_the_environment_and_loads_the_dashboards():
    source = datasource()
    assert source["type"] == "prometheus" and re.fullmatch(r"\$\{[A-Z_]+\}", source["url"])
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "haven.yml").read_text())["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    assert DASHBOARDS
