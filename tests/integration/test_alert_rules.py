"""The alert rules (deploy/prometheus/alerts.yml) as promtool sees them: they load, their
unit tests (deploy/prometheus/tests/*.yml) pass, a broken rule is caught, every alert says
what to do, and every metric a rule reads is one Haven exports. promtool comes from
Debian's `prometheus` package (`deploy/system-deps.sh test`)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.observability import RULES, declared_metrics, metrics_read_by, rules

RULE_TESTS = sorted((RULES.parent / "tests").glob("*.yml"))
SEVERITIES = {"page", "ticket"}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: run deploy/system-deps.sh test (Debian's prometheus package)"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def test_the_rules_pass_promtool_check():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_test", RULE_TESTS, ids=lambda path: path.name)
def test_the_rule_unit_tests_pass(rule_test):
    result = promtool("test", "rules", rule_test.name, cwd=rule_test.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_expression_that_does_not_parse_is_refused(tmp_path):
    broken = tmp_path / "alerts.yml"
    text = RULES.read_text()
    assert "max(haven_search_index_lag_seconds) > 300" in text
    broken.write_text(text.replace("max(haven_search_index_lag_seconds) > 300", "max(haven_search_index_lag_seconds) > > 300"))
    result = promtool("check", "rules", str(broken))
    assert result.returncode != 0
    assert "parse error" in (result.stdout + result.stderr)


def test_a_rule_that_no_longer_fires_when_it_should_fails_its_unit_test(tmp_path):
    """Valid PromQL, wrong meaning: dead letters alerting only above 5 passes `check` but not
    the unit test that has 2 dead letters."""
    (tmp_path / "tests").mkdir()
    text = RULES.read_text()
    assert "max(haven_notify_dead_letters) > 0" in text
    (tmp_path / "alerts.yml").write_text(text.replace("max(haven_notify_dead_letters) > 0",
                                                      "max(haven_notify_dead_letters) > 5"))
    shutil.copy(RULES.parent / "tests" / "notify_test.yml", tmp_path / "tests")
    assert promtool("check", "rules", str(tmp_path / "alerts.yml")).returncode == 0
    result = promtool("test", "rules", "notify_test.yml", cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "HavenNotifyDeadLetters" in result.stdout + result.stderr


def test_every_alert_has_a_severity_a_summary_a_description_and_what_to_do():
    for alert in alerts():
        assert alert.get("labels", {}).get("severity") in SEVERITIES, alert["alert"]
        for annotation in ("summary", "description", "runbook"):
            assert alert.get("annotations", {}).get(annotation, "").strip(), (alert["alert"], annotation)


def test_every_alert_is_shown_firing_by_a_unit_test():
    firing = set()
    for rule_test in RULE_TESTS:
        for case in yaml.safe_load(rule_test.read_text())["tests"]:
            firing |= {check["alertname"] for check in case.get("alert_rule_test", []) if check.get("exp_alerts")}
    assert {alert["alert"] for alert in alerts()} - firing == set()


def test_the_rules_read_only_metrics_haven_exports():
    """A rule on a metric nobody exports never fires: every haven_* name in an expression
    is declared in Haven's code."""
    used = {name for rule in rules() for name in metrics_read_by(rule["expr"])}
    assert used and used - declared_metrics() == set()


def test_the_local_prometheus_config_loads_the_rules_and_scrapes_every_process_of_haven_run():
    config_path = RULES.parent / "prometheus-local.yml"
    result = promtool("check", "config", str(config_path))
    assert result.returncode == 0, result.stdout + result.stderr
    from haven.cli import PROCESSES

    expected = set()
    for spec in PROCESSES.values():
        config = spec.load_config({})
        expected.add(f"127.0.0.1:{spec.port(config)}")
        if spec.has_worker:
            expected.add(f"127.0.0.1:{spec.worker_port(config)}")
    scraped = {target for job in yaml.safe_load(config_path.read_text())["scrape_configs"]
               for static in job["static_configs"] for target in static["targets"]}
    assert scraped == expected
