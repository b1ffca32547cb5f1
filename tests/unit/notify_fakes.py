"""In-memory stand-ins for notify's unit of work and ports, for the fast use-case tests.

The repositories keep copies, as a database does: what a use case changes on an object it
was handed is stored only when it tells the repository. A transaction left without commit
is undone (the stores are restored from their state when it began)."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Iterable

from services.notify.domain.delivery import RETRYABLE, Attempt, Delivery
from services.notify.domain.inbox import InboxItem
from services.notify.domain.model import ORGANIZATION, USER
from services.notify.domain.subscription import Subscription
from services.notify.service_layer.ports import Contact, DirectoryUnavailable, Outbound, Result, SecretUnreadable
from services.notify.service_layer.unit_of_work import Duplicate, NotifyUnitOfWork
from tests.support.fakes import FakeUnitOfWork


def _page(items: list, page: int, per_page: int) -> list:
    return items[(page - 1) * per_page:page * per_page]


class FakeSubscriptions:
    def __init__(self):
        self.rows: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        self.rows[subscription.id] = subscription

    def get(self, subscription_id: str) -> Subscription | None:
        return self.rows.get(subscription_id)

    def delete(self, subscription_id: str) -> None:
        self.rows.pop(subscription_id, None)

    def page(self, organization_id, page, per_page):
        found = sorted((s for s in self.rows.values() if organization_id is None
                        or s.organization_id == organization_id), key=lambda s: (s.created_at, s.id))
        return len(found), _page(found, page, per_page)

    def _oldest_first(self, keep) -> list[Subscription]:
        return sorted((s for s in self.rows.values() if keep(s)), key=lambda s: s.created_at)

    def of_organization(self, organization_id):
        return self._oldest_first(lambda s: s.organization_id == organization_id and s.user_id is None)

    def of_person(self, organization_id, user_id, organization_wide):
        return self._oldest_first(lambda s: s.organization_id == organization_id
                                  and (s.user_id == user_id or (organization_wide and s.user_id is None)))


class FakeDeliveries:
    def __init__(self):
        self.rows: dict[str, Delivery] = {}
        self.attempts: dict[int, Attempt] = {}

    def _copy(self, delivery: Delivery | None) -> Delivery | None:
        return replace(delivery) if delivery is not None else None

    def add(self, delivery: Delivery) -> None:
        if any(d.dedupe_key == delivery.dedupe_key for d in self.rows.values()):
            raise Duplicate("deliveries")
        self.rows[delivery.id] = replace(delivery)

    def get(self, delivery_id, organization_id=None):
        found = self.rows.get(delivery_id)
        if found is None or (organization_id is not None and found.organization_id != organization_id):
            return None
        return self._copy(found)

    def page(self, organization_id, referral_id, status, channel, page, per_page):
        wanted = {"organization_id": organization_id, "referral_id": referral_id, "status": status,
                  "channel": channel}
        found = [d for d in self.rows.values()
                 if all(getattr(d, name) == value for name, value in wanted.items() if value)]
        found.sort(key=lambda d: d.id)
        found.sort(key=lambda d: d.created_at, reverse=True)
        return len(found), [self._copy(d) for d in _page(found, page, per_page)]

    def attempts_of(self, delivery_ids):
        tried: dict[str, list[Attempt]] = {}
        for attempt in sorted(self.attempts.values(), key=lambda a: a.number):
            if attempt.delivery_id in delivery_ids:
                tried.setdefault(attempt.delivery_id, []).append(attempt)
        return tried

    def reopen(self, delivery):
        if self.rows[delivery.id].status in RETRYABLE:
            self.rows[delivery.id] = replace(delivery)

    def _pending_due(self, now) -> list[Delivery]:
        return [d for d in self.rows.values() if d.status == "pending" and d.next_attempt_at <= now]

    def due(self, channel, now, limit):
        found = sorted((d for d in self._pending_due(now) if d.channel == channel), key=lambda d: d.next_attempt_at)
        return [self._copy(d) for d in found[:limit]]

    def due_elsewhere(self, channels: Iterable[str], now, limit):
        return [self._copy(d) for d in self._pending_due(now) if d.channel not in list(channels)][:limit]

    def soonest_pending(self):
        return min((d.next_attempt_at for d in self.rows.values() if d.status == "pending"), default=None)

    def count_dead(self):
        return sum(d.status == "dead" for d in self.rows.values())

    def postpone(self, delivery_id, until):
        if self.rows[delivery_id].status == "pending":
            self.rows[delivery_id].next_attempt_at = until

    def claim(self, delivery_id, number):
        delivery = self.rows[delivery_id]
        if delivery.status != "pending":
            return False
        delivery.status, delivery.attempts = "sending", number
        return True

    def start_attempt(self, delivery_id, number, started_at):
        attempt_id = len(self.attempts) + 1
        self.attempts[attempt_id] = Attempt(attempt_id, delivery_id, number, started_at)
        return attempt_id

    def finish_attempt(self, attempt_id, latency_ms, outcome, status_code, error):
        self.attempts[attempt_id] = replace(self.attempts[attempt_id], latency_ms=latency_ms, outcome=outcome,
                                            status_code=status_code, error=error)

    def organization_told(self, event_id):
        return any(d.event_id == event_id and d.recipient_kind == ORGANIZATION and d.status == "delivered"
                   for d in self.rows.values())

    def settle(self, delivery_id, status, next_attempt_at, target, last_status_code, last_error, finished_at):
        self.rows[delivery_id] = replace(self.rows[delivery_id], status=status, next_attempt_at=next_attempt_at,
                                         target=target, last_status_code=last_status_code, last_error=last_error,
                                         finished_at=finished_at)

    def interrupt_attempts_in_flight(self):
        for attempt_id, attempt in self.attempts.items():
            if attempt.outcome is None:
                self.attempts[attempt_id] = replace(attempt, outcome="interrupted")

    def requeue_sending(self, now):
        sending = [d for d in self.rows.values() if d.status == "sending"]
        for delivery in sending:
            delivery.status, delivery.next_attempt_at = "pending", now
        return len(sending)


class FakeInbox:
    def __init__(self):
        self.rows: dict[str, InboxItem] = {}

    def add(self, item: InboxItem) -> None:
        if any((i.event_id, i.recipient_kind, i.recipient_id) == (item.event_id, item.recipient_kind, item.recipient_id)
               for i in self.rows.values()):
            raise Duplicate("inbox")
        self.rows[item.id] = item

    @staticmethod
    def _addressed(item: InboxItem, user_id: str, organization_id: str | None) -> bool:
        return (item.recipient_kind, item.recipient_id) == (USER, user_id) or \
            bool(organization_id) and (item.recipient_kind, item.recipient_id) == (ORGANIZATION, organization_id)

    def page(self, user_id, organization_id, unread_only, page, per_page):
        mine = [i for i in self.rows.values() if self._addressed(i, user_id, organization_id)]
        unread = [i for i in mine if i.read_at is None]
        found = sorted(unread if unread_only else mine, key=lambda i: i.id)
        found.sort(key=lambda i: i.created_at, reverse=True)
        return len(found), len(unread), _page(found, page, per_page)

    def get(self, item_id, user_id, organization_id):
        item = self.rows.get(item_id)
        return item if item is not None and self._addressed(item, user_id, organization_id) else None

    def mark_read(self, item_id, at, by):
        self.rows[item_id] = replace(self.rows[item_id], read_at=at, read_by=by)


class FakeConsumedEvents:
    def __init__(self):
        self.rows: dict[str, datetime] = {}

    def add(self, event_id, consumed_at):
        if event_id in self.rows:
            raise Duplicate("consumed_events")
        self.rows[event_id] = consumed_at

    def contains(self, event_id):
        return event_id in self.rows


class FakeNotifyUnitOfWork(FakeUnitOfWork, NotifyUnitOfWork):
    def __init__(self):
        super().__init__()
        self.subscriptions = FakeSubscriptions()
        self.deliveries = FakeDeliveries()
        self.inbox = FakeInbox()
        self.consumed_events = FakeConsumedEvents()

    def stores(self) -> tuple:
        return self.subscriptions, self.deliveries, self.inbox, self.consumed_events


# --- ports -------------------------------------------------------------------------------


class FixedClock:
    def __init__(self, now: datetime = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def seconds(self) -> float:  # the circuit breaker's clock
        return self.now.timestamp()


class FakeChannel:
    """Records what it was asked to send; answers each send with the next of `results`
    (the last one repeats), success by default."""

    def __init__(self, name: str, *results: Result):
        self.name = name
        self.results = list(results) or [Result(True, 200)]
        self.sent: list[Outbound] = []

    def endpoint(self, target: str) -> str:
        return f"{self.name}:{target}"

    def send(self, outbound: Outbound) -> Result:
        self.sent.append(outbound)
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


class FakeContacts:
    def __init__(self, emails: dict[str, str] | None = None, reachable: bool = True):
        self.emails, self.reachable = emails or {}, reachable

    def email(self, organization_id: str) -> str | None:
        if not self.reachable:
            raise DirectoryUnavailable("down")
        return self.emails.get(organization_id)


class FakePeople:
    def __init__(self, contacts: dict[str, Contact] | None = None, supervisors: dict[str, list[str]] | None = None):
        self.contacts, self._supervisors = contacts or {}, supervisors or {}

    def contact(self, user_id: str) -> Contact | None:
        return self.contacts.get(user_id)

    def supervisors(self, organization_id: str) -> list[str]:
        return self._supervisors.get(organization_id, [])


class FakeSecrets:
    def __init__(self, readable: bool = True):
        self.readable = readable

    def seal(self, secret: str) -> str:
        return "sealed:" + secret[::-1]

    def open(self, stored: str) -> str:
        if not self.readable:
            raise SecretUnreadable("no configured key opens it")
        return stored.removeprefix("sealed:")[::-1]


class FakeTargets:
    def __init__(self, refused: dict[str, str] | None = None):
        self.refused = refused or {}

    def refusal(self, url: str) -> str | None:
        return self.refused.get(url)


class FakeMetrics:
    def __init__(self):
        self.seen: list[tuple] = []

    def dead_letters(self, count):
        self.seen.append(("dead_letters", count))

    def breakers_open(self, channel, count):
        self.seen.append(("breakers_open", channel, count))

    def attempted(self, channel, outcome):
        self.seen.append(("attempted", channel, outcome))

    def delivered(self, channel, seconds_since_event):
        self.seen.append(("delivered", channel))

    def agency_notified(self, urgency, service_kind, seconds_since_event):
        self.seen.append(("agency_notified", urgency, service_kind))

    def failed(self, channel, outcome):
        self.seen.append(("failed", channel, outcome))


class Immediately:
    """An executor that runs what it is given at once, in the caller's thread."""

    def submit(self, fn, *args):
        fn(*args)
