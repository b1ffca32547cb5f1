"""The unit of work the notify use cases see: one transaction, its repositories, and the
delivery outcomes it publishes (`publish`, written to the outbox with the delivery's change).
`adapters/unit_of_work.py` is the SQL one; the unit tests use in-memory ones."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Protocol

from haven.platform.unit_of_work import UnitOfWork

from ..domain.delivery import Attempt, Delivery
from ..domain.inbox import InboxItem
from ..domain.subscription import Subscription


class Duplicate(Exception):
    """A record with the same identity exists already (an event consumed twice)."""


class Subscriptions(Protocol):
    def add(self, subscription: Subscription) -> None: ...

    def get(self, subscription_id: str) -> Subscription | None: ...

    def delete(self, subscription_id: str) -> None: ...

    def page(self, organization_id: str | None, page: int, per_page: int) -> tuple[int, list[Subscription]]:
        """Oldest first; every organization's when `organization_id` is None."""

    def of_organization(self, organization_id: str) -> list[Subscription]:
        """Its organization-wide subscriptions (no user id), oldest first."""

    def of_person(self, organization_id: str, user_id: str, organization_wide: bool) -> list[Subscription]:
        """The person's own, and the organization-wide ones too if `organization_wide`; oldest first."""


class Deliveries(Protocol):
    def add(self, delivery: Delivery) -> None:
        """Duplicate if one exists for the same recipient, channel and event."""

    def get(self, delivery_id: str, organization_id: str | None = None) -> Delivery | None:
        """`organization_id`: only a delivery to that organization (None: any)."""

    def page(self, organization_id: str | None, referral_id: str | None, status: str | None, channel: str | None,
             page: int, per_page: int) -> tuple[int, list[Delivery]]:
        """Newest first; None filters nothing."""

    def attempts_of(self, delivery_ids: list[str]) -> dict[str, list[Attempt]]:
        """Each delivery's attempts, in order."""

    def reopen(self, delivery: Delivery) -> None:
        """Store a reopened delivery, if it is still retryable."""

    def due(self, channel: str, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries of `channel` whose time has come, soonest first."""

    def due_elsewhere(self, channels: Iterable[str], now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, of a channel not in `channels`."""

    def soonest_pending(self) -> datetime | None: ...

    def count_dead(self) -> int: ...

    def postpone(self, delivery_id: str, until: datetime) -> None:
        """A pending delivery waits until `until` (no attempt spent)."""

    def claim(self, delivery_id: str, number: int) -> bool:
        """pending -> sending as attempt `number`; False if it is not pending any more."""

    def start_attempt(self, delivery_id: str, number: int, started_at: datetime) -> int:
        """Record an attempt in flight; returns its id."""

    def finish_attempt(self, attempt_id: int, latency_ms: float, outcome: str, status_code: int | None,
                       error: str | None) -> None: ...

    def organization_told(self, event_id: str) -> bool:
        """Has a delivery of this event to an organization succeeded? Two units of work asking
        for the same event at once take turns, so only one of them hears no."""

    def settle(self, delivery_id: str, status: str, next_attempt_at: datetime | None, target: str | None,
               last_status_code: int | None, last_error: str | None, finished_at: datetime | None) -> None: ...

    def interrupt_attempts_in_flight(self) -> None: ...

    def requeue_sending(self, now: datetime) -> int:
        """Deliveries left `sending` go back to pending; returns how many."""


class Inbox(Protocol):
    def add(self, item: InboxItem) -> None: ...

    def page(self, user_id: str, organization_id: str | None, unread_only: bool, page: int,
             per_page: int) -> tuple[int, int, list[InboxItem]]:
        """Items addressed to the user or to their organization, newest first: total, unread, page."""

    def get(self, item_id: str, user_id: str, organization_id: str | None) -> InboxItem | None:
        """The item, if addressed to the user or to their organization."""

    def mark_read(self, item_id: str, at: datetime, by: str) -> None: ...


class ConsumedEvents(Protocol):
    def add(self, event_id: str, consumed_at: datetime) -> None:
        """Duplicate if it was consumed before."""

    def contains(self, event_id: str) -> bool: ...


class NotifyUnitOfWork(UnitOfWork):
    subscriptions: Subscriptions
    deliveries: Deliveries
    inbox: Inbox
    consumed_events: ConsumedEvents


UnitOfWorkFactory = Callable[[], NotifyUnitOfWork]

__all__ = ["ConsumedEvents", "Deliveries", "Duplicate", "Inbox", "NotifyUnitOfWork", "Subscriptions",
           "UnitOfWorkFactory"]
