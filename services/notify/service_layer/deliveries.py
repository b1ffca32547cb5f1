"""Reading delivery records, and sending a dead-lettered delivery again."""
from __future__ import annotations

from dataclasses import asdict

from haven.platform.principal import Principal

from ..domain.delivery import Attempt, Delivery
from ..domain.errors import NotFound
from ..domain.policy import Backoff
from .commands import ListDeliveries, RetryDelivery
from .common import scope_of, utcnow
from .ports import Clock
from .unit_of_work import UnitOfWorkFactory

_FIELDS = ("id", "event_id", "event_kind", "referral_id", "recipient_kind", "recipient_id", "organization_id",
           "channel", "subscription_id", "target", "status", "attempts", "max_attempts", "next_attempt_at",
           "event_time", "created_at", "finished_at", "last_status_code", "last_error")
_ATTEMPT_FIELDS = ("number", "started_at", "latency_ms", "outcome", "status_code", "error")


def _body(delivery: Delivery, tried: list[Attempt]) -> dict:
    body = {name: getattr(delivery, name) for name in _FIELDS}
    body["attempt_log"] = [{name: value for name, value in asdict(attempt).items() if name in _ATTEMPT_FIELDS}
                           for attempt in tried]
    return body


class Deliveries:
    def __init__(self, uow: UnitOfWorkFactory, backoff: Backoff, clock: Clock = utcnow):
        self.uow, self.backoff, self.clock = uow, backoff, clock

    def list(self, principal: Principal, query: ListDeliveries) -> tuple[int, list[dict]]:
        with self.uow() as uow:
            total, found = uow.deliveries.page(scope_of(principal), query.referral_id, query.status, query.channel,
                                               query.page, query.per_page)
            tried = uow.deliveries.attempts_of([delivery.id for delivery in found]) if found else {}
        return total, [_body(delivery, tried.get(delivery.id, [])) for delivery in found]

    def retry(self, principal: Principal, command: RetryDelivery) -> dict:
        """Send a dead-lettered delivery again, with a fresh allowance of attempts."""
        with self.uow() as uow:
            delivery = uow.deliveries.get(command.delivery_id, scope_of(principal))
            if delivery is None:
                raise NotFound(command.delivery_id)
            delivery.reopen(self.backoff.max_attempts, self.clock())
            uow.deliveries.reopen(delivery)
            delivery = uow.deliveries.get(command.delivery_id)
            uow.commit()
        return _body(delivery, [])
