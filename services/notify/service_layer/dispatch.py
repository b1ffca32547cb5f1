"""The dispatcher: sends due deliveries, records every attempt, retries with backoff,
dead-letters after the last attempt, and publishes each final outcome.

Exactly one dispatcher runs per database (in `haven worker notify`). A delivery is claimed
(`pending` -> `sending`, its attempt row written) before it is sent and settled after, each
in its own transaction. If the worker dies in between, the next start finds the claim,
marks that attempt `interrupted` and sends again: nothing is lost, and a receiver may see
the same delivery twice — with the same CloudEvent id (webhook), `X-Haven-Delivery` header
(e-mail) or `reference` (SMS), so it can drop the repeat. Only one success is ever recorded
per delivery, and one delivery exists per recipient, channel and event.

Sends run on a thread pool (the loop that owns it is `entrypoints/timers.py`),
`concurrency` at a time per channel, so a slow endpoint holds one slot; a circuit breaker
per endpoint (see `domain.policy`) stops a dead one from soaking up every attempt.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

from haven.platform.unit_of_work import Outgoing

from ..contract import TOPIC, delivery_outcome
from ..domain.delivery import FINAL, Delivery
from ..domain.model import EMAIL, ORGANIZATION, WEBHOOK, Notice
from ..domain.policy import Backoff, CircuitBreaker
from .common import utcnow
from .ports import (Channel, Clock, DeliveryMetrics, DirectoryUnavailable, OrganizationContacts, Outbound, Result,
                    SecretUnreadable, WebhookSecrets)
from .unit_of_work import UnitOfWorkFactory

log = logging.getLogger("haven.notify.dispatch")


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    attempt_id: int
    number: int
    secret: str | None
    unsubscribed: bool = False  # its subscription was deleted since it was queued
    secret_unreadable: bool = False  # no configured field key opens its secret


class Dispatch:
    def __init__(self, uow: UnitOfWorkFactory, channels: dict[str, Channel],
                 contacts: OrganizationContacts, backoff: Backoff, breaker: CircuitBreaker, secrets: WebhookSecrets,
                 metrics: DeliveryMetrics, concurrency: int = 8, idle_wait: float = 0.5, clock: Clock = utcnow):
        self.uow, self.channels, self.contacts, self.secrets = uow, channels, contacts, secrets
        self.backoff, self.breaker, self.metrics, self.clock = backoff, breaker, metrics, clock
        self.concurrency, self.idle_wait = concurrency, idle_wait
        self.wake = threading.Event()  # set by the consumer when it has written deliveries
        self._busy: dict[str, str] = {}  # delivery id -> channel, while it is being sent
        self._tripped: dict[str, set[str]] = {}  # channel -> endpoints that failed, until their breaker closes
        self._lock = threading.Lock()

    @property
    def slots(self) -> int:
        """Sends at the same time, all channels together."""
        return self.concurrency * max(1, len(self.channels))

    # --- what the loop asks -------------------------------------------------------------

    def dispatch_due(self, pool: Executor) -> int:
        """Start what is due, up to `concurrency` sends per channel: slow SMTP conversations
        never hold up webhooks (nor the other way round)."""
        started = 0
        for channel in self.channels:
            with self._lock:
                busy = {key for key, name in self._busy.items() if name == channel}
            free = self.concurrency - len(busy)
            if free <= 0:
                continue
            count = 0
            for delivery in self._due(channel, free + len(busy)):
                if delivery.id in busy:
                    continue
                claimed = self._claim(delivery)
                if claimed is None:
                    continue
                with self._lock:
                    self._busy[delivery.id] = channel
                pool.submit(self._deliver_and_release, claimed)
                count += 1
                if count >= free:
                    break
            started += count
        started += self._settle_unsendable()
        return started

    def _settle_unsendable(self) -> int:
        """Deliveries for a channel this worker has no configuration for (SMTP unset since
        they were queued, say): recorded as failed attempts, dead-lettered in the end."""
        settled = 0
        with self.uow() as uow:
            found = uow.deliveries.due_elsewhere(list(self.channels), self.clock(), limit=50)
        for delivery in found:
            claimed = self._claim(delivery)
            if claimed is not None:
                self.deliver(claimed)
                settled += 1
        return settled

    def recover(self) -> int:
        """At start: claims a dead worker left behind go back to the queue."""
        with self.uow() as uow:
            uow.deliveries.interrupt_attempts_in_flight()
            requeued = uow.deliveries.requeue_sending(self.clock())
            uow.commit()
        return requeued

    def count_dead_letters(self) -> int:
        with self.uow() as uow:
            count = uow.deliveries.count_dead()
        self.metrics.dead_letters(count)
        return count

    def count_open_breakers(self) -> dict[str, int]:
        """Open breakers by channel (the gauge): how many endpoints are resting now."""
        counts = {}
        with self._lock:
            for channel in self.channels:
                tripped = {endpoint for endpoint in self._tripped.get(channel, ()) if self.breaker.is_open(endpoint)}
                self._tripped[channel] = tripped
                counts[channel] = len(tripped)
        for channel, count in counts.items():
            self.metrics.breakers_open(channel, count)
        return counts

    def until_next_due(self) -> float:
        with self.uow() as uow:
            soonest = uow.deliveries.soonest_pending()
        if soonest is None:
            return self.idle_wait
        return max(0.0, min(self.idle_wait, (soonest - self.clock()).total_seconds()))

    def _due(self, channel: str, limit: int) -> list[Delivery]:
        with self.uow() as uow:
            return uow.deliveries.due(channel, self.clock(), limit)

    # --- one delivery ----------------------------------------------------------------------

    def _endpoint(self, delivery: Delivery) -> str | None:
        channel = self.channels.get(delivery.channel)
        return channel.endpoint(delivery.target or "") if channel else None

    def _claim(self, delivery: Delivery) -> Claimed | None:
        endpoint = self._endpoint(delivery)
        if endpoint is not None:
            wait_until = self.breaker.wait_until(endpoint)
            if wait_until is not None:  # the endpoint is resting: wait without spending an attempt
                with self.uow() as uow:
                    uow.deliveries.postpone(delivery.id, datetime.fromtimestamp(wait_until, self.clock().tzinfo))
                    uow.commit()
                return None
        number = delivery.attempts + 1
        with self.uow() as uow:
            if not uow.deliveries.claim(delivery.id, number):
                return None
            attempt_id = uow.deliveries.start_attempt(delivery.id, number, self.clock())
            stored, unsubscribed = None, False
            if delivery.subscription_id:
                subscription = uow.subscriptions.get(delivery.subscription_id)
                unsubscribed = subscription is None
                stored = subscription.secret if subscription is not None else None
            uow.commit()
        secret, unreadable = None, False
        if stored is not None:
            try:
                secret = self.secrets.open(stored)
            except SecretUnreadable as exc:  # says which key, never the secret
                log.error("webhook secret cannot be decrypted: check HAVEN_FIELD_KEYS (%s)", exc)
                unreadable = True
        return Claimed(delivery, attempt_id, number, secret, unsubscribed, unreadable)

    def _deliver_and_release(self, claimed: Claimed) -> None:
        try:
            self.deliver(claimed)
        except Exception:  # noqa: BLE001 — the claim stays; `recover` or the next start sends it again
            log.exception("delivery failed unexpectedly", extra={"channel": claimed.delivery.channel})
        finally:
            with self._lock:
                self._busy.pop(claimed.delivery.id, None)
            self.wake.set()

    def deliver(self, claimed: Claimed) -> str:
        """Send one claimed delivery (outside any transaction), then settle it."""
        delivery = claimed.delivery
        started = time.perf_counter()
        target, result = delivery.target, None
        channel = self.channels.get(delivery.channel)
        if channel is None:
            result = Result(False, error=f"{delivery.channel}_not_configured")
        elif claimed.secret_unreadable:
            # the keys are misconfigured, not the receiver: retried, and fixed by configuration
            result = Result(False, error="secret_unreadable")
        elif claimed.unsubscribed or (delivery.channel == WEBHOOK and claimed.secret is None):
            # the agency removed this address: nothing more goes there, retries included
            result = Result(False, error="subscription_deleted", permanent=True)
        elif target is None and delivery.channel == EMAIL and delivery.recipient_kind == ORGANIZATION:
            try:
                target = self.contacts.email(delivery.organization_id)
            except DirectoryUnavailable:
                result = Result(False, error="directory_unavailable")
            else:
                if target is None:
                    result = Result(False, error="no_contact_address", permanent=True)
        if result is None:
            notice = Notice.from_dict(delivery.notice)
            result = channel.send(Outbound(delivery.id, target, delivery.language, notice, delivery.created_at,
                                           claimed.secret))
            if result.ok or result.permanent:
                # A permanent refusal (SMTP 5xx, a 400 from the gateway) is an answer too: the
                # endpoint is up, only this message is wrong.
                self.breaker.succeeded(channel.endpoint(target))
            else:
                self.breaker.failed(channel.endpoint(target))
                with self._lock:
                    self._tripped.setdefault(delivery.channel, set()).add(channel.endpoint(target))
        elif channel is not None:
            self.breaker.release(channel.endpoint(target or ""))  # nothing was sent: no verdict
        return self._settle(claimed, target, result, (time.perf_counter() - started) * 1000)

    def _settle(self, claimed: Claimed, target: str | None, result: Result, latency_ms: float) -> str:
        delivery, now = claimed.delivery, self.clock()
        if result.ok:
            status, next_at = "delivered", None
        elif result.error in ("no_contact_address", "subscription_deleted"):
            status, next_at = "undeliverable", None
        elif result.permanent or claimed.number >= delivery.max_attempts:
            status, next_at = "dead", None
        else:
            status, next_at = "pending", now + timedelta(seconds=self.backoff.delay(claimed.number))
        first_notice = False
        with self.uow() as uow:
            uow.deliveries.finish_attempt(claimed.attempt_id, round(latency_ms, 1),
                                          "delivered" if result.ok else "failed", result.status_code, result.error)
            if result.ok and delivery.event_kind == "created" and delivery.recipient_kind == ORGANIZATION:
                first_notice = not uow.deliveries.organization_told(delivery.event_id)
            uow.deliveries.settle(delivery.id, status, next_at, target, result.status_code, result.error,
                                  now if status in FINAL else None)
            if status in FINAL and delivery.referral_id:
                # the outcome is written with the delivery's change: both or neither
                uow.publish(Outgoing(TOPIC, delivery.referral_id,
                                     delivery_outcome(delivery, status, claimed.number, now, result.error)))
            uow.commit()
        self._observe(delivery, status, result, now, first_notice)
        return status

    def _observe(self, delivery: Delivery, status: str, result: Result, now: datetime, first_notice: bool) -> None:
        self.metrics.attempted(delivery.channel, "delivered" if result.ok else "failed")
        if result.ok:
            since_event = max(0.0, (now - delivery.event_time).total_seconds())
            self.metrics.delivered(delivery.channel, since_event)
            if first_notice:
                notice = delivery.notice
                self.metrics.agency_notified(notice.get("urgency") or "", notice.get("service_kind") or "",
                                             since_event)
        else:
            self.metrics.failed(delivery.channel, "retry" if status == "pending" else status)
            if status != "pending":
                log.warning("delivery given up", extra={"channel": delivery.channel, "status": status,
                                                        "attempts": delivery.attempts + 1, "error": result.error})
