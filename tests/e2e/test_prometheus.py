"""The dashboards and alerts, proven against a real Prometheus (Debian's binary) scraping a
real Haven (`haven run`, the notify e2e test's receivers): a fresh installation shows 0, not
"no data"; a scripted referral lifecycle runs over HTTP; then every PromQL expression of
every Grafana panel and every alert or recording rule is evaluated through Prometheus's HTTP
API. Each must parse, each panel's query must return data, and a missed emergency deadline
makes its alert fire. A broken panel fails here.

Grafana's interval variables are given what Grafana itself would give them for this
Prometheus: `$__rate_interval` four scrape intervals, `$__range` the time the test has run.
A 1 s scrape interval is what keeps the waiting short.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from tests.e2e.portal.test_referring_pages import backdate
from tests.e2e.test_notify import CLIENT_REF, PERSONAL, Agencies, receiver_for, sinks, start_haven  # noqa: F401
from tests.support.auth import bearer
from tests.support.network import free_port
from tests.support.observability import RULES, panel_queries, rules

SCRAPE_SECONDS = 1
RATE_INTERVAL = f"{4 * SCRAPE_SECONDS}s"  # Grafana's $__rate_interval: at least four scrapes


class Prometheus:
    """`prometheus` on 127.0.0.1, a free port, storage in a temporary folder, Haven's rules."""

    def __init__(self, folder, targets: dict[str, str]):
        binary = shutil.which("prometheus")
        assert binary, "prometheus is missing: run deploy/system-deps.sh test (Debian's prometheus package)"
        self.port, self.folder = free_port(), folder
        config = {"global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s",
                             "scrape_timeout": f"{SCRAPE_SECONDS}s"},
                  "rule_files": [str(RULES)],
                  "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [address]}]}
                                     for job, address in targets.items()]}
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(folder / "prometheus.log", "wb")
        self.process = subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self._wait(lambda: requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200, 30, "ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait(self, condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "prometheus.log").read_text()[-3000:]
            try:
                if condition():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus: not {what} within {seconds}s")

    def query(self, expr: str) -> dict:
        """The answer of /api/v1/query (an instant query, now): status, data or error."""
        return requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()

    def values(self, expr: str) -> list[float]:
        answer = self.query(expr)
        assert answer["status"] == "success", (expr, answer)
        return [float(sample["value"][1]) for sample in answer["data"]["result"]]

    def wait_for(self, expr: str, seconds: float = 30) -> None:
        """Until `expr` returns a sample (a comparison such as `... >= 1` filters)."""
        self._wait(lambda: self.values(expr), seconds, f"seeing {expr}")

    def wait_for_scrapes(self, count: int = 2) -> None:
        """Every target scraped `count` times from now: what is seen now is stored."""
        time.sleep(count * SCRAPE_SECONDS + 0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


def grafana_expr(expr: str, prometheus: Prometheus) -> str:
    """The query Grafana would send for this Prometheus: its interval variables filled in."""
    ran = math.ceil(time.monotonic() - prometheus.started) + SCRAPE_SECONDS
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", f"{ran}s")


@pytest.fixture(scope="module")
def haven(tmp_path_factory, sinks):
    running = start_haven(tmp_path_factory.mktemp("prometheus-haven") / "data", sinks, REFERRAL_SLA_CHECK_SECONDS="1")
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


def announced_metrics(haven) -> list[str]:
    """The /metrics URLs `haven run` printed (after "Metrics (Prometheus):")."""
    deadline = time.monotonic() + 30
    while "Metrics (Prometheus):" not in haven.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    listed = haven.log().split("Metrics (Prometheus):", 1)[1].split("Press Ctrl-C", 1)[0]
    return [line.strip() for line in listed.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, haven):
    """Scraping what `haven run` says to scrape: every process, servers and workers."""
    names = {f"127.0.0.1:{port}": name for name, port in haven.ports.items()}
    names |= {f"127.0.0.1:{port}": f"{name}-worker" for name, port in haven.worker_ports.items()}
    announced = announced_metrics(haven)
    assert sorted(announced) == sorted(f"http://{address}/metrics" for address in names)
    targets = {name: address for address, name in names.items()}
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), targets)
    try:
        server.wait_for(f"count(up == 1) == {len(targets)}")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lifecycle(haven, prometheus, sinks):
    """What people do in a morning: a webhook subscription, a referral acknowledged, accepted
    and completed, one declined, an emergency nobody answers (made to look 20 minutes old:
    its acknowledge deadline is 15 minutes), a search and a shelter's free beds."""
    agencies = Agencies(haven, "prom")
    receiver = receiver_for(sinks)
    receiver.secrets["/agency"] = agencies.subscribe(agencies.staff, channel="webhook",
                                                     target=receiver.url("/agency"))["secret"]
    helped = agencies.refer()
    for action in ("acknowledge", "accept", "complete"):
        agencies.act(helped, action)
    declined = agencies.refer()
    answer = requests.post(f"{haven.url('referral')}/v1/referrals/{declined}/decline", json={"reason": "no_capacity"},
                           headers=agencies.staff, timeout=5)
    assert answer.status_code == 200, answer.text
    emergency = _emergency_referral(haven, agencies)
    backdate(haven, emergency, hours=20 / 60)

    directory = haven.url("directory")
    shelter = requests.get(f"{directory}/v1/search", params={"kind": "shelter", "per_page": 1}, timeout=5).json()
    shelter_id = shelter["items"][0]["service"]["id"]
    answer = requests.put(f"{directory}/v1/services/{shelter_id}/capacity", json={"available": 2, "maximum": 6},
                          headers=bearer(haven.data_dir, "directory_admin"), timeout=5)
    assert answer.status_code == 200, answer.text

    agencies.wait_for_status(helped, "webhook", "delivered", timeout=30)
    prometheus.wait_for('sum(haven_referral_sla_breaches_total{urgency="emergency"}) >= 1')
    prometheus.wait_for('sum(haven_notify_attempts_total{channel="webhook",outcome="delivered"}) >= 1')
    prometheus.wait_for_scrapes()
    return {"helped": helped, "declined": declined, "emergency": emergency, "shelter": shelter_id,
            "organizations": [agencies.receiving, agencies.referring], "caseworker": agencies.caseworker}


