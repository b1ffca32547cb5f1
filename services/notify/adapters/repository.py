"""The notify repositories on SQLAlchemy Core: every statement the use cases need, one
class per table family, all on the unit of work's connection (its transaction)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..domain.delivery import RETRYABLE, Attempt, Delivery
from ..domain.inbox import InboxItem
from ..domain.model import ORGANIZATION, USER
from ..domain.subscription import Subscription
from ..service_layer.unit_of_work import Duplicate
from .orm import attempts, consumed_events, deliveries, inbox, subscriptions


def _insert(connection: Connection, table: sa.Table, values: dict) -> None:
    try:
        connection.execute(table.insert().values(**values))
    except IntegrityError as exc:
        raise Duplicate(table.name) from exc


def _count(connection: Connection, table: sa.Table, condition) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar()


class SubscriptionRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, subscription: Subscription) -> None:
        _insert(self.connection, subscriptions, asdict(subscription))

    def get(self, subscription_id: str) -> Subscription | None:
        row = self.connection.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return Subscription(**row._mapping) if row is not None else None

    def delete(self, subscription_id: str) -> None:
        self.connection.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id))

    def page(self, organization_id: str | None, page: int, per_page: int) -> tuple[int, list[Subscription]]:
        condition = sa.true() if organization_id is None else subscriptions.c.organization_id == organization_id
        total = _count(self.connection, subscriptions, condition)
        rows = self.connection.execute(sa.select(subscriptions).where(condition)
                                       .order_by(subscriptions.c.created_at, subscriptions.c.id)
                                       .limit(per_page).offset((page - 1) * per_page)).all()
        return total, [Subscription(**row._mapping) for row in rows]

    def _where(self, condition) -> list[Subscription]:
        rows = self.connection.execute(sa.select(subscriptions).where(condition)
                                       .order_by(subscriptions.c.created_at)).all()
        return [Subscription(**row._mapping) for row in rows]

    def of_organization(self, organization_id: str) -> list[Subscription]:
        c = subscriptions.c
        return self._where(sa.and_(c.organization_id == organization_id, c.user_id.is_(None)))

    def of_person(self, organization_id: str, user_id: str, organization_wide: bool) -> list[Subscription]:
        c = subscriptions.c
        mine = sa.and_(c.organization_id == organization_id, c.user_id == user_id)
        everyone = sa.and_(c.organization_id == organization_id, c.user_id.is_(None))
        return self._where(sa.or_(mine, everyone) if organization_wide else mine)


class DeliveryRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def _one(self, condition) -> Delivery | None:
        row = self.connection.execute(sa.select(deliveries).where(condition)).first()
        return Delivery(**row._mapping) if row is not None else None

    def _many(self, query) -> list[Delivery]:
        return [Delivery(**row._mapping) for row in self.connection.execute(query).all()]

    def add(self, delivery: Delivery) -> None:
        _insert(self.connection, deliveries, asdict(delivery))

    def get(self, delivery_id: str, organization_id: str | None = None) -> Delivery | None:
        condition = deliveries.c.id == delivery_id
        if organization_id is not None:
            condition = sa.and_(condition, deliveries.c.organization_id == organization_id)
        return self._one(condition)

    def page(self, organization_id: str | None, referral_id: str | None, status: str | None, channel: str | None,
             page: int, per_page: int) -> tuple[int, list[Delivery]]:
        condition = sa.true() if organization_id is None else deliveries.c.organization_id == organization_id
        for name, value in (("referral_id", referral_id), ("status", status), ("channel", channel)):
            if value:
                condition = sa.and_(condition, deliveries.c[name] == value)
        total = _count(self.connection, deliveries, condition)
        return total, self._many(sa.select(deliveries).where(condition)
                                 .order_by(deliveries.c.created_at.desc(), deliveries.c.id)
                                 .limit(per_page).offset((page - 1) * per_page))

    def attempts_of(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        tried: dict[str, list[Attempt]] = {}
        for row in self.connection.execute(sa.select(attempts).where(attempts.c.delivery_id.in_(delivery_ids))
                                           .order_by(attempts.c.number)):
            tried.setdefault(row.delivery_id, []).append(Attempt(**row._mapping))
        return tried

    def reopen(self, delivery: Delivery) -> None:
        self.connection.execute(deliveries.update().where(deliveries.c.id == delivery.id,
                                                          deliveries.c.status.in_(RETRYABLE))
                                .values(status=delivery.status, next_attempt_at=delivery.next_attempt_at,
                                        finished_at=delivery.finished_at, max_attempts=delivery.max_attempts,
                                        target=delivery.target))

    def due(self, channel: str, now: datetime, limit: int) -> list[Delivery]:
        c = deliveries.c
        return self._many(sa.select(deliveries).where(c.status == "pending", c.channel == channel,
                                                      c.next_attempt_at <= now)
                          .order_by(c.next_attempt_at).limit(limit))

    def due_elsewhere(self, channels: Iterable[str], now: datetime, limit: int) -> list[Delivery]:
        c = deliveries.c
        return self._many(sa.select(deliveries).where(c.status == "pending", c.next_attempt_at <= now,
                                                      c.channel.not_in(list(channels))).limit(limit))

    def soonest_pending(self) -> datetime | None:
        return self.connection.execute(sa.select(sa.func.min(deliveries.c.next_attempt_at))
                                       .where(deliveries.c.status == "pending")).scalar()

    def count_dead(self) -> int:
        return self.connection.execute(sa.select(sa.func.count()).select_from(deliveries)
                                       .where(deliveries.c.status == "dead")).scalar_one()

    def postpone(self, delivery_id: str, until: datetime) -> None:
        self.connection.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                                          deliveries.c.status == "pending")
                                .values(next_attempt_at=until))

    def claim(self, delivery_id: str, number: int) -> bool:
        return bool(self.connection.execute(deliveries.update().where(deliveries.c.id == delivery_id,
                                                                      deliveries.c.status == "pending")
                                            .values(status="sending", attempts=number)).rowcount)

    def start_attempt(self, delivery_id: str, number: int, started_at: datetime) -> int:
        return self.connection.execute(attempts.insert().values(
            delivery_id=delivery_id, number=number, started_at=started_at)).inserted_primary_key[0]

    def finish_attempt(self, attempt_id: int, latency_ms: float, outcome: str, status_code: int | None,
                       error: str | None) -> None:
        self.connection.execute(attempts.update().where(attempts.c.id == attempt_id).values(
            latency_ms=latency_ms, outcome=outcome, status_code=status_code, error=error))

    def organization_told(self, event_id: str) -> bool:
        # The event's deliveries to organizations are locked first, in one order, so two
        # channels succeeding at once take turns and the second sees the first's "delivered":
        # under PostgreSQL's READ COMMITTED both would otherwise see none and the first notice
        # would be counted twice. (SQLite lets one writer in at a time anyway.)
        c = deliveries.c
        statuses = self.connection.execute(sa.select(c.status).where(
            c.event_id == event_id, c.recipient_kind == ORGANIZATION).order_by(c.id).with_for_update()).scalars()
        return "delivered" in statuses.all()

    def settle(self, delivery_id: str, status: str, next_attempt_at: datetime | None, target: str | None,
               last_status_code: int | None, last_error: str | None, finished_at: datetime | None) -> None:
        self.connection.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
            status=status, next_attempt_at=next_attempt_at, target=target, last_status_code=last_status_code,
            last_error=last_error, finished_at=finished_at))

    def interrupt_attempts_in_flight(self) -> None:
        self.connection.execute(attempts.update().where(attempts.c.outcome.is_(None)).values(outcome="interrupted"))

    def requeue_sending(self, now: datetime) -> int:
        return self.connection.execute(deliveries.update().where(deliveries.c.status == "sending")
                                       .values(status="pending", next_attempt_at=now)).rowcount


class InboxRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    @staticmethod
    def _addressed_to(user_id: str, organization_id: str | None):
        condition = sa.and_(inbox.c.recipient_kind == USER, inbox.c.recipient_id == user_id)
        if organization_id:
            condition = sa.or_(condition, sa.and_(inbox.c.recipient_kind == ORGANIZATION,
                                                  inbox.c.recipient_id == organization_id))
        return condition

    def add(self, item: InboxItem) -> None:
        _insert(self.connection, inbox, asdict(item))

    def page(self, user_id: str, organization_id: str | None, unread_only: bool, page: int,
             per_page: int) -> tuple[int, int, list[InboxItem]]:
        condition = self._addressed_to(user_id, organization_id)
        unread_condition = sa.and_(condition, inbox.c.read_at.is_(None))
        total = _count(self.connection, inbox, unread_condition if unread_only else condition)
        unread = _count(self.connection, inbox, unread_condition)
        rows = self.connection.execute(sa.select(inbox).where(unread_condition if unread_only else condition)
                                       .order_by(inbox.c.created_at.desc(), inbox.c.id)
                                       .limit(per_page).offset((page - 1) * per_page)).all()
        return total, unread, [InboxItem(**row._mapping) for row in rows]

    def get(self, item_id: str, user_id: str, organization_id: str | None) -> InboxItem | None:
        row = self.connection.execute(sa.select(inbox).where(inbox.c.id == item_id,
                                                             self._addressed_to(user_id, organization_id))).first()
        return InboxItem(**row._mapping) if row is not None else None

    def mark_read(self, item_id: str, at: datetime, by: str) -> None:
        self.connection.execute(inbox.update().where(inbox.c.id == item_id).values(read_at=at, read_by=by))


class ConsumedEventRepository:
    """Referral events already fanned out: a redelivered event is recognised and skipped."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, event_id: str, consumed_at: datetime) -> None:
        _insert(self.connection, consumed_events, {"event_id": event_id, "consumed_at": consumed_at})

    def contains(self, event_id: str) -> bool:
        return self.connection.execute(sa.select(consumed_events.c.event_id)
                                       .where(consumed_events.c.event_id == event_id)).first() is not None


__all__ = ["ConsumedEventRepository", "DeliveryRepository", "InboxRepository", "SubscriptionRepository"]
