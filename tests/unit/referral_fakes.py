"""In-memory stand-ins for the referral unit of work and ports, for the fast use-case tests.

The repositories keep copies, as a database does: what a use case changes on a referral it
was handed is stored only when it saves it, and a referral handed out without its personal
fields is a redacted view. A transaction left without commit is undone (the stores are
restored from their state when it began). The events are collected and published by the
platform's own unit of work, through the referral's real `contract.messages`."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.referral import contract
from services.referral.domain.model import Deadline, Referral, redacted
from services.referral.domain.reach import Reach
from services.referral.domain.sla import SlaPolicy
from services.referral.service_layer.commands import AuditFilters, DeliveryReport, Page, ReferralFilters
from services.referral.service_layer.errors import IdempotencyKeyTaken, StaleReferral, UnknownService
from services.referral.service_layer.ports import ServiceInfo
from services.referral.service_layer.unit_of_work import ReferralUnitOfWork
from tests.support.fakes import FakeUnitOfWork
from tests.unit.incident_fakes import FakeIncidents

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _stored(referral: Referral) -> Referral:
    """A copy as the database keeps it: its events are the outbox's, not the row's."""
    stored = copy.deepcopy(referral)
    stored.events = []
    return stored


class FakeReferrals:
    def __init__(self, track):
        self.track = track
        self.rows: dict[str, Referral] = {}
        self.next_deadlines: dict[str, datetime | None] = {}
        self.keys: dict[tuple[str, str], tuple[str, str, datetime]] = {}  # (user, key) -> (hash, referral id, at)
        self._loaded: dict[str, int] = {}  # id -> version as handed out

    def get(self, referral_id, *, personal=False, for_update=False, reach: Reach | None = None, skip_locked=False,
            system=False):
        stored = self.rows.get(referral_id)
        if stored is None or (reach is not None and not reach.covers(stored)):
            return None
        referral = copy.deepcopy(stored)
        if not personal and not system:
            referral = redacted(referral)
        self._loaded[referral_id] = referral.version
        return self.track(referral)

    def list(self, reach: Reach, filters: ReferralFilters, page: Page):
        found = [r for r in self.rows.values() if reach.covers(r)
                 and all(getattr(filters, name) in (None, getattr(r, name))
                         for name in ("status", "urgency", "service_kind"))]
        found.sort(key=lambda r: r.created_at, reverse=True)
        return len(found), [redacted(r) for r in found[page.offset:page.offset + page.size]]

    def add(self, referral: Referral, next_deadline: Deadline | None) -> None:
        assert not referral.personal_withheld, "a redacted view must never be saved"
        self.rows[referral.id] = _stored(referral)
        self.next_deadlines[referral.id] = next_deadline and next_deadline.due_at
        self._loaded[referral.id] = referral.version
        self.track(referral)

    def save(self, referral: Referral, next_deadline: Deadline | None) -> None:
        assert not referral.personal_withheld, "a redacted view must never be saved"
        if self.rows[referral.id].version != self._loaded[referral.id]:
            raise StaleReferral(referral.id)
        self.rows[referral.id] = _stored(referral)
        self.next_deadlines[referral.id] = next_deadline and next_deadline.due_at
        self._loaded[referral.id] = referral.version

    def waiting(self) -> list[str]:
        return [r.id for r in self.rows.values() if r.status in ("sent", "acknowledged", "accepted")]

    def set_next_deadline(self, referral_id: str, next_deadline: Deadline | None) -> None:
        self.next_deadlines[referral_id] = next_deadline and next_deadline.due_at

    def due(self, now: datetime, limit: int = 200) -> list[str]:
        due = sorted((at, rid) for rid, at in self.next_deadlines.items() if at is not None and at <= now)
        return [rid for _, rid in due[:limit]]

    def by_idempotency_key(self, user_id, key, not_before):
        found = self.keys.get((user_id, key))
        return None if found is None or found[2] < not_before else (found[0], found[1])

    def remember_idempotency_key(self, user_id, key, request_hash, referral_id, at, expired_before):
        found = self.keys.get((user_id, key))
        if found is not None and found[2] >= expired_before:
            raise IdempotencyKeyTaken(key)
        self.keys[(user_id, key)] = (request_hash, referral_id, at)

    def forget_idempotency_keys(self, before: datetime) -> int:
        old = [k for k, (_, _, at) in self.keys.items() if at < before]
        for k in old:
            del self.keys[k]
        return len(old)


@dataclass
class AuditEntry:
    actor: str
    action: str
    referral_id: str | None
    at: datetime
    detail: str | None


class FakeAudit:
    def __init__(self):
        self.entries: list[AuditEntry] = []

    def record(self, principal, action, referral_id, origin, at, detail=None) -> None:
        self.entries.append(AuditEntry(principal.subject, action, referral_id, at, detail))

    def list(self, filters: AuditFilters, page: Page):
        found = [e for e in reversed(self.entries) if filters.referral_id in (None, e.referral_id)]
        return len(found), [vars(e) for e in found[page.offset:page.offset + page.size]]

    def actions(self, referral_id: str) -> list[str]:
        return [e.action for e in self.entries if e.referral_id == referral_id]


class FakeDeliveryReports:
    def __init__(self):
        self.rows: dict[str, DeliveryReport] = {}

    def record(self, report: DeliveryReport) -> None:
        known = self.rows.get(report.delivery_id)
        if known is None or known.at <= report.at:
            self.rows[report.delivery_id] = report

    def of_referral(self, referral_id: str) -> list[dict]:
        reports = sorted((r for r in self.rows.values() if r.referral_id == referral_id),
                         key=lambda r: (r.at, r.delivery_id))
        return [{"event_kind": r.event_kind, "channel": r.channel, "recipient_kind": r.recipient_kind,
                 "outcome": r.outcome, "attempts": r.attempts, "at": r.at} for r in reports]

    def of_referrals(self, referral_ids: list[str]) -> dict[str, list[dict]]:
        return {i: found for i in referral_ids if (found := self.of_referral(i))}


class FakeReferralUnitOfWork(FakeUnitOfWork, ReferralUnitOfWork):
    def __init__(self, policy: SlaPolicy):
        super().__init__(contract.messages(policy))
        self.referrals = FakeReferrals(self.track)
        self.audit = FakeAudit()
        self.notifications = FakeDeliveryReports()
        self.incidents = FakeIncidents()

    def stores(self) -> tuple:
        return self.referrals, self.audit, self.notifications, self.incidents


class FakeDirectory:
    """The directory as a dict of services; any of `kinds` may be requested."""

    def __init__(self, *services: ServiceInfo, kinds: frozenset[str] = frozenset({"shelter", "legal_aid"})):
        self.services = {s.id: s for s in services}
        self._kinds = kinds

    def service(self, service_id: str) -> ServiceInfo:
        if service_id not in self.services:
            raise UnknownService(service_id)
        return self.services[service_id]

    def kinds(self) -> frozenset[str]:
        return self._kinds


@dataclass
class FakeMetrics:
    recorded: list[tuple] = field(default_factory=list)

    def step(self, action, urgency, service_kind):
        self.recorded.append(("step", action, urgency, service_kind))

    def time_to_acknowledge(self, seconds, urgency, service_kind):
        self.recorded.append(("time_to_acknowledge", seconds, urgency, service_kind))

    def time_to_decision(self, seconds, urgency, service_kind):
        self.recorded.append(("time_to_decision", seconds, urgency, service_kind))

    def time_to_complete(self, seconds, urgency, service_kind):
        self.recorded.append(("time_to_complete", seconds, urgency, service_kind))

    def missed_deadline(self, deadline_kind, urgency, service_kind):
        self.recorded.append(("missed_deadline", deadline_kind, urgency, service_kind))


class FixedClock:
    """Stands still until told to move."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by
