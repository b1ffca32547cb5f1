"""A subscription: where an organization (or one of its people) wants to be told."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Subscription:
    id: str
    organization_id: str
    user_id: str | None  # set: only what is addressed to this person
    channel: str
    target: str  # URL, e-mail address or phone number
    secret: str | None  # webhooks: the HMAC key, sealed (never in clear here)
    language: str
    created_by: str
    created_at: datetime


__all__ = ["Subscription"]
