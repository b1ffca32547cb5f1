"""Serious-incident use cases on the in-memory fakes: who may mark and record, what is
stored, audited and published (and what never is), the supervisor's list and the reminders."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.referral.domain.errors import IllegalTransition, NotPermitted
from services.referral.domain.incidents import VIETNAM
from services.referral.service_layer.commands import IncidentFilters, MarkIncident, Page, RecordWrittenReport
from services.referral.service_layer.errors import ReferralNotFound
from services.referral.service_layer.incidents import IncidentNotFound
from tests.unit.referral_fakes import T0
from tests.unit.test_referral_use_cases import CASEWORKER, ORIGIN, SHELTER_STAFF, create, haven, person  # noqa: F401

SUPERVISOR = person("sup-1", "supervisor", "org-ngo")
OTHER_SUPERVISOR = person("sup-9", "supervisor", "org-other")
OPS = person("ops-1", "ops", None)
NOTE = "Chồng đe dọa bằng dao, số 0912 345 678"
AUTHORITY = "Phòng Văn hóa - Xã hội phường Ba Đình"


def mark(haven, referral_id, who=CASEWORKER, discovered=T0 - timedelta(hours=1), note=NOTE):
    return haven.referrals.incidents.mark(who, MarkIncident(referral_id, discovered, discovered + timedelta(minutes=5),
                                                            AUTHORITY, note), ORIGIN)


def test_a_caseworker_marks_a_referral_the_step_is_in_its_history_and_audited(haven):
    rid = create(haven)
    view = mark(haven, rid)
    assert view.state == "due" and view.incident.note == NOTE  # her own organization reads the note
    assert view.incident.due_at == (T0 - timedelta(hours=1)).astimezone(VIETNAM).replace(
        hour=0, minute=0) + timedelta(days=6)
    assert haven.uow.referrals.rows[rid].history[-1].action == "incident_marked"
    assert "incident_marked" in haven.uow.audit.actions(rid)
    assert haven.uow.event_types() == ["org.haven.referral.created.v1"]  # marking publishes nothing
    with pytest.raises(IllegalTransition):
        mark(haven, rid)


@pytest.mark.parametrize("who", [SHELTER_STAFF, OPS])
def test_those_who_see_the_referral_but_do_not_refer_cannot_mark_it(haven, who):
    rid = create(haven)
    with pytest.raises(NotPermitted):
        mark(haven, rid, who=who)
    assert haven.uow.incidents.rows == {}


def test_another_organization_does_not_find_the_referral(haven):
    rid = create(haven)
    with pytest.raises(ReferralNotFound):
        mark(haven, rid, who=OTHER_SUPERVISOR)


def test_only_a_supervisor_records_the_written_report(haven):
    rid = create(haven)
    with pytest.raises(IncidentNotFound):
        haven.referrals.incidents.record_written_report(SUPERVISOR, RecordWrittenReport(rid, T0, "Sở Y tế"), ORIGIN)
    mark(haven, rid)
    with pytest.raises(NotPermitted):
        haven.referrals.incidents.record_written_report(CASEWORKER, RecordWrittenReport(rid, T0, "Sở Y tế"), ORIGIN)
    view = haven.referrals.incidents.record_written_report(SUPERVISOR, RecordWrittenReport(rid, T0, "Sở Y tế"),
                                                           ORIGIN)
    assert view.state == "on_time" and view.actions == ()
    assert haven.uow.incidents.rows[rid].note == NOTE  # recording never loses the note
    assert [t.action for t in haven.uow.referrals.rows[rid].history][-2:] == ["incident_marked", "incident_reported"]


def test_the_receiving_agency_sees_that_there_is_a_note_not_what_it_says(haven):
    rid = create(haven)
    mark(haven, rid)
    seen = haven.referrals.incidents.get(SHELTER_STAFF, rid, ORIGIN)
    assert seen.incident.note == "[withheld]" and seen.actions == ()
    on_referral = haven.referrals.reading.get(SHELTER_STAFF, rid, ORIGIN)
    assert on_referral.incident.state == "due" and on_referral.incident.incident.note == "[withheld]"
    # The referring organization's read of the note is audited, the agency's (withheld) is not.
    assert haven.uow.audit.actions(rid).count("read_personal") == 1
    haven.referrals.incidents.get(SUPERVISOR, rid, ORIGIN)
    assert haven.uow.audit.actions(rid).count("read_personal") == 2


def test_the_list_is_the_supervisors_organizations_and_every_one_for_ops(haven):
    ours = create(haven)
    mark(haven, ours)
    theirs = create(haven)
    mark(haven, theirs, discovered=T0 - timedelta(days=8))
    haven.uow.incidents.rows[theirs].referring_organization_id = "org-other"

    total, found = haven.referrals.incidents.list(SUPERVISOR, IncidentFilters(), Page(1, 20))
    assert total == 1 and found[0].incident.referral_id == ours and found[0].incident.note is None
    total, found = haven.referrals.incidents.list(OPS, IncidentFilters(), Page(1, 20))
    assert [v.incident.referral_id for v in found] == [theirs, ours]  # earliest deadline first
    assert [v.state for v in found] == ["missing", "due"]
    total, _ = haven.referrals.incidents.list(OPS, IncidentFilters(state="missing"), Page(1, 20))
    assert total == 1
    with pytest.raises(NotPermitted):
        haven.referrals.incidents.list(CASEWORKER, IncidentFilters(), Page(1, 20))


def test_reminders_are_published_once_with_ids_and_the_deadline_only(haven):
    rid = create(haven)
    incident = mark(haven, rid, discovered=T0).incident
    haven.uow.outbox.clear()
    assert haven.referrals.incidents.remind_due() == 0  # not yet

    haven.clock.now = incident.due_at - timedelta(days=1)
    assert haven.referrals.incidents.remind_due() == 1
    assert haven.referrals.incidents.remind_due() == 0
    haven.clock.now = incident.due_at
    assert haven.referrals.incidents.remind_due() == 1
    assert haven.uow.event_types() == ["org.haven.referral.incident_due.v1", "org.haven.referral.incident_missed.v1"]
    sent = haven.uow.outbox[0]
    assert (sent.topic, sent.key) == ("referral-events", rid)
    body = sent.event.to_json().decode()
    assert NOTE not in body and "Ba Đình" not in body and "0912" not in body
    assert sent.event.data["deadline"] == incident.due_at.isoformat()
    assert haven.uow.audit.actions(rid).count("incident_reminded") == 2

    haven.clock.now = incident.due_at + timedelta(days=3)
    assert haven.referrals.incidents.remind_due() == 0  # nothing left to remind
