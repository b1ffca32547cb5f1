"""Referrals on the running stack (`haven run`, real processes, real HTTP):

- a referral created over HTTP reaches the event log, and neither the raw event nor any
  line any Haven process logged holds one of the survivor's personal values;
- with Kafka (the noida-db stand-in) as the event log, stopping the broker does not stop
  referrals: the service keeps accepting them, readiness says the event log is down, and
  every referral's event reaches Kafka once the broker is back.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

import services.referral.contract  # noqa: F401  (registers the referral event schemas for decoding)
from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven

PERSONAL = {"name": "Lò Thị Mây", "phone": "+84 987 654 321", "address": "Bản Nà Phặc, nhà thứ ba",
            "safe_contact_time": "Chỉ buổi sáng khi chồng đi làm", "safe_contact_method": "Nhắn qua cô giáo Hằng",
            "language": "tyz", "needs": ["Chỗ ở an toàn cho hai con nhỏ"],
            "safety_notes": "Chồng mang dao, đe doạ hàng xóm"}
CLIENT_REF = "LS-2026-7781"


def _values(personal: dict) -> list[str]:
    return [v for value in personal.values() for v in (value if isinstance(value, list) else [value])
            if v and len(v) > 3]


def _shelter(haven) -> tuple[str, str]:
    """A demo shelter's service id and organization id (from the directory)."""
    found = requests.get(f"{haven.url('directory')}/v1/search", params={"kind": "shelter", "per_page": 1},
                         timeout=5).json()["items"][0]["service"]
    return found["id"], found["organization_id"]


def _referral(service_id: str, n: int = 0) -> dict:
    now = datetime.now(timezone.utc)
    return {"receiving_service_id": service_id, "urgency": "emergency", "risk_level": "high",
            "profile": {"client_ref": f"{CLIENT_REF}-{n}", "age_group": "25_59", "gender": "female"},
            "personal": PERSONAL,
            "consent": {"given": True, "obtained_by": "cw-e2e", "obtained_at": (now - timedelta(minutes=3)).isoformat(),
                        "scope": ["contact", "safety_notes", "needs"]}}


@pytest.fixture(scope="module")
def haven(tmp_path_factory):
    running = RunningHaven(tmp_path_factory.mktemp("referrals") / "data").start()
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


def test_a_referral_reaches_the_log_and_no_personal_value_is_logged_or_published(haven):
    from haven.platform import events
    from haven.platform.eventlog.embedded import EmbeddedEventLog

    service_id, organization_id = _shelter(haven)
    caseworker = bearer(haven.data_dir, "caseworker", organization_id="agency-e2e", subject="cw-e2e")
    created = requests.post(f"{haven.url('referral')}/v1/referrals", json=_referral(service_id),
                            headers={**caseworker, "Idempotency-Key": "e2e-1"}, timeout=10)
    assert created.status_code == 201, created.text
    referral_id = created.json()["id"]
    staff = bearer(haven.data_dir, "agency_staff", organization_id=organization_id, subject="staff-e2e")
    assert requests.post(f"{haven.url('referral')}/v1/referrals/{referral_id}/acknowledge", headers=staff,
                         timeout=10).status_code == 200
    # a bad request, too: its error must not echo the values either
    bad = requests.post(f"{haven.url('referral')}/v1/referrals", headers=caseworker, timeout=10,
                        json={**_referral(service_id), "personal": {**PERSONAL, "phone": "gọi " + PERSONAL["name"]}})
    assert bad.status_code == 422 and PERSONAL["name"] not in bad.text

    log = EmbeddedEventLog(f"{haven.data_dir}/events.sqlite3")
    consumer = log.consumer("e2e-scan", ["referral-events"])
    raw, deadline = [], time.monotonic() + 20
    while len(raw) < 2 and time.monotonic() < deadline:
        raw += [r.value for r in consumer.poll(0.5) if r.key == referral_id]
    consumer.close()
    assert [events.decode(value).type for value in raw] == ["org.haven.referral.created.v1",
                                                             "org.haven.referral.acknowledged.v1"]
    published = b"".join(raw).decode()
    logged = open(haven.log_path, encoding="utf-8", errors="replace").read()
    assert referral_id in logged or "/v1/referrals" in logged  # the logs are there to be scanned
    for value in _values(PERSONAL) + [CLIENT_REF]:
        assert value not in published, "a personal value left the referral service in an event"
        assert value not in logged, "a personal value was logged"
        assert json.dumps(value)[1:-1] not in logged  # nor its JSON-escaped form


