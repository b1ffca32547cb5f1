"""Who hears what, and what a notification may say.

A *notice* is everything a notification may carry: the referral id, urgency, service kind,
the deadline that matters, a reason code and a link to the referral — built from a whitelist
of event fields, so a field added to a referral event later cannot leak into a message
without someone adding it here on purpose. Never a client's personal data: a notification
passes through mail servers, phones and other agencies' systems we do not control.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

RECEIVING_AGENCY = "receiving_agency"
REFERRER = "referrer"
SUPERVISOR = "supervisor"

ORGANIZATION = "organization"
USER = "user"

AUDIENCES = (RECEIVING_AGENCY, REFERRER, SUPERVISOR)
RECIPIENT_KINDS = (ORGANIZATION, USER)

WEBHOOK, EMAIL, SMS = "webhook", "email", "sms"
CHANNELS = (WEBHOOK, EMAIL, SMS)
LANGUAGES = ("vi", "en")

# A delivery's life: pending -> sending -> delivered, or back to pending for a retry, until
# dead (attempts spent) or undeliverable (no address); the last two can be retried by hand.
DELIVERY_STATUSES = ("pending", "sending", "delivered", "dead", "undeliverable")
# One attempt: null while in flight, interrupted when the worker stopped mid-send.
ATTEMPT_OUTCOMES = ("delivered", "failed", "interrupted")
INCIDENT_REPORT = "incident_report"  # a serious incident's written report (referral domain/incidents.py)
DEADLINE_KINDS = ("acknowledge", "decide", INCIDENT_REPORT)
PING = "ping"

# The routing table: which side of a referral hears about which step.
_TO_RECEIVING_AGENCY = frozenset({"created", "escalated", "cancelled"})
_TO_REFERRER = frozenset({"acknowledged", "accepted", "declined", "completed", "escalated"})
# A serious incident's written report is due tomorrow, or overdue: its organization's supervisors.
_INCIDENT_REMINDERS = frozenset({"incident_due", "incident_missed"})


@dataclass(frozen=True)
class Notice:
    event_id: str
    kind: str  # created, accepted, ... or "ping"
    referral_id: str | None
    urgency: str | None
    service_kind: str | None
    occurred_at: str
    link: str | None
    deadline: str | None = None
    deadline_kind: str | None = None  # acknowledge | decide
    reason_code: str | None = None
    audience: str | None = None  # receiving_agency | referrer | supervisor

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Notice:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def for_audience(self, audience: str) -> Notice:
        return Notice(**{**asdict(self), "audience": audience})


def notice_from_event(event_id: str, kind: str, data: dict, link_template: str) -> Notice:
    """The notice of a referral event: whitelisted fields only (see the module docstring)."""
    if kind == "created":
        deadline, deadline_kind = data.get("acknowledge_by"), "acknowledge" if data.get("acknowledge_by") else None
    elif kind == "escalated":
        deadline, deadline_kind = data.get("deadline"), data.get("deadline_kind")
    elif kind in _INCIDENT_REMINDERS:
        deadline, deadline_kind = data.get("deadline"), INCIDENT_REPORT
    else:
        deadline, deadline_kind = None, None
    return Notice(event_id=event_id, kind=kind, referral_id=data["referral_id"], urgency=data["urgency"],
                  service_kind=data["service_kind"], occurred_at=data["occurred_at"],
                  link=link_template.replace("{id}", data["referral_id"]), deadline=deadline,
                  deadline_kind=deadline_kind, reason_code=data.get("reason_code"))


def ping_notice(event_id: str, occurred_at: str) -> Notice:
    return Notice(event_id=event_id, kind="ping", referral_id=None, urgency=None, service_kind=None,
                  occurred_at=occurred_at, link=None)


@dataclass(frozen=True)
class Recipient:
    """An organization, or one person (by user id) working at `organization_id`."""

    kind: str  # organization | user
    id: str
    organization_id: str
    audience: str  # why they hear about it


def recipients(kind: str, data: dict, supervisors: list[str]) -> list[Recipient]:
    """Who must hear about a referral event of `kind`. `supervisors`: the user ids of the
    referring organization's supervisors, asked for only when an emergency escalates."""
    found: list[Recipient] = []
    if kind in _TO_RECEIVING_AGENCY:
        organization = data["receiving_organization_id"]
        found.append(Recipient(ORGANIZATION, organization, organization, RECEIVING_AGENCY))
    if kind in _TO_REFERRER:
        found.append(Recipient(USER, data["referring_user_id"], data["referring_organization_id"], REFERRER))
    if kind == "escalated" and data.get("urgency") == "emergency":
        found += [Recipient(USER, user, data["referring_organization_id"], SUPERVISOR)
                  for user in supervisors if user != data["referring_user_id"]]
    if kind in _INCIDENT_REMINDERS:
        found += [Recipient(USER, user, data["referring_organization_id"], SUPERVISOR) for user in supervisors]
    return found


def needs_supervisors(kind: str, data: dict) -> bool:
    return (kind == "escalated" and data.get("urgency") == "emergency") or kind in _INCIDENT_REMINDERS
