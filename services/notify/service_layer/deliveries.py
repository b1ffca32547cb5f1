"""Reading delivery records, and sending a dead-lettered delivery again."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from haven.platform.auth import Principal

from ..adapters.orm import attempts, deliveries
from ..domain.policy import Backoff
from .common import Conflict, NotFound, utcnow
from .subscriptions import scope_of

RETRYABLE = ("dead", "undeliverable")
_FIELDS = ("id", "event_id", "event_kind", "referral_id", "recipient_kind", "recipient_id", "organization_id",
           "channel", "subscription_id", "target", "status", "attempts", "max_attempts", "next_attempt_at",
           "event_time", "created_at", "finished_at", "last_status_code", "last_error")


class Deliveries:
    def __init__(self, engine: Engine, backoff: Backoff):
        self.engine, self.backoff = engine, backoff

    def _visible(self, principal: Principal):
        scope = scope_of(principal)
        return sa.true() if scope is None else deliveries.c.organization_id == scope

    def list(self, principal: Principal, query: dict, page: int, per_page: int) -> tuple[int, list[dict]]:
        condition = self._visible(principal)
        for name in ("referral_id", "status", "channel"):
            if query.get(name):
                condition = sa.and_(condition, deliveries.c[name] == query[name])
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(deliveries).where(condition)).scalar()
            rows = connection.execute(sa.select(deliveries).where(condition)
                                      .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
                                      .limit(per_page).offset((page - 1) * per_page)).all()
            tried = {}
            if rows:
                for attempt in connection.execute(sa.select(attempts).where(
                        attempts.c.delivery_id.in_([row.id for row in rows])).order_by(attempts.c.number)):
                    tried.setdefault(attempt.delivery_id, []).append(
                        {"number": attempt.number, "started_at": attempt.started_at,
                         "latency_ms": attempt.latency_ms, "outcome": attempt.outcome,
                         "status_code": attempt.status_code, "error": attempt.error})
        return total, [self._body(row, tried.get(row.id, [])) for row in rows]

    @staticmethod
    def _body(row, tried: list) -> dict:
        body = {name: getattr(row, name) for name in _FIELDS}
        body["attempt_log"] = tried
        return body

    def retry(self, principal: Principal, delivery_id: str) -> dict:
        """Send a dead-lettered delivery again, with a fresh allowance of attempts."""
        with self.engine.begin() as connection:
            row = connection.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id,
                                                                 self._visible(principal))).first()
            if row is None:
                raise NotFound(delivery_id)
            if row.status not in RETRYABLE:
                raise Conflict(row.status)
            connection.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                                         deliveries.c.status.in_(RETRYABLE))
                               .values(status="pending", next_attempt_at=utcnow(), finished_at=None,
                                       max_attempts=row.attempts + self.backoff.max_attempts,
                                       target=None if row.subscription_id is None and row.recipient_kind ==
                                       "organization" else row.target))
            row = connection.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return self._body(row, [])