def test_the_directory_being_unreachable_is_a_503_that_saves_nothing(tmp_path):
    """`haven serve referral` alone, pointed at a directory that is not there."""
    import os
    import signal
    import subprocess
    import sys

    from tests.support.network import free_port

    port = free_port()
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_PORT": str(port), "HAVEN_WORKERS": "1",
           "REFERRAL_DIRECTORY_URL": f"http://127.0.0.1:{free_port()}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "haven", "serve", "referral"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
                time.sleep(0.2)
        caseworker = bearer(tmp_path, "caseworker", organization_id="agency-e2e", subject="cw-e2e")
        answer = requests.post(f"{url}/v1/referrals", json=_referral("7d3c2a4e-0000-4000-8000-000000000001"),
                               headers=caseworker, timeout=10)
        assert answer.status_code == 503 and answer.headers["Content-Type"] == "application/problem+json"
        assert "directory" in answer.json()["detail"] and answer.headers["Retry-After"]
        assert requests.get(f"{url}/v1/referrals", headers=caseworker, timeout=5).json()["total"] == 0
        ready = requests.get(f"{url}/readyz", timeout=5).json()
        assert ready["status"] == "degraded" and ready["checks"]["directory"] != "ok"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def test_referrals_keep_being_accepted_while_kafka_is_down_and_all_events_arrive_after(tmp_path):
    from haven.platform import events
    from haven.platform.eventlog.kafka import KafkaEventLog
    from tests.contract.kafka_eventlog import TEST_OPTIONS
    from tests.support.noida import NoidaKafka

    with NoidaKafka(tmp_path / "broker") as broker:
        haven = RunningHaven(tmp_path / "data", EVENT_BACKEND="kafka", KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
                             KAFKA_REPLICATION_FACTOR="1", EVENT_PARTITIONS="4").start()
        try:
            service_id, _ = _shelter(haven)
            caseworker = bearer(haven.data_dir, "caseworker", organization_id="agency-e2e", subject="cw-e2e")
            created = []

            def refer(n):
                answer = requests.post(f"{haven.url('referral')}/v1/referrals", json=_referral(service_id, n),
                                       headers=caseworker, timeout=10)
                assert answer.status_code == 201, answer.text
                created.append(answer.json()["id"])

            def events_reach_kafka(consumer, within: float) -> set:
                seen, deadline = set(), time.monotonic() + within
                while not set(created) <= seen and time.monotonic() < deadline:
                    for record in consumer.poll(0.5):
                        event = events.decode(record.value)
                        assert event.type == "org.haven.referral.created.v1"
                        seen.add(event.subject)
                return seen

            log = KafkaEventLog(broker.bootstrap, **TEST_OPTIONS)
            for n in range(5):
                refer(n)
            # The broker stops once these are in it: the stand-in saves its data when it
            # stops, and a record it acknowledged during that save can be missing from it
            # (a real broker has an acknowledged record in its log already).
            before = log.consumer("e2e-before", ["referral-events"])
            assert set(created) <= events_reach_kafka(before, 30)
            before.close()
            log.close()
            broker.stop()
            for n in range(5, 20):  # the writing service keeps accepting them
                refer(n)
            ready = requests.get(f"{haven.url('referral')}/readyz", timeout=15)
            assert ready.status_code == 200  # still in rotation: referrals wait in the outbox
            assert ready.json()["status"] == "degraded" and ready.json()["checks"]["event log"] != "ok"
            broker.restart()

            log = KafkaEventLog(broker.bootstrap, **TEST_OPTIONS)
            consumer = log.consumer("e2e-outage", ["referral-events"])
            seen = events_reach_kafka(consumer, 90)
            consumer.close()
            log.close()
            assert set(created) <= seen, f"{len(set(created) - seen)} referrals' events never reached Kafka"
            assert requests.get(f"{haven.url('referral')}/readyz", timeout=15).json()["checks"]["event log"] == "ok"
        finally:
            if haven.process.poll() is None:
                haven.stop()
            haven.kill_everything()
