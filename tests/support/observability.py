"""What the alert rules and dashboards under deploy/ are checked against: the metric names
Haven's code declares, and the PromQL each file holds."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
# Never `service:haven_...` (a recording rule's name) nor a label value.
_METRIC = re.compile(r"(?<![:\w\"])haven_[a-z_]+")


def declared_metrics() -> set[str]:
    """Every haven_* metric name a module of haven/ or services/ declares."""
    declared = set()
    for path in [*(ROOT / "haven").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        declared |= set(re.findall(r'"(haven_[a-z_]+)"', path.read_text(encoding="utf-8")))
    return declared


def metrics_read_by(expr: str) -> set[str]:
    """The metric families an expression reads (histogram series named by their family)."""
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in _METRIC.findall(expr)}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboards() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARDS}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) of every target of every panel."""
    return [(name, panel["title"], target["expr"]) for name, board in dashboards().items()
            for panel in board["panels"] for target in panel["targets"]]
