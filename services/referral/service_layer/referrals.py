"""The referral use cases behind one object, the one the entrypoints and the worker hold:
create (`creating`), read (`reading`), move through the lifecycle (`acting`), escalate
missed deadlines (`sla_timers`), keep what notify reported (`delivery_status`). One
database transaction each; the referral, its history, its outbox events and its audit
lines are written together or not at all. Who sees what: `access`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from haven.platform.principal import Principal

from ..domain import sla
from ..domain.model import Referral
from .acting import Acting
from .commands import Act, AuditFilters, CreateReferral, DeliveryReport, Origin, Page, ReferralFilters, ReRefer
from .creating import Creating
from .delivery_status import DeliveryStatus
from .ports import Clock, DirectoryLookup, Metrics
from .reading import Reading, View
from .sla_timers import SlaTimers
from .unit_of_work import UnitOfWorkFactory


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Referrals:
    def __init__(self, uow: UnitOfWorkFactory, directory: DirectoryLookup, metrics: Metrics,
                 policy: sla.SlaPolicy, clock: Clock = utc_now, idempotency_window: timedelta = timedelta(hours=24)):
        self.clock = clock
        # Every part reads the time through `now`, so setting `clock` moves them all.
        now = self.now
        self.reading = Reading(uow, policy, now)
        self.creating = Creating(uow, directory, metrics, policy, now, self.reading, idempotency_window)
        self.acting = Acting(uow, metrics, policy, now, self.reading)
        self.sla_timers = SlaTimers(uow, metrics, policy, now)
        self.delivery_status = DeliveryStatus(uow)

    def now(self) -> datetime:
        return self.clock()

    def create(self, principal: Principal, command: CreateReferral, origin: Origin,
               idempotency_key: str | None = None) -> tuple[View, bool]:
        return self.creating.create(principal, command, origin, idempotency_key)

    def re_refer(self, principal: Principal, command: ReRefer, origin: Origin) -> View:
        return self.creating.re_refer(principal, command, origin)

    def get(self, principal: Principal, referral_id: str, origin: Origin) -> View:
        return self.reading.get(principal, referral_id, origin)

    def list(self, principal: Principal, filters: ReferralFilters, page: Page) -> tuple[int, list[Referral]]:
        return self.reading.list(principal, filters, page)

    def audit(self, filters: AuditFilters, page: Page) -> tuple[int, list[dict]]:
        return self.reading.audit(filters, page)

    def act(self, principal: Principal, command: Act, origin: Origin) -> View:
        return self.acting.act(principal, command, origin)

    def escalate_due(self, limit: int = 200) -> int:
        return self.sla_timers.escalate_due(limit)

    def restamp_deadlines(self) -> int:
        return self.sla_timers.restamp_deadlines()

    def forget_expired_idempotency_keys(self) -> int:
        return self.creating.forget_expired_idempotency_keys()

    def record_delivery(self, report: DeliveryReport) -> None:
        self.delivery_status.record(report)


__all__ = ["Referrals", "View", "utc_now"]
