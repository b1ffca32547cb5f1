"""Serious incidents' rules (services/referral/domain/incidents.py): the written report's
deadline in Vietnam time, the state at the boundary minute, who may mark and record, and
which reminder goes out when."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.referral.domain.client import ClientProfile
from services.referral.domain.errors import IllegalTransition, InvalidReferral, NotPermitted
from services.referral.domain.incidents import (DUE, LATE, MISSING, ON_TIME, SeriousIncident, VIETNAM,
                                                report_state, written_report_due)
from services.referral.domain.model import Actor, ConsentOverride, Referral

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
CASEWORKER = Actor("cw-1", "org-ngo")
SUPERVISOR = Actor("sup-1", "org-ngo")
SHELTER_STAFF = Actor("staff-1", "org-shelter")


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)


def referral(at: datetime = vn(2026, 12, 1, 8, 0)) -> Referral:
    return Referral.create(referrer=CASEWORKER, receiving_service_id="svc-shelter",
                           receiving_organization_id="org-shelter", service_kind="shelter", urgency="high",
                           risk_level="severe", services_requested=("shelter",),
                           profile=ClientProfile("C-1", "25_59", "female"), personal=None, consent=None,
                           override=ConsentOverride(by="sup-1", at=at, reason="danger"), at=at)


def marked(discovered_at=vn(2026, 12, 1, 15, 0), at=vn(2026, 12, 1, 16, 0), note=None):
    r = referral()
    r.events.clear()
    incident = SeriousIncident.mark(r, CASEWORKER, discovered_at=discovered_at,
                                    phoned_at=discovered_at + 10 * MINUTE, phoned_to="Phòng VH-XH phường Ba Đình",
                                    note=note, at=at)
    return r, incident


# --- the deadline ------------------------------------------------------------------------

def test_the_report_is_due_at_midnight_vietnam_time_ending_the_fifth_day_after_discovery():
    # 1 December is not counted; days 2..6; the period ends at 24:00 on 6 December (UTC+7).
    assert written_report_due(vn(2026, 12, 1, 15, 0)) == vn(2026, 12, 7, 0, 0)
    assert written_report_due(vn(2026, 12, 1, 15, 0)) == datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    # Discovered one minute before midnight or one minute after: a whole day apart.
    assert written_report_due(vn(2026, 12, 1, 23, 59)) == vn(2026, 12, 7, 0, 0)
    assert written_report_due(vn(2026, 12, 2, 0, 0)) == vn(2026, 12, 8, 0, 0)


def test_the_day_counted_is_vietnams_not_utcs():
    # 18:30 UTC on 30 November is already 1 December in Hà Nội: the 1st is the day of discovery.
    assert written_report_due(datetime(2026, 11, 30, 18, 30, tzinfo=UTC)) == vn(2026, 12, 7, 0, 0)
    # 16:59 UTC on 30 November is still the 30th in Hà Nội.
    assert written_report_due(datetime(2026, 11, 30, 16, 59, tzinfo=UTC)) == vn(2026, 12, 6, 0, 0)


def test_weekends_and_month_ends_do_not_move_the_deadline():
    # Discovered Monday 28 December: due at the end of Saturday 2 January, across the year end.
    assert written_report_due(vn(2026, 12, 28, 9, 0)) == vn(2027, 1, 3, 0, 0)


def test_a_naive_discovery_time_is_refused():
    with pytest.raises(InvalidReferral) as refused:
        written_report_due(datetime(2026, 12, 1, 15, 0))
    assert refused.value.field == "discovered_at"


# --- the state, at the boundary minute ---------------------------------------------------------

DUE_AT = vn(2026, 12, 7, 0, 0)


@pytest.mark.parametrize("sent_at, now, state", [
    (None, DUE_AT - MINUTE, DUE),
    (None, DUE_AT, MISSING),
    (DUE_AT - MINUTE, DUE_AT + timedelta(days=30), ON_TIME),  # 23:59 on the last day
    (DUE_AT, DUE_AT + timedelta(days=30), LATE),  # 00:00 the day after
    (DUE_AT + timedelta(days=2), DUE_AT + timedelta(days=30), LATE),
])
def test_the_state_at_the_boundary_minute(sent_at, now, state):
    assert report_state(DUE_AT, sent_at, now) == state


# --- marking and recording ---------------------------------------------------------------------

def test_marking_keeps_the_phone_report_and_puts_a_step_in_the_referrals_history():
    r, incident = marked(note="Chồng đe dọa bằng dao")
    assert incident.due_at == vn(2026, 12, 7, 0, 0)
    assert incident.state(vn(2026, 12, 3, 9, 0)) == DUE
    assert (incident.phoned_to, incident.marked_by, incident.note) == (
        "Phòng VH-XH phường Ba Đình", "cw-1", "Chồng đe dọa bằng dao")
    step = r.history[-1]
    assert (step.action, step.from_status, step.to_status, step.actor_user_id) == (
        "incident_marked", "sent", "sent", "cw-1")
    assert r.status == "sent" and r.version == 2
    assert r.events == []  # marking itself publishes nothing: the note and authority stay here


def test_only_the_referring_organization_marks():
    r = referral()
    with pytest.raises(NotPermitted):
        SeriousIncident.mark(r, SHELTER_STAFF, discovered_at=vn(2026, 12, 1, 9, 0), phoned_at=vn(2026, 12, 1, 9, 5),
                             phoned_to="Công an phường", note=None, at=vn(2026, 12, 1, 10, 0))


@pytest.mark.parametrize("discovered, phoned, authority, field", [
    (vn(2026, 12, 1, 9, 0), vn(2026, 12, 1, 8, 59), "Công an phường", "phoned_at"),  # phoned before discovery
    (vn(2026, 12, 2, 9, 0), vn(2026, 12, 2, 9, 5), "Công an phường", "discovered_at"),  # tomorrow
    (vn(2026, 12, 1, 9, 0), vn(2026, 12, 1, 10, 6), "Công an phường", "phoned_at"),  # beyond the clock skew
    (vn(2026, 12, 1, 9, 0), vn(2026, 12, 1, 9, 5), "   ", "phoned_to"),
    (vn(2026, 12, 1, 9, 0), vn(2026, 12, 1, 9, 5), "x" * 201, "phoned_to"),
])
def test_marking_refuses_impossible_times_and_a_missing_authority(discovered, phoned, authority, field):
    with pytest.raises(InvalidReferral) as refused:
        SeriousIncident.mark(referral(), CASEWORKER, discovered_at=discovered, phoned_at=phoned,
                             phoned_to=authority, note=None, at=vn(2026, 12, 1, 10, 0))
    assert refused.value.field == field


def test_the_written_report_is_recorded_once_and_read_on_time_or_late():
    r, incident = marked()
    incident.record_written_report(r, SUPERVISOR, sent_at=vn(2026, 12, 6, 23, 59), sent_to="Sở Y tế Hà Nội",
                                   at=vn(2026, 12, 7, 8, 0))
    assert incident.state(vn(2027, 1, 1, 0, 0)) == ON_TIME
    assert (incident.report_sent_to, incident.recorded_by) == ("Sở Y tế Hà Nội", "sup-1")
    assert r.history[-1].action == "incident_reported"
    with pytest.raises(IllegalTransition):
        incident.record_written_report(r, SUPERVISOR, sent_at=vn(2026, 12, 7, 0, 0), sent_to="Sở Y tế",
                                       at=vn(2026, 12, 7, 9, 0))

    r, late = marked()
    late.record_written_report(r, SUPERVISOR, sent_at=vn(2026, 12, 7, 0, 0), sent_to="Sở Y tế",
                               at=vn(2026, 12, 7, 8, 0))
    assert late.state(vn(2026, 12, 7, 8, 0)) == LATE


@pytest.mark.parametrize("sent_at, field", [
    (vn(2026, 12, 5, 9, 0), "sent_at"),  # dated in the future
    (vn(2026, 12, 1, 14, 0), "sent_at"),  # before the discovery
])
def test_a_written_report_dated_impossibly_is_refused(sent_at, field):
    r, incident = marked()
    with pytest.raises(InvalidReferral) as refused:
        incident.record_written_report(r, SUPERVISOR, sent_at=sent_at, sent_to="Sở Y tế", at=vn(2026, 12, 3, 9, 0))
    assert refused.value.field == field
    assert incident.report_sent_at is None


def test_another_organization_cannot_record_the_written_report():
    r, incident = marked()
    with pytest.raises(NotPermitted):
        incident.record_written_report(r, SHELTER_STAFF, sent_at=vn(2026, 12, 2, 9, 0), sent_to="Sở Y tế",
                                       at=vn(2026, 12, 3, 9, 0))


# --- reminders ---------------------------------------------------------------------------------

def test_one_reminder_a_day_before_then_one_when_missed_and_none_after_the_report():
    r, incident = marked()
    assert incident.next_reminder_at == vn(2026, 12, 6, 0, 0)
    assert incident.remind(r, vn(2026, 12, 5, 23, 59)) is None
    due = incident.remind(r, vn(2026, 12, 6, 0, 0))
    assert due.type == "incident_due" and due.deadline == vn(2026, 12, 7, 0, 0)
    assert incident.remind(r, vn(2026, 12, 6, 12, 0)) is None  # once
    assert incident.next_reminder_at == vn(2026, 12, 7, 0, 0)
    missed = incident.remind(r, vn(2026, 12, 7, 0, 0))
    assert missed.type == "incident_missed"
    assert incident.next_reminder_at is None and incident.remind(r, vn(2026, 12, 9, 0, 0)) is None
    assert [e.type for e in r.events] == ["incident_due", "incident_missed"]
    assert r.events[0].referring_organization_id == "org-ngo"


def test_a_late_first_look_sends_only_the_missed_reminder():
    r, incident = marked()
    assert incident.remind(r, vn(2026, 12, 8, 9, 0)).type == "incident_missed"
    assert [e.type for e in r.events] == ["incident_missed"]


def test_a_recorded_report_stops_the_reminders():
    r, incident = marked()
    incident.record_written_report(r, SUPERVISOR, sent_at=vn(2026, 12, 3, 9, 0), sent_to="Sở Y tế",
                                   at=vn(2026, 12, 3, 10, 0))
    assert incident.next_reminder_at is None
    assert incident.remind(r, vn(2026, 12, 8, 0, 0)) is None and r.events == []
