"""What the notify use cases are asked to do, built by the entrypoints from validated input.
A referral event to fan out is its CloudEvent (`haven.platform.events.CloudEvent`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subscribe:
    channel: str
    target: str  # already normalized by the schema (an SMS number: digits, an optional +)
    language: str
    organization_id: str | None = None  # None: the caller's own organization
    user_id: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: str


@dataclass(frozen=True)
class PingSubscription:
    subscription_id: str


@dataclass(frozen=True)
class ListSubscriptions:
    page: int
    per_page: int
    organization_id: str | None = None


@dataclass(frozen=True)
class ListDeliveries:
    page: int
    per_page: int
    referral_id: str | None = None
    status: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class RetryDelivery:
    delivery_id: str


@dataclass(frozen=True)
class ListInbox:
    page: int
    per_page: int
    unread_only: bool = False


@dataclass(frozen=True)
class MarkInboxItemRead:
    item_id: str


__all__ = ["ListDeliveries", "ListInbox", "ListSubscriptions", "MarkInboxItemRead", "PingSubscription",
           "RetryDelivery", "Subscribe", "Unsubscribe"]
