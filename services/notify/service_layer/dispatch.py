"""The dispatcher: sends due deliveries, records every attempt, retries with backoff,
dead-letters after the last attempt, and publishes each final outcome.

Exactly one dispatcher runs per database (in `haven worker notify`). A delivery is claimed
(`pending` -> `sending`, its attempt row written) before it is sent and settled after, each
in its own transaction. If the worker dies in between, the next start finds the claim,
marks that attempt `interrupted` and sends again: nothing is lost, and a receiver may see
the same delivery twice — with the same CloudEvent id (webhook), `X-Haven-Delivery` header
(e-mail) or `reference` (SMS), so it can drop the repeat. Only one success is ever recorded
per delivery, and one delivery exists per recipient, channel and event.

Sends run on a thread pool, `concurrency` at a time per channel, so a slow endpoint holds
one slot; a circuit breaker per endpoint (see `domain.policy`) stops a dead one from
soaking up every attempt.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from haven.platform import events as cloud_events
from haven.platform.outbox import Outbox

from .. import contract
from ..adapters import metrics
from ..adapters.channels import Channel, Outbound, Result
from ..adapters.directory import DirectoryUnavailable, OrganizationContacts
from ..adapters.orm import attempts, deliveries, subscriptions
from ..adapters.secrets import CipherError, WebhookSecrets
from ..domain.model import EMAIL, ORGANIZATION, WEBHOOK, Notice
from ..domain.policy import Backoff, CircuitBreaker
from .common import utcnow

log = logging.getLogger("haven.notify.dispatch")

FINAL = ("delivered", "dead", "undeliverable")


@dataclass(frozen=True)
class Claimed:
    row: sa.Row
    attempt_id: int
    number: int
    secret: str | None
    unsubscribed: bool = False  # its subscription was deleted since it was queued
    secret_unreadable: bool = False  # no configured field key opens its secret


class Dispatcher:
    def __init__(self, engine: Engine, channels: dict[str, Channel], contacts: OrganizationContacts,
                 backoff: Backoff, breaker: CircuitBreaker, outbox: Outbox, secrets: WebhookSecrets,
                 concurrency: int = 8, idle_wait: float = 0.5):
        self.engine, self.channels, self.contacts, self.secrets = engine, channels, contacts, secrets
        self.backoff, self.breaker, self.outbox = backoff, breaker, outbox
        self.concurrency, self.idle_wait = concurrency, idle_wait
        self.wake = threading.Event()  # set by the consumer when it has written deliveries
        self._busy: dict[str, str] = {}  # delivery id -> channel, while it is being sent
        self._lock = threading.Lock()

    # --- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self.recover()
        measured = 0.0
        slots = self.concurrency * max(1, len(self.channels))
        with ThreadPoolExecutor(slots, thread_name_prefix="notify-send") as pool:
            while not stop.is_set():
                if time.monotonic() - measured > 5:
                    metrics.DEAD_LETTERS.set(self.dead_letters())
                    measured = time.monotonic()
                self.wake.clear()
                started = self.dispatch_due(pool)
                if not started:
                    self.wake.wait(self._until_next_due())
            # leaving the `with` waits for sends in flight (each bounded by the send timeout)

    def dispatch_due(self, pool: ThreadPoolExecutor) -> int:
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
            for row in self._due(channel, free + len(busy)):
                if row.id in busy:
                    continue
                claimed = self._claim(row)
                if claimed is None:
                    continue
                with self._lock:
                    self._busy[row.id] = channel
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
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(deliveries).where(
                deliveries.c.status == "pending", deliveries.c.next_attempt_at <= utcnow(),
                deliveries.c.channel.not_in(list(self.channels))).limit(50)).all()
        for row in rows:
            claimed = self._claim(row)
            if claimed is not None:
                self.deliver(claimed)
                settled += 1
        return settled

    def recover(self) -> int:
        """At start: claims a dead worker left behind go back to the queue."""
        with self.engine.begin() as connection:
            connection.execute(attempts.update().where(attempts.c.outcome.is_(None)).values(outcome="interrupted"))
            return connection.execute(deliveries.update().where(deliveries.c.status == "sending")
                                      .values(status="pending", next_attempt_at=utcnow())).rowcount

    def dead_letters(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(deliveries)
                                      .where(deliveries.c.status == "dead")).scalar_one()

    def _until_next_due(self) -> float:
        with self.engine.connect() as connection:
            soonest = connection.execute(sa.select(sa.func.min(deliveries.c.next_attempt_at))
                                         .where(deliveries.c.status == "pending")).scalar()
        if soonest is None:
            return self.idle_wait
        return max(0.0, min(self.idle_wait, (soonest - utcnow()).total_seconds()))

    def _due(self, channel: str, limit: int) -> list[sa.Row]:
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(deliveries).where(deliveries.c.status == "pending", deliveries.c.channel == channel,
                                            deliveries.c.next_attempt_at <= utcnow())
                .order_by(deliveries.c.next_attempt_at).limit(limit)).all()

    # --- one delivery ----------------------------------------------------------------------

    def _endpoint(self, row) -> str | None:
        channel = self.channels.get(row.channel)
        return channel.endpoint(row.target or "") if channel else None

    def _claim(self, row) -> Claimed | None:
        endpoint = self._endpoint(row)
        if endpoint is not None:
            wait_until = self.breaker.wait_until(endpoint)
            if wait_until is not None:  # the endpoint is resting: wait without spending an attempt
                with self.engine.begin() as connection:
                    connection.execute(deliveries.update().where(deliveries.c.id == row.id,
                                                                 deliveries.c.status == "pending")
                                       .values(next_attempt_at=datetime.fromtimestamp(wait_until, utcnow().tzinfo)))
                return None
        number = row.attempts + 1
        with self.engine.begin() as connection:
            taken = connection.execute(deliveries.update().where(deliveries.c.id == row.id,
                                                                 deliveries.c.status == "pending")
                                       .values(status="sending", attempts=number)).rowcount
            if not taken:
                return None
            attempt_id = connection.execute(attempts.insert().values(
                delivery_id=row.id, number=number, started_at=utcnow())).inserted_primary_key[0]
            stored, unsubscribed = None, False
            if row.subscription_id:
                found = connection.execute(sa.select(subscriptions.c.secret)
                                           .where(subscriptions.c.id == row.subscription_id)).first()
                unsubscribed = found is None
                stored = found.secret if found is not None else None
        secret, unreadable = None, False
        if stored is not None:
            try:
                secret = self.secrets.open(stored)
            except CipherError as exc:  # says which key, never the secret
                log.error("webhook secret cannot be decrypted: check HAVEN_FIELD_KEYS (%s)", exc)
                unreadable = True
        return Claimed(row, attempt_id, number, secret, unsubscribed, unreadable)

    def _deliver_and_release(self, claimed: Claimed) -> None:
        try:
            self.deliver(claimed)
        except Exception:  # noqa: BLE001 — the claim stays; `recover` or the next start sends it again
            log.exception("delivery failed unexpectedly", extra={"channel": claimed.row.channel})
        finally:
            with self._lock:
                self._busy.pop(claimed.row.id, None)
            self.wake.set()

    def deliver(self, claimed: Claimed) -> str:
        row = claimed.row
        started = time.perf_counter()
        target, result = row.target, None
        channel = self.channels.get(row.channel)
        if channel is None:
            result = Result(False, error=f"{row.channel}_not_configured")
        elif claimed.secret_unreadable:
            # the keys are misconfigured, not the receiver: retried, and fixed by configuration
            result = Result(False, error="secret_unreadable")
        elif claimed.unsubscribed or (row.channel == WEBHOOK and claimed.secret is None):
            # the agency removed this address: nothing more goes there, retries included
            result = Result(False, error="subscription_deleted", permanent=True)
        elif target is None and row.channel == EMAIL and row.recipient_kind == ORGANIZATION:
            try:
                target = self.contacts.email(row.organization_id)
            except DirectoryUnavailable:
                result = Result(False, error="directory_unavailable")
            else:
                if target is None:
                    result = Result(False, error="no_contact_address", permanent=True)
        if result is None:
            notice = Notice.from_dict(row.notice)
            result = channel.send(Outbound(row.id, target, row.language, notice, row.created_at,
                                           claimed.secret))
            if result.ok or result.permanent:
                # A permanent refusal (SMTP 5xx, a 400 from the gateway) is an answer too: the
                # endpoint is up, only this message is wrong.
                self.breaker.succeeded(channel.endpoint(target))
            else:
                self.breaker.failed(channel.endpoint(target))
        elif channel is not None:
            self.breaker.release(channel.endpoint(target or ""))  # nothing was sent: no verdict
        return self._settle(claimed, target, result, (time.perf_counter() - started) * 1000)

    def _settle(self, claimed: Claimed, target: str | None, result: Result, latency_ms: float) -> str:
        row, now = claimed.row, utcnow()
        if result.ok:
            status, next_at = "delivered", None
        elif result.error in ("no_contact_address", "subscription_deleted"):
            status, next_at = "undeliverable", None
        elif result.permanent or claimed.number >= row.max_attempts:
            status, next_at = "dead", None
        else:
            status, next_at = "pending", now + timedelta(seconds=self.backoff.delay(claimed.number))
        first_notice = False
        with self.engine.begin() as connection:
            connection.execute(attempts.update().where(attempts.c.id == claimed.attempt_id).values(
                latency_ms=round(latency_ms, 1), outcome="delivered" if result.ok else "failed",
                status_code=result.status_code, error=result.error))
            if result.ok and row.event_kind == "created" and row.recipient_kind == ORGANIZATION:
                first_notice = not connection.execute(sa.select(deliveries.c.id).where(
                    deliveries.c.event_id == row.event_id, deliveries.c.recipient_kind == ORGANIZATION,
                    deliveries.c.status == "delivered").limit(1)).first()
            connection.execute(deliveries.update().where(deliveries.c.id == row.id).values(
                status=status, next_attempt_at=next_at, target=target, last_status_code=result.status_code,
                last_error=result.error, finished_at=now if status in FINAL else None))
            if status in FINAL and row.referral_id:
                self._publish(connection, row, status, claimed.number, now, result.error)
        self._observe(row, status, result, now, first_notice)
        return status

    def _publish(self, connection: Connection, row, status: str, attempts_made: int, now: datetime,
                 error: str | None) -> None:
        data = {"delivery_id": row.id, "referral_id": row.referral_id, "event_id": row.event_id,
                "event_kind": row.event_kind, "channel": row.channel, "recipient_kind": row.recipient_kind,
                "recipient_id": row.recipient_id, "organization_id": row.organization_id,
                "subscription_id": row.subscription_id, "outcome": status, "attempts": attempts_made,
                "event_time": row.event_time.isoformat(), "at": now.isoformat(), "error": error}
        event = cloud_events.new_event(contract.DELIVERED if status == "delivered" else contract.FAILED,
                                       contract.SOURCE, data, subject=row.referral_id)
        self.outbox.add(connection, contract.TOPIC, row.referral_id, event)

    def _observe(self, row, status: str, result: Result, now: datetime, first_notice: bool) -> None:
        metrics.ATTEMPTS.labels(row.channel, "delivered" if result.ok else "failed").inc()
        if result.ok:
            metrics.DELIVERY_LATENCY.labels(row.channel).observe(max(0.0, (now - row.event_time).total_seconds()))
            if first_notice:
                notice = row.notice
                metrics.TIME_TO_NOTIFY.labels(notice.get("urgency") or "", notice.get("service_kind") or "").observe(
                    max(0.0, (now - row.event_time).total_seconds()))
        else:
            metrics.FAILURES.labels(row.channel, "retry" if status == "pending" else status).inc()
            if status != "pending":
                log.warning("delivery given up", extra={"channel": row.channel, "status": status,
                                                        "attempts": row.attempts + 1, "error": result.error})
