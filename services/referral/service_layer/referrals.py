"""The referral use cases as bootstrap wires them, one object per purpose (as the
directory's `Directory`): create (`creating`), read (`reading`), move through the
lifecycle (`acting`), escalate missed deadlines (`sla_timers`), keep what notify reported
(`delivery_status`). Entrypoints take the one they need. One database transaction each;
the referral, its history, its outbox events and its audit lines are written together or
not at all. Who sees what: `access`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..domain import sla
from .acting import Acting
from .creating import Creating
from .delivery_status import DeliveryStatus
from .incidents import Incidents
from .ports import Clock, DirectoryLookup, Metrics
from .reading import Reading
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
        self.incidents = Incidents(uow, policy, now)

    def now(self) -> datetime:
        return self.clock()


__all__ = ["Referrals", "utc_now"]
