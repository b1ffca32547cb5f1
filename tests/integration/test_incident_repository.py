"""Serious incidents on the real SQL adapters (SQLite and PostgreSQL, migrated to head):
the note is stored encrypted, the state filter in SQL agrees with the domain's rule at the
boundary minute, a supervisor's list is her organization's, and each reminder's event is
written to the outbox once."""
from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

import pytest
import sqlalchemy as sa

from haven.cli import SERVICES
from haven.platform import db
from haven.platform.field_cipher import FieldCipher, generate_key
from services.referral import contract
from services.referral.adapters.orm import outbox, serious_incidents
from services.referral.adapters.unit_of_work import SqlReferralUnitOfWork
from services.referral.domain.sla import SlaPolicy
from services.referral.service_layer.commands import IncidentFilters, MarkIncident, Page, RecordWrittenReport
from services.referral.service_layer.referrals import Referrals
from tests.unit.referral_fakes import T0, FakeDirectory, FakeMetrics, FixedClock
from tests.unit.test_referral_use_cases import CASEWORKER, LEGAL_AID, ORIGIN, REFERRAL, SHELTER, person

SUPERVISOR = person("sup-1", "supervisor", "org-ngo")
OTHER_SUPERVISOR = person("sup-9", "supervisor", "org-other")
OPS = person("ops-1", "ops", None)
NOTE = "Chồng đe dọa bằng dao"


@pytest.fixture
def world(database_url):
    SERVICES["referral"].migrations().upgrade(database_url)
    engine = db.create_engine(database_url)
    policy, clock = SlaPolicy(), FixedClock()
    uow = partial(SqlReferralUnitOfWork, engine, FieldCipher([generate_key()]), contract.messages(policy))
    referrals = Referrals(uow, FakeDirectory(SHELTER, LEGAL_AID), FakeMetrics(), policy, clock=clock)
    yield referrals, clock, engine
    engine.dispose()


def marked(referrals, discovered, who=CASEWORKER, note=NOTE) -> str:
    rid = referrals.creating.create(who, REFERRAL, ORIGIN)[0].referral.id
    referrals.incidents.mark(who, MarkIncident(rid, discovered, discovered, "Công an phường", note), ORIGIN)
    return rid


def states(referrals, who, **filters) -> list[str]:
    return [v.state for v in referrals.incidents.list(who, IncidentFilters(**filters), Page(1, 50))[1]]


def test_the_state_filter_agrees_with_the_rule_at_the_boundary_minute(world):
    referrals, clock, engine = world
    on_time, late, open_ = marked(referrals, T0), marked(referrals, T0), marked(referrals, T0, note=None)
    due_at = referrals.incidents.get(CASEWORKER, on_time, ORIGIN).incident.due_at
    clock.now = due_at - timedelta(minutes=1)
    referrals.incidents.record_written_report(SUPERVISOR, RecordWrittenReport(on_time, clock.now, "Sở Y tế"), ORIGIN)
    assert states(referrals, OPS, state="due") == ["due", "due"]
    clock.now = due_at
    referrals.incidents.record_written_report(SUPERVISOR, RecordWrittenReport(late, due_at, "Sở Y tế"), ORIGIN)
    for state, expected in (("on_time", [on_time]), ("late", [late]), ("missing", [open_]), ("due", [])):
        found = referrals.incidents.list(OPS, IncidentFilters(state=state), Page(1, 50))[1]
        assert [v.incident.referral_id for v in found] == expected, state
    assert sorted(states(referrals, SUPERVISOR)) == ["late", "missing", "on_time"]
    assert states(referrals, OTHER_SUPERVISOR) == []
    assert states(referrals, OPS, discovered_from=T0 + timedelta(seconds=1)) == []
    with engine.connect() as connection:
        notes = connection.execute(sa.select(serious_incidents.c.note)).scalars().all()
    assert None in notes and not any(n and NOTE in n for n in notes)  # encrypted at rest
    assert referrals.incidents.get(CASEWORKER, on_time, ORIGIN).incident.note == NOTE


def test_each_reminder_is_written_to_the_outbox_once(world):
    referrals, clock, engine = world
    rid = marked(referrals, T0)
    due_at = referrals.incidents.get(CASEWORKER, rid, ORIGIN).incident.due_at
    clock.now = due_at - timedelta(days=1)
    assert referrals.incidents.remind_due() == 1 and referrals.incidents.remind_due() == 0
    clock.now = due_at + timedelta(hours=1)
    assert referrals.incidents.remind_due() == 1 and referrals.incidents.remind_due() == 0
    with engine.connect() as connection:
        types = [json.loads(raw)["type"] for raw in connection.execute(sa.select(outbox.c.event)).scalars()]
    assert [t for t in types if "incident" in t] == ["org.haven.referral.incident_due.v1",
                                                     "org.haven.referral.incident_missed.v1"]
