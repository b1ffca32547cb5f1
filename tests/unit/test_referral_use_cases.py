"""The referral use cases on in-memory fakes (tests/unit/referral_fakes.py): what is stored,
which events are published, which refusal is raised. No database, no HTTP; the
integration tests (tests/integration/test_referral_api.py) run the same on the real adapters."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from haven.platform import refusals
from haven.platform.principal import Principal, permissions_for
from services.referral.domain.errors import ConsentRequired, IllegalTransition, NotPermitted
from services.referral.domain.sla import SlaPolicy
from services.referral.service_layer.commands import (Accept, Acknowledge, Complete, ConsentRecord, CreateReferral,
                                                      Decline, DeliveryReport, Origin, Page, Personal, Profile,
                                                      ReferralFilters)
from services.referral.service_layer.errors import (IdempotencyKeyReused, ReferralNotFound, ServiceNotReferable,
                                                    StaleReferral)
from services.referral.service_layer.ports import ServiceInfo
from services.referral.service_layer.referrals import Referrals
from tests.unit.referral_fakes import T0, FakeDirectory, FakeMetrics, FakeReferralUnitOfWork, FixedClock

MINUTE = timedelta(minutes=1)
ORIGIN = Origin(source_ip="192.0.2.1", request_id="req-1")
PHONE = "+84 912 345 678"


def person(subject: str, role: str, organization_id: str) -> Principal:
    return Principal(subject=subject, roles=(role,), organization_id=organization_id,
                     permissions=permissions_for((role,)))


CASEWORKER = person("cw-1", "caseworker", "org-ngo")
SHELTER_STAFF = person("staff-1", "agency_staff", "org-shelter")
LEGAL_STAFF = person("staff-2", "agency_staff", "org-legal")
SHELTER = ServiceInfo("svc-shelter", "org-shelter", "shelter", active=True)
LEGAL_AID = ServiceInfo("svc-legal", "org-legal", "legal_aid", active=True)
CLOSED = ServiceInfo("svc-closed", "org-shelter", "shelter", active=False)

REFERRAL = CreateReferral(
    receiving_service_id=SHELTER.id, urgency="high", risk_level="medium", services_requested=(),
    profile=Profile("C-0042", "25_59", "female"), personal=Personal(name="Hoa", phone=PHONE),
    consent=ConsentRecord(given=True, obtained_by="cw-1", obtained_at=T0 - 5 * MINUTE, scope=("contact",)))


@pytest.fixture
def haven():
    policy = SlaPolicy()  # high: acknowledge within 4 h, decide within 24 h
    uow = FakeReferralUnitOfWork(policy)
    clock = FixedClock()
    metrics = FakeMetrics()
    referrals = Referrals(lambda: uow, FakeDirectory(SHELTER, LEGAL_AID, CLOSED), metrics, policy, clock=clock)
    return SimpleNamespace(uow=uow, clock=clock, metrics=metrics, referrals=referrals)


def create(haven, command: CreateReferral = REFERRAL, key: str | None = None) -> str:
    view, created = haven.referrals.creating.create(CASEWORKER, command, ORIGIN, idempotency_key=key)
    assert created
    return view.referral.id


# --- create ----------------------------------------------------------------------------

def test_a_new_referral_is_stored_and_its_created_event_carries_the_deadlines(haven):
    view, created = haven.referrals.creating.create(CASEWORKER, REFERRAL, ORIGIN)
    stored = haven.uow.referrals.rows[view.referral.id]
    assert created and stored.status == "sent" and stored.receiving_organization_id == "org-shelter"
    assert stored.services_requested == ("shelter",)  # the receiving service's kind, unless asked otherwise
    assert haven.uow.event_types() == ["org.haven.referral.created.v1"]
    sent = haven.uow.outbox[0]
    assert (sent.topic, sent.key) == ("referral-events", stored.id)
    assert datetime.fromisoformat(sent.event.data["acknowledge_by"]) == T0 + timedelta(hours=4)
    assert datetime.fromisoformat(sent.event.data["decide_by"]) == T0 + timedelta(hours=24)
    assert PHONE not in sent.event.to_json().decode() and "Hoa" not in sent.event.to_json().decode()
    assert haven.uow.audit.actions(stored.id) == ["create"]
    assert ("step", "create", "high", "shelter") in haven.metrics.recorded


def test_a_retry_with_the_same_idempotency_key_returns_the_first_referral(haven):
    first = create(haven, key="retry-1")
    haven.clock.advance(MINUTE)
    again, created = haven.referrals.creating.create(CASEWORKER, REFERRAL, ORIGIN, idempotency_key="retry-1")
    assert not created and again.referral.id == first
    assert list(haven.uow.referrals.rows) == [first]
    assert haven.uow.event_types() == ["org.haven.referral.created.v1"]  # one referral, one event


def test_an_idempotency_key_reused_for_another_request_is_refused(haven):
    create(haven, key="retry-1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        haven.referrals.creating.create(CASEWORKER, replace(REFERRAL, urgency="normal"), ORIGIN, idempotency_key="retry-1")
    assert isinstance(refused.value, refusals.Invalid) and refused.value.field == "Idempotency-Key"
    assert len(haven.uow.referrals.rows) == 1 and len(haven.uow.outbox) == 1


def test_without_consent_or_an_override_nothing_is_referred(haven):
    with pytest.raises(ConsentRequired) as refused:
        haven.referrals.creating.create(CASEWORKER, replace(REFERRAL, consent=None, personal=None), ORIGIN)
    assert refused.value.field == "consent"
    assert not haven.uow.referrals.rows and not haven.uow.outbox and not haven.uow.audit.entries


def test_a_service_that_is_not_active_is_refused_and_nothing_is_stored(haven):
    with pytest.raises(ServiceNotReferable):
        haven.referrals.creating.create(CASEWORKER, replace(REFERRAL, receiving_service_id=CLOSED.id), ORIGIN)
    assert not haven.uow.referrals.rows and not haven.uow.outbox and haven.uow.commits == 0


# --- acting on it ----------------------------------------------------------------------

def test_the_receiving_agency_acknowledges_and_the_step_is_published(haven):
    rid = create(haven)
    haven.clock.advance(10 * MINUTE)
    view = haven.referrals.acting.act(SHELTER_STAFF, Acknowledge(referral_id=rid), ORIGIN)
    assert view.referral.status == haven.uow.referrals.rows[rid].status == "acknowledged"
    assert haven.uow.event_types() == ["org.haven.referral.created.v1", "org.haven.referral.acknowledged.v1"]
    assert haven.uow.outbox[-1].event.data["actor_user_id"] == "staff-1"
    assert haven.uow.audit.actions(rid) == ["create", "acknowledge"]
    assert ("time_to_acknowledge", 600.0, "high", "shelter") in haven.metrics.recorded


def test_the_referrer_may_not_accept_for_the_agency(haven):
    rid = create(haven)
    with pytest.raises(NotPermitted):
        haven.referrals.acting.act(CASEWORKER, Accept(referral_id=rid), ORIGIN)
    assert haven.uow.referrals.rows[rid].status == "sent" and len(haven.uow.outbox) == 1


def test_a_step_on_a_version_that_is_no_longer_stored_is_refused(haven):
    rid = create(haven)
    haven.referrals.acting.act(SHELTER_STAFF, Acknowledge(referral_id=rid, expected_version=1), ORIGIN)
    with pytest.raises(StaleReferral) as refused:
        haven.referrals.acting.act(SHELTER_STAFF, Decline(referral_id=rid, expected_version=1, reason="no_capacity"), ORIGIN)
    assert isinstance(refused.value, refusals.PreconditionFailed)
    assert haven.uow.referrals.rows[rid].status == "acknowledged" and len(haven.uow.outbox) == 2


def test_a_step_that_does_not_follow_from_the_status_is_refused(haven):
    rid = create(haven)
    with pytest.raises(IllegalTransition) as refused:
        haven.referrals.acting.act(SHELTER_STAFF, Complete(referral_id=rid), ORIGIN)
    assert (refused.value.status, refused.value.action) == ("sent", "complete")
    assert haven.uow.referrals.rows[rid].status == "sent" and len(haven.uow.outbox) == 1


def test_a_referral_outside_the_callers_reach_is_not_found_and_not_listed(haven):
    shelter = create(haven)
    legal = create(haven, replace(REFERRAL, receiving_service_id=LEGAL_AID.id))
    with pytest.raises(ReferralNotFound):
        haven.referrals.reading.get(LEGAL_STAFF, shelter, ORIGIN)
    total, items = haven.referrals.reading.list(SHELTER_STAFF, ReferralFilters(), Page(1, 20))
    assert total == 1 and [i.referral.id for i in items] == [shelter]
    assert {i.referral.id for i in haven.referrals.reading.list(CASEWORKER, ReferralFilters(), Page(1, 20))[1]} \
        == {shelter, legal}
    # a list says what each agency still owes, without reading anyone's personal fields
    assert [(d.kind, d.state) for d in items[0].deadlines] == [("acknowledge", "pending"), ("decide", "pending")]


# --- the SLA timer ---------------------------------------------------------------------

def test_a_missed_deadline_is_escalated_once_and_published(haven):
    rid = create(haven)
    haven.clock.advance(timedelta(hours=4) + MINUTE)
    assert haven.referrals.sla_timers.escalate_due() == 1
    escalated = haven.uow.outbox[-1].event
    assert escalated.type == "org.haven.referral.escalated.v1" and escalated.data["deadline_kind"] == "acknowledge"
    assert haven.referrals.sla_timers.escalate_due() == 0  # once per deadline
    assert haven.uow.event_types().count("org.haven.referral.escalated.v1") == 1
    assert [(e.actor, e.detail) for e in haven.uow.audit.entries if e.action == "escalate"] == [
        ("system:sla-timer", "acknowledge")]
    assert ("missed_deadline", "acknowledge", "high", "shelter") in haven.metrics.recorded


# --- what notify reported --------------------------------------------------------------

def test_a_delivery_report_is_recorded_and_the_newest_shows_on_the_referral(haven):
    rid = create(haven)

    def report(outcome: str, at: datetime) -> DeliveryReport:
        return DeliveryReport(delivery_id="d-1", referral_id=rid, event_kind="created", channel="email",
                              recipient_kind="organization", outcome=outcome, attempts=1, at=at)

    haven.referrals.delivery_status.record(report("delivered", T0 + MINUTE))
    haven.referrals.delivery_status.record(report("dead", T0))  # an older report arriving late changes nothing
    shown = haven.referrals.reading.get(CASEWORKER, rid, ORIGIN).notifications
    assert [(n["channel"], n["outcome"], n["at"]) for n in shown] == [("email", "delivered", T0 + MINUTE)]


def test_a_timer_round_skips_a_referral_that_fails_and_handles_the_rest(caplog):
    from services.referral.service_layer.rounds import each_on_its_own

    def handle(referral_id):
        if referral_id == "r2":
            raise RuntimeError("the database said no about Nguyễn Thị Lan")  # never logged
        return 1

    with caplog.at_level("ERROR", logger="haven.referral"):
        assert each_on_its_own(["r1", "r2", "r3"], handle, "escalating a referral") == 2
    [record] = caplog.records
    assert record.getMessage() == "escalating a referral failed; skipped until the next round"
    assert (record.referral_id, record.error) == ("r2", "RuntimeError")
    assert "Lan" not in caplog.text
