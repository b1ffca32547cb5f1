"""The SLA timer's use cases: escalate each missed deadline once, and re-stamp the stored
next deadlines after a change of policy. Personal fields are neither decrypted nor touched."""
from __future__ import annotations

from datetime import datetime

from ..domain import sla
from .access import SYSTEM
from .commands import Origin
from .ports import Clock, Metrics
from .rounds import each_on_its_own
from .unit_of_work import UnitOfWorkFactory


class SlaTimers:
    def __init__(self, uow: UnitOfWorkFactory, metrics: Metrics, policy: sla.SlaPolicy, clock: Clock):
        self.uow, self.metrics, self.policy, self.clock = uow, metrics, policy, clock

    def escalate_due(self, limit: int = 200) -> int:
        """Escalate every missed deadline whose time has come; returns how many escalations.
        One referral that cannot be handled is logged and skipped, never blocking the rest."""
        now = self.clock()
        with self.uow() as uow:
            due = uow.referrals.due(now, limit)
        return each_on_its_own(due, lambda referral_id: self._escalate(referral_id, now), "escalating a referral")

    def _escalate(self, referral_id: str, now: datetime) -> int:
        with self.uow() as uow:
            # skip_locked: another timer (a second worker) already has it
            referral = uow.referrals.get(referral_id, system=True, for_update=True, skip_locked=True)
            if referral is None:
                return 0
            at = max(now, referral.history[-1].at)
            escalations = sla.escalate_overdue(referral, self.policy, at)
            uow.referrals.save(referral, sla.next_deadline(referral, self.policy))
            for event in escalations:
                uow.audit.record(SYSTEM, "escalate", referral.id, Origin(), at, detail=event.deadline_kind)
            uow.commit()
        for event in escalations:
            self.metrics.missed_deadline(event.deadline_kind, referral.urgency, referral.service_kind)
        return len(escalations)

    def restamp_deadlines(self) -> int:
        """After a change of REFERRAL_SLA: store each waiting referral's next deadline under
        the policy in force now (the timer selects on it). Returns how many moved."""
        moved = 0
        with self.uow() as uow:
            for referral_id in uow.referrals.waiting():
                referral = uow.referrals.get(referral_id, system=True)
                uow.referrals.set_next_deadline(referral_id, sla.next_deadline(referral, self.policy))
                moved += 1
            uow.commit()
        return moved


__all__ = ["SlaTimers"]
