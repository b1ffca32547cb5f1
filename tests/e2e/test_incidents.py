"""Serious incidents on the running stack (`haven run`: real processes, real HTTP, the real
event log): a caseworker marks a referral, the supervisor records the written report,
others are refused (403 / 404) and impossible dates named (422); the state shows on the
referral, its history and the supervisor's list; and the reminder timer's events go through
the event log to notify, which e-mails the organization's supervisors — without the note
or the authority's name."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from haven.platform.local_users import LocalUser, LocalUsers
from tests.e2e.test_notify import Agencies, sinks, start_haven  # noqa: F401  (sinks: the module's fixture)
from tests.support.auth import bearer

NOTE = "Người chồng quay lại nhà tạm lánh, đe doạ bảo vệ"
AUTHORITY = "Phòng Văn hóa - Xã hội phường Ba Đình"
SUPERVISOR_EMAIL = "minh.supervisor@union.example"


@pytest.fixture(scope="module")
def haven(tmp_path_factory, sinks):  # noqa: F811
    running = start_haven(tmp_path_factory.mktemp("incidents") / "data", sinks, REFERRAL_SLA_CHECK_SECONDS="0.5")
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


@pytest.fixture(scope="module")
def agencies(haven):
    found = Agencies(haven, "inc")
    LocalUsers(haven.data_dir).add(LocalUser("sup-minh", "Minh", ("supervisor",), found.referring, language="vi",
                                             email=SUPERVISOR_EMAIL), "password-123")
    found.supervisor = bearer(haven.data_dir, "supervisor", organization_id=found.referring, subject="sup-minh")
    return found


def ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def mark(haven, referral_id, headers, discovered: str, phoned: str | None = None, note: str | None = NOTE):
    return requests.post(f"{haven.url('referral')}/v1/referrals/{referral_id}/serious-incident", headers=headers,
                         timeout=5, json={"discovered_at": discovered, "phoned_at": phoned or discovered,
                                          "phoned_to": AUTHORITY, "note": note})


def record(haven, referral_id, headers, sent_at: str):
    return requests.post(f"{haven.url('referral')}/v1/referrals/{referral_id}/serious-incident/written-report",
                         headers=headers, timeout=5, json={"sent_at": sent_at, "sent_to": "Sở Y tế Hà Nội"})


def problem_field(answer) -> str:
    assert answer.status_code == 422 and answer.headers["Content-Type"].startswith("application/problem+json")
    return answer.json()["errors"][0]["field"]


def test_mark_then_record_on_time_with_refusals_for_everyone_else(haven, agencies):
    referral_id = agencies.refer()
    staff = agencies.staff
    stranger = bearer(haven.data_dir, "supervisor", organization_id="union-other", subject="sup-other")
    ops = bearer(haven.data_dir, "ops", subject="ops-1")

    not_marked = requests.get(f"{haven.url('referral')}/v1/referrals/{referral_id}/serious-incident",
                              headers=agencies.referrer, timeout=5)
    assert not_marked.status_code == 404 and "not marked" in not_marked.json()["detail"]
    assert record(haven, referral_id, agencies.supervisor, ago(minutes=1)).status_code == 404
    assert problem_field(mark(haven, referral_id, agencies.referrer, ago(hours=1), phoned=ago(hours=2))) == "phoned_at"
    assert mark(haven, referral_id, staff, ago(hours=1)).status_code == 403  # the receiving agency
    assert mark(haven, referral_id, ops, ago(hours=1)).status_code == 403
    assert mark(haven, referral_id, stranger, ago(hours=1)).status_code == 404  # cannot see it at all

    marked = mark(haven, referral_id, agencies.referrer, ago(hours=1), phoned=ago(minutes=50))
    assert marked.status_code == 201, marked.text
    body = marked.json()
    assert body["state"] == "due" and body["note"] == NOTE and body["phoned_to"] == AUTHORITY
    assert mark(haven, referral_id, agencies.referrer, ago(hours=1)).status_code == 409

    assert record(haven, referral_id, agencies.referrer, ago(minutes=1)).status_code == 403  # not a supervisor
    assert problem_field(record(haven, referral_id, agencies.supervisor, ago(days=-1))) == "sent_at"  # future
    recorded = record(haven, referral_id, agencies.supervisor, ago(minutes=1))
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["state"] == "on_time" and recorded.json()["recorded_by"] == "sup-minh"

    shown = requests.get(f"{haven.url('referral')}/v1/referrals/{referral_id}", headers=staff, timeout=5).json()
    assert shown["serious_incident"]["state"] == "on_time" and shown["serious_incident"]["note"] == "[withheld]"
    history = requests.get(f"{haven.url('referral')}/v1/referrals/{referral_id}/history", headers=agencies.referrer,
                           timeout=5).json()["items"]
    steps = [(step["action"], step["actor_user_id"]) for step in history]
    assert steps[-2:] == [("incident_marked", agencies.caseworker), ("incident_reported", "sup-minh")]


def test_the_supervisors_list_and_reminders_through_the_event_log_to_notify(haven, sinks, agencies):  # noqa: F811
    due_soon, missed = agencies.refer(), agencies.refer()
    # Discovered five days ago (Vietnam time): its last day is today, so "due tomorrow" goes out.
    # Seven days ago: the deadline passed, so "missed" goes out (and no "due").
    assert mark(haven, due_soon, agencies.referrer, ago(days=5), note=None).status_code == 201
    assert mark(haven, missed, agencies.supervisor, ago(days=7)).status_code == 201

    mails = sinks["smtp"].wait_for(SUPERVISOR_EMAIL, count=2, timeout=30)
    subjects = sorted(mail.message["Subject"] for mail in mails)
    assert len(subjects) == 2, subjects
    assert any("còn 1 ngày" in s for s in subjects) and any("đã quá hạn gửi báo cáo" in s for s in subjects)
    for mail in mails:
        text = mail.raw.decode("utf-8", "replace") + mail.part("plain")
        assert NOTE not in text and AUTHORITY not in text and "Ba Đình" not in text
        assert "Hạn gửi báo cáo bằng văn bản" in mail.part("plain")
    # The caseworker who referred is not a supervisor: reminders are not hers.
    assert not [m for m in sinks["smtp"].to("lan.caseworker@union.example") if "nghiêm trọng" in m.message["Subject"]]

    listed = requests.get(f"{haven.url('referral')}/v1/serious-incidents", headers=agencies.supervisor,
                          params={"state": "missing"}, timeout=5)
    assert listed.status_code == 200, listed.text
    assert [i["referral_id"] for i in listed.json()["items"]] == [missed]
    everything = requests.get(f"{haven.url('referral')}/v1/serious-incidents", timeout=5,
                              headers=bearer(haven.data_dir, "ops", subject="ops-1")).json()
    assert {missed, due_soon} <= {i["referral_id"] for i in everything["items"]}
    assert requests.get(f"{haven.url('referral')}/v1/serious-incidents", headers=agencies.referrer,
                        timeout=5).status_code == 403
    other = bearer(haven.data_dir, "supervisor", organization_id="union-other", subject="sup-other")
    assert requests.get(f"{haven.url('referral')}/v1/serious-incidents", headers=other, timeout=5).json()["total"] == 0
