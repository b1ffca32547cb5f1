"""A delivery: one notice to one recipient through one channel, and its attempts.

One delivery exists per recipient, channel and event (its `dedupe_key`): the unit of
idempotency and of retries. Its statuses and their order: `model.DELIVERY_STATUSES`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import DeliveryNotRetryable
from .model import ORGANIZATION

RETRYABLE = ("dead", "undeliverable")
FINAL = ("delivered", "dead", "undeliverable")


@dataclass
class Delivery:
    id: str
    dedupe_key: str
    event_id: str
    event_kind: str
    referral_id: str | None
    recipient_kind: str
    recipient_id: str
    organization_id: str
    channel: str
    subscription_id: str | None
    target: str | None  # None: the organization's directory contact, looked up when sent
    language: str
    notice: dict
    status: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    event_time: datetime
    created_at: datetime
    finished_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None

    def reopen(self, allowance: int, now: datetime) -> None:
        """Sent again by hand, with a fresh `allowance` of attempts."""
        if self.status not in RETRYABLE:
            raise DeliveryNotRetryable(self.status)
        self.status, self.next_attempt_at, self.finished_at = "pending", now, None
        self.max_attempts = self.attempts + allowance
        if self.subscription_id is None and self.recipient_kind == ORGANIZATION:
            self.target = None  # the directory contact: looked up again, it may have changed


@dataclass(frozen=True)
class Attempt:
    """One try: `outcome` is None while in flight, interrupted when the worker stopped mid-send."""

    id: int
    delivery_id: str
    number: int
    started_at: datetime
    latency_ms: float | None = None
    outcome: str | None = None
    status_code: int | None = None
    error: str | None = None


__all__ = ["Attempt", "Delivery", "FINAL", "RETRYABLE"]
