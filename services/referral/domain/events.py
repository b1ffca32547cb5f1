"""Domain events: what happened to a referral, for the outbox and everyone downstream.

Events leave the service (event log, notifications, KPI exports), so they carry no personal
field at all: ids, codes, organization ids and times only. Not even the pseudonymous client
reference: it would let any consumer link one survivor's referrals across agencies. Free
text (notes, reasons for an override) never travels; reason *codes* do.

`type` is the stable name the service layer turns into a CloudEvents type
(`org.haven.referral.<type>.v1`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, kw_only=True)
class ReferralEvent:
    """Fields every referral event carries, so a consumer can route it (notify the referring
    caseworker, the receiving organization) without reading the referral."""

    type: ClassVar[str] = ""

    referral_id: str
    occurred_at: datetime
    urgency: str
    service_kind: str
    receiving_service_id: str
    receiving_organization_id: str
    referring_organization_id: str
    referring_user_id: str


@dataclass(frozen=True, kw_only=True)
class ReferralCreated(ReferralEvent):
    type: ClassVar[str] = "created"

    services_requested: tuple[str, ...]
    consent_overridden: bool  # audited: a supervisor referred without valid consent
    previous_referral_id: str | None = None  # set on a re-referral


@dataclass(frozen=True, kw_only=True)
class Acknowledged(ReferralEvent):
    type: ClassVar[str] = "acknowledged"

    actor_user_id: str


@dataclass(frozen=True, kw_only=True)
class Accepted(ReferralEvent):
    type: ClassVar[str] = "accepted"

    actor_user_id: str


@dataclass(frozen=True, kw_only=True)
class Declined(ReferralEvent):
    type: ClassVar[str] = "declined"

    actor_user_id: str
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class Completed(ReferralEvent):
    type: ClassVar[str] = "completed"

    actor_user_id: str


@dataclass(frozen=True, kw_only=True)
class Cancelled(ReferralEvent):
    type: ClassVar[str] = "cancelled"

    actor_user_id: str
    reason_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class Escalated(ReferralEvent):
    """A deadline passed with its step still undone. Raised once per deadline."""

    type: ClassVar[str] = "escalated"

    deadline_kind: str  # "acknowledge" or "decide"
    deadline: datetime
    status: str  # the status the referral was still in


@dataclass(frozen=True, kw_only=True)
class IncidentReportDue(ReferralEvent):
    """A serious incident's written report is due within a day and not recorded yet (domain/incidents.py)."""

    type: ClassVar[str] = "incident_due"

    deadline: datetime


@dataclass(frozen=True, kw_only=True)
class IncidentReportMissed(ReferralEvent):
    """A serious incident's written-report deadline passed with no report recorded."""

    type: ClassVar[str] = "incident_missed"

    deadline: datetime