def _emergency_referral(haven, agencies: Agencies) -> str:
    now = datetime.now(timezone.utc)
    answer = requests.post(f"{haven.url('referral')}/v1/referrals", headers=agencies.referrer, timeout=5, json={
        "receiving_service_id": agencies.service, "urgency": "emergency", "risk_level": "high",
        "profile": {"client_ref": "PROM-1", "age_group": "25_59", "gender": "female"},
        "consent": {"given": True, "obtained_by": agencies.caseworker,
                    # before the referral's backdated creation, as consent always is
                    "obtained_at": (now - timedelta(minutes=30)).isoformat(), "scope": ["contact"]}})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_a_fresh_installation_shows_zero_not_no_data(prometheus):
    """Before anyone has made a referral (this test runs before the lifecycle)."""
    assert prometheus.values("sum(haven_referral_transitions_total)") == [0]
    by_urgency = prometheus.query("sum by (urgency) (haven_referral_time_to_acknowledge_seconds_count)")
    assert {sample["metric"]["urgency"]: sample["value"][1] for sample in by_urgency["data"]["result"]} == \
        {"emergency": "0", "high": "0", "normal": "0"}
    assert prometheus.values("max(haven_notify_dead_letters)") == [0]
    assert len(prometheus.values("max by (channel) (haven_notify_breakers_open) == 0")) == 3
    assert prometheus.values('sum(haven_http_request_duration_seconds_count{service="referral",status=~"5.."})') == [0]
    assert sorted(prometheus.values("min by (service) (haven_ready)")) == [1, 1, 1, 1]
    published = prometheus.query("sum by (topic) (haven_events_published_total)")["data"]["result"]
    by_topic = {sample["metric"]["topic"]: float(sample["value"][1]) for sample in published}
    assert {"provider-events", "referral-events", "delivery-events"} <= set(by_topic), by_topic
    assert by_topic["referral-events"] == by_topic["delivery-events"] == 0


@pytest.mark.parametrize("dashboard, title, expr", panel_queries(), ids=lambda value: str(value)[:60])
def test_every_panel_query_returns_data(prometheus, lifecycle, dashboard, title, expr):
    answer = prometheus.query(grafana_expr(expr, prometheus))
    assert answer["status"] == "success", (dashboard, title, answer.get("error"))
    assert answer["data"]["result"], f"{dashboard} / {title}: no data for {expr}"


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.get("alert") or rule["record"])
def test_every_rule_expression_parses_and_runs(prometheus, lifecycle, rule):
    answer = prometheus.query(rule["expr"])
    assert answer["status"] == "success", (rule.get("alert") or rule["record"], answer.get("error"))


def test_prometheus_loaded_every_rule_and_evaluates_each_without_error(prometheus, lifecycle):
    groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == {rule.get("alert") or rule["record"] for rule in rules()}
    failing = {name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"}
    assert failing == {}


def test_no_label_prometheus_stored_holds_an_id_or_a_personal_value(prometheus, lifecycle):
    secret = [CLIENT_REF, "PROM-1", *PERSONAL.values(), lifecycle["helped"], lifecycle["declined"],
              lifecycle["emergency"], lifecycle["shelter"], *lifecycle["organizations"], lifecycle["caseworker"]]
    names = requests.get(f"{prometheus.url}/api/v1/labels", timeout=10).json()["data"]
    for name in names:
        values = requests.get(f"{prometheus.url}/api/v1/label/{name}/values", timeout=10).json()["data"]
        leaked = [value for value in values for item in secret if item in value]
        assert leaked == [], (name, leaked)


def test_the_lifecycle_shows_on_the_dashboards_queries(prometheus, lifecycle):
    def one(expr: str) -> float:
        [value] = prometheus.values(grafana_expr(expr, prometheus))
        return value

    assert one('sum(increase(haven_referral_transitions_total{action="create"}[$__range]))') >= 2.5  # 3, extrapolated
    assert one('sum(increase(haven_referral_transitions_total{action="complete"}[$__range]))') > 0
    acknowledged = one('histogram_quantile(0.5, sum by (le) (increase('
                       'haven_referral_time_to_acknowledge_seconds_bucket{urgency="high"}[$__range])))')
    assert 0 < acknowledged <= 10  # acknowledged within seconds: the first bucket
    assert one('sum(increase(haven_notify_attempts_total{channel="webhook",outcome="delivered"}[$__range]))') > 0
    assert one('sum(increase(haven_http_request_duration_seconds_count{service="directory",'
               'route="/v1/services/<uuid:service_id>/capacity",status="200"}[$__range]))') > 0


def test_a_missed_emergency_deadline_fires_its_alert_and_nothing_else_pages(prometheus, lifecycle):
    prometheus.wait_for('ALERTS{alertname="HavenEmergencyDeadlineMissed",alertstate="firing"}', seconds=15)
    [alert] = prometheus.query('ALERTS{alertname="HavenEmergencyDeadlineMissed"}')["data"]["result"]
    assert alert["metric"]["deadline"] == "acknowledge" and alert["metric"]["severity"] == "page"
    others = prometheus.query('ALERTS{severity="page",alertname!="HavenEmergencyDeadlineMissed"}')["data"]["result"]
    assert others == [], others
