"""Write k8s/components/prometheus-operator/prometheus-rule.yaml: the alert rules of deploy/prometheus/alerts.yml as a
prometheus-operator PrometheusRule, so that Compose's Prometheus and the cluster's evaluate
the same rules. One source: edit alerts.yml, then run

    python k8s/tools/prometheus_rule.py          # rewrite the PrometheusRule
    python k8s/tools/prometheus_rule.py --check  # exit 1 if it is out of date (the tests do this)
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
TARGET = ROOT / "k8s" / "components" / "prometheus-operator" / "prometheus-rule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by k8s/tools/prometheus_rule.py: do not edit,
# edit alerts.yml and run the script (a test fails while the two differ).
# kube-prometheus-stack selects PrometheusRules by its release label: REPLACE `release` with
# your Prometheus' ruleSelector.
"""


def prometheus_rule(alerts: Path = ALERTS) -> dict:
    rules = yaml.safe_load(alerts.read_text())
    if not isinstance(rules, dict) or not isinstance(rules.get("groups"), list):
        raise ValueError(f"{alerts}: not a Prometheus rule file (no `groups:` list)")
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "haven", "labels": {"release": "prometheus"}},
        "spec": {"groups": rules["groups"]},
    }


def render(alerts: Path = ALERTS) -> str:
    return HEADER + yaml.safe_dump(prometheus_rule(alerts), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python k8s/tools/prometheus_rule.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)} ({sum(len(g.get('rules', [])) for g in prometheus_rule()['spec']['groups'])} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
