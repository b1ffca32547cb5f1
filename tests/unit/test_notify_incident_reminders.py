"""Notify and the serious-incident reminders (referral events incident_due and
incident_missed): they reach the referring organization's supervisors — every one of
them, by inbox and e-mail — and say the deadline in Vietnam time, nothing more."""
from __future__ import annotations

import pytest

from services.notify.domain.messages import render
from services.notify.domain.model import Notice, notice_from_event
from services.notify.service_layer.ports import Contact
from tests.support.referral_events import referral_event
from tests.unit.notify_fakes import FakePeople
from tests.unit.test_notify_use_cases import LINK, UNION, Notify

PEOPLE = FakePeople({"sup-minh": Contact("minh@union.example", "+84901111111", "vi"),
                     "cw-lan": Contact("lan@union.example", "+84902222222", "vi")},
                    supervisors={UNION: ["sup-minh", "cw-lan"]})


@pytest.mark.parametrize("kind", ["incident_due", "incident_missed"])
def test_a_reminder_reaches_each_supervisor_of_the_referring_organization_only(kind):
    notify = Notify(people=PEOPLE)
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")  # the receiving agency: not told
    event = referral_event(kind, referring_organization_id=UNION, referring_user_id="cw-lan")
    assert notify.fanout.handle(event) == 2
    told = sorted((d.recipient_id, d.channel, d.target, d.notice["audience"]) for d in notify.stored())
    # Every supervisor, the one who referred included: nobody else is told of this deadline.
    assert told == [("cw-lan", "email", "lan@union.example", "supervisor"),
                    ("sup-minh", "email", "minh@union.example", "supervisor")]
    assert {i.recipient_id for i in notify.uow.inbox.rows.values()} == {"sup-minh", "cw-lan"}
    assert notify.fanout.handle(event) == 0  # a redelivered event tells nobody twice


def test_the_message_says_the_written_report_deadline_in_vietnam_time():
    event = referral_event("incident_missed", referring_organization_id=UNION,
                           deadline="2026-12-06T17:00:00+00:00")
    notice = notice_from_event(event.id, "incident_missed", event.data, LINK).for_audience("supervisor")
    assert (notice.deadline, notice.deadline_kind) == ("2026-12-06T17:00:00+00:00", "incident_report")
    vi, en = render(notice, "vi"), render(notice, "en")
    assert "quá hạn gửi báo cáo bằng văn bản" in vi.subject
    assert "Hạn gửi báo cáo bằng văn bản: 00:00 07/12/2026 (UTC+7)" in vi.text
    assert "Written report due by: 00:00 07/12/2026 (UTC+7)" in en.text and "overdue" in en.subject
    due = render(Notice(**{**notice.to_dict(), "kind": "incident_due"}), "en")
    assert "one day left" in due.subject
