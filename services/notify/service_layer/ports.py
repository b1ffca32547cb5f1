"""What the notify use cases need from the world outside, as small interfaces: the channels
that send, the directory's organization contacts, the people Haven knows, webhook secrets at
rest, the webhook target rule, metrics and the clock. Bootstrap injects the adapters
(`adapters/`); the unit tests inject fakes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.model import Notice


class Clock(Protocol):
    def __call__(self) -> datetime:
        """Now, in UTC."""


# --- channels --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """One delivery as a channel sees it."""

    delivery_id: str
    target: str
    language: str
    notice: Notice
    created_at: datetime
    secret: str | None = None


@dataclass(frozen=True)
class Result:
    ok: bool
    status_code: int | None = None
    error: str | None = None  # a short code (http_503, ConnectionError, smtp_550): never a message body
    permanent: bool = False  # no retry can help (an address the server refuses)


class Channel(Protocol):
    """Sends one notice to one address and says how it went; retries, backoff and circuit
    breaking are the dispatcher's business, not the channel's."""

    name: str

    def endpoint(self, target: str) -> str:
        """What a circuit breaker protects: the server this target is reached through."""

    def send(self, outbound: Outbound) -> Result: ...


# --- who is reached where ----------------------------------------------------------------


class DirectoryUnavailable(Exception):
    """The directory cannot say now: the delivery waits for its retry."""


class OrganizationContacts(Protocol):
    def email(self, organization_id: str) -> str | None:
        """The organization's contact e-mail, None if it has none or does not exist;
        DirectoryUnavailable when the directory cannot be asked."""


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None
    language: str

    def __repr__(self) -> str:  # addresses stay out of logs and tracebacks
        return f"Contact(language={self.language!r})"


class People(Protocol):
    """Who the referrer is and who supervises them."""

    def contact(self, user_id: str) -> Contact | None: ...

    def supervisors(self, organization_id: str) -> list[str]: ...


# --- webhooks ----------------------------------------------------------------------------


class SecretUnreadable(Exception):
    """No configured key opens a stored secret (the message names the key, never the secret)."""


class WebhookSecrets(Protocol):
    def seal(self, secret: str) -> str:
        """The secret as it is stored."""

    def open(self, stored: str) -> str:
        """The secret in clear; SecretUnreadable if no configured key opens it."""


class WebhookTargets(Protocol):
    def refusal(self, url: str) -> str | None:
        """Why a new subscription may not point at `url`, or None."""


# --- metrics -----------------------------------------------------------------------------


class DeliveryMetrics(Protocol):
    """By channel and outcome only: never by agency, person or referral."""

    def dead_letters(self, count: int) -> None: ...

    def breakers_open(self, channel: str, count: int) -> None: ...

    def attempted(self, channel: str, outcome: str) -> None: ...

    def delivered(self, channel: str, seconds_since_event: float) -> None: ...

    def agency_notified(self, urgency: str, service_kind: str, seconds_since_event: float) -> None: ...

    def failed(self, channel: str, outcome: str) -> None: ...


__all__ = ["Channel", "Clock", "Contact", "DeliveryMetrics", "DirectoryUnavailable", "Outbound",
           "OrganizationContacts", "People", "Result", "SecretUnreadable", "WebhookSecrets", "WebhookTargets"]
