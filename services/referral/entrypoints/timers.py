"""The referral worker's timers: each a loop calling one use case every so often until
the worker stops."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from haven.platform.background import every

from ..service_layer.referrals import Referrals

log = logging.getLogger(__name__)

# Expired keys already replay nothing (the query asks for their age); pruning only keeps
# the table small, so a few minutes' delay is harmless.
IDEMPOTENCY_PRUNE_SECONDS = 300


def sla_timer(referrals: Referrals, interval: float) -> Callable[[threading.Event], None]:
    """Escalates each missed deadline once (the relay publishes the event)."""
    def run(stop: threading.Event) -> None:
        # REFERRAL_SLA may have changed since the deadlines were stored.
        moved = referrals.sla_timers.restamp_deadlines()
        log.info("SLA deadlines stamped under the current policy", extra={"count": moved})
        every(interval, escalate, stop)

    def escalate() -> None:
        raised = referrals.sla_timers.escalate_due()
        if raised:
            log.info("missed deadlines escalated", extra={"count": raised})

    return run


def idempotency_key_pruning(referrals: Referrals,
                            interval: float = IDEMPOTENCY_PRUNE_SECONDS) -> Callable[[threading.Event], None]:
    def forget() -> None:
        forgotten = referrals.creating.forget_expired_idempotency_keys()
        if forgotten:
            log.info("expired idempotency keys forgotten", extra={"count": forgotten})

    return lambda stop: every(interval, forget, stop)


def incident_reminders(referrals: Referrals, interval: float) -> Callable[[threading.Event], None]:
    """Reminds supervisors of serious incidents' written reports, before and at the deadline
    (the relay publishes the events, notify delivers them)."""
    def remind() -> None:
        sent = referrals.incidents.remind_due()
        if sent:
            log.info("serious-incident reminders raised", extra={"count": sent})

    return lambda stop: every(interval, remind, stop)


__all__ = ["IDEMPOTENCY_PRUNE_SECONDS", "idempotency_key_pruning", "incident_reminders", "sla_timer"]
