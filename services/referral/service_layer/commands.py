"""What the entrypoints ask of the referral use cases, as typed values.

The parts of a new referral (profile, personal details, consent, override) come as the
caller sent them, not yet as domain values: the use case builds those only after it has
checked the receiving service, so a request wrong in both ways is refused for the service
first, as it always was. Field names are the API's: the Idempotency-Key's fingerprint is
taken over them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit log."""

    source_ip: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Profile:
    client_ref: str
    age_group: str = "unknown"
    gender: str = "undisclosed"


@dataclass(frozen=True)
class Personal:
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    safe_contact_time: str | None = None
    safe_contact_method: str | None = None
    language: str | None = None
    needs: tuple[str, ...] = ()
    safety_notes: str | None = None


@dataclass(frozen=True)
class ConsentRecord:
    given: bool
    obtained_by: str
    obtained_at: datetime
    scope: tuple[str, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Override:
    """A supervisor's override of consent: why (who and when are the caller and the clock)."""

    reason: str


@dataclass(frozen=True)
class CreateReferral:
    receiving_service_id: str
    urgency: str
    risk_level: str
    services_requested: tuple[str, ...]  # empty: the receiving service's kind
    profile: Profile
    personal: Personal | None = None
    consent: ConsentRecord | None = None
    override: Override | None = None


@dataclass(frozen=True)
class ReRefer:
    """Send declined referral `referral_id` on to another service; what is left None is
    the old referral's (its services requested: the new service's kind)."""

    referral_id: str
    receiving_service_id: str
    services_requested: tuple[str, ...] | None = None
    urgency: str | None = None
    risk_level: str | None = None
    consent: ConsentRecord | None = None
    override: Override | None = None


@dataclass(frozen=True, kw_only=True)
class Act:
    """A step of referral `referral_id` (the subclass says which), taken on the version
    the caller read (`expected_version`, from If-Match; None: whatever is stored)."""

    action: ClassVar[str]

    referral_id: str
    expected_version: int | None = None

    def details(self) -> dict[str, Any]:
        """What the step takes besides the actor and the time (a reason, a note)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("referral_id", "expected_version")}


@dataclass(frozen=True, kw_only=True)
class Acknowledge(Act):
    action: ClassVar[str] = "acknowledge"


@dataclass(frozen=True, kw_only=True)
class Accept(Act):
    action: ClassVar[str] = "accept"


@dataclass(frozen=True, kw_only=True)
class Decline(Act):
    action: ClassVar[str] = "decline"

    reason: str
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Complete(Act):
    action: ClassVar[str] = "complete"

    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Cancel(Act):
    action: ClassVar[str] = "cancel"

    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReferralFilters:
    """Which of the referrals a caller reaches a list shows (None: any)."""

    status: str | None = None
    urgency: str | None = None
    service_kind: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class AuditFilters:
    referral_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class DeliveryReport:
    """What notify reported about one delivery of a referral's event (no address, no text)."""

    delivery_id: str
    referral_id: str
    event_kind: str
    channel: str
    recipient_kind: str
    outcome: str
    attempts: int
    at: datetime


@dataclass(frozen=True)
class MarkIncident:
    """Mark a referral as a serious incident (`domain/incidents.py`)."""

    referral_id: str
    discovered_at: datetime
    phoned_at: datetime
    phoned_to: str  # the authority told by phone: an office's name, not a person's
    note: str | None = None


@dataclass(frozen=True)
class RecordWrittenReport:
    referral_id: str
    sent_at: datetime
    sent_to: str  # the authority the written report went to


@dataclass(frozen=True)
class IncidentFilters:
    state: str | None = None  # due | on_time | late | missing
    discovered_from: datetime | None = None
    discovered_to: datetime | None = None


__all__ = ["Accept", "Acknowledge", "Act", "AuditFilters", "Cancel", "Complete", "ConsentRecord", "CreateReferral",
           "Decline", "DeliveryReport", "IncidentFilters", "MarkIncident", "Origin", "Override", "Page", "Personal",
           "Profile", "ReRefer", "RecordWrittenReport", "ReferralFilters"]
