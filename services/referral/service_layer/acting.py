"""Moving a referral through its lifecycle: acknowledge, accept, decline, complete,
cancel. The step, its history entry, its event and its audit lines are written together."""
from __future__ import annotations

from haven.platform.principal import Principal

from ..domain import sla
from ..domain.model import Referral
from .access import actor_of, disclose, reach_of, visible
from .commands import Act, Origin
from .errors import ReferralNotFound, StaleReferral
from .ports import Clock, Metrics
from .reading import Reading, View
from .unit_of_work import UnitOfWorkFactory


class Acting:
    def __init__(self, uow: UnitOfWorkFactory, metrics: Metrics, policy: sla.SlaPolicy,
                 clock: Clock, reading: Reading):
        self.uow, self.metrics, self.policy, self.clock, self.reading = uow, metrics, policy, clock, reading

    def act(self, principal: Principal, command: Act, origin: Origin) -> View:
        """Raises ReferralNotFound, domain errors (NotPermitted, IllegalTransition,
        InvalidReferral), StaleReferral."""
        details = command.details()
        with self.uow() as uow:
            referral = uow.referrals.get(command.referral_id, personal=True, for_update=True,
                                         reach=reach_of(principal))
            if referral is None or not visible(principal, referral):
                raise ReferralNotFound(command.referral_id)
            if command.expected_version is not None and command.expected_version != referral.version:
                raise StaleReferral(command.referral_id)
            now = max(self.clock(), referral.history[-1].at)  # never before the last step (clock skew)
            getattr(referral, command.action)(actor_of(principal), now, **details)
            uow.referrals.save(referral, sla.next_deadline(referral, self.policy))
            uow.audit.record(principal, command.action, referral.id, origin, now, detail=details.get("reason"))
            shown = disclose(principal, referral)[2]
            if shown:  # the answer shows personal data: a read, too
                uow.audit.record(principal, "read_personal", referral.id, origin, now, detail=shown)
            uow.commit()
        self._observe(command.action, referral)
        return self.reading.view(principal, referral, origin, audited=True)

    def _observe(self, action: str, referral: Referral) -> None:
        labels = (referral.urgency, referral.service_kind)
        self.metrics.step(action, *labels)
        if action in ("acknowledge", "decline") and referral.history[-1].from_status == "sent":
            self.metrics.time_to_acknowledge(referral.time_to_acknowledge().total_seconds(), *labels)
        if action in ("accept", "decline"):
            self.metrics.time_to_decision(referral.time_to_decision().total_seconds(), *labels)
        if action == "complete":
            self.metrics.time_to_complete(referral.time_to_complete().total_seconds(), *labels)


__all__ = ["Acting"]
