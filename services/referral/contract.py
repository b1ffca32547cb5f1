"""The referral service's published events: what other services may rely on.

Topic `referral-events`, keyed by referral id (one referral's events stay in order).
Types `org.haven.referral.<what>.v1`. The `data` schemas below are strict (unknown fields
are refused), and they carry ids, urgency, kinds, times and reason codes only: **never a
personal field**, so no event that leaves the referral service can expose a survivor.
"""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import marshmallow as ma

from haven.platform import events as cloud_events
from haven.platform.unit_of_work import EventMessages, Outgoing

from . import SPEC
from .domain import events as domain_events
from .domain import sla

TOPIC = SPEC.topic
SOURCE = "/haven/referral"
KINDS = ("created", "acknowledged", "accepted", "declined", "completed", "cancelled", "escalated",
         "incident_due", "incident_missed")


def event_type(kind: str) -> str:
    return f"org.haven.referral.{kind}.v1"


class _Common(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    referral_id = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)
    urgency = ma.fields.String(required=True, validate=ma.validate.OneOf(("emergency", "high", "normal")))
    service_kind = ma.fields.String(required=True)
    receiving_service_id = ma.fields.String(required=True)
    receiving_organization_id = ma.fields.String(required=True)
    referring_organization_id = ma.fields.String(required=True)
    referring_user_id = ma.fields.String(required=True)


class CreatedV1(_Common):
    services_requested = ma.fields.List(ma.fields.String(), required=True)
    consent_overridden = ma.fields.Boolean(required=True)
    previous_referral_id = ma.fields.String(allow_none=True, load_default=None)
    # The SLA deadlines in force when it was created (the receiving agency's to-do dates).
    acknowledge_by = ma.fields.AwareDateTime(allow_none=True, load_default=None)
    decide_by = ma.fields.AwareDateTime(allow_none=True, load_default=None)


class _ByActor(_Common):
    actor_user_id = ma.fields.String(required=True)


class DeclinedV1(_ByActor):
    reason_code = ma.fields.String(required=True)


class CancelledV1(_ByActor):
    reason_code = ma.fields.String(allow_none=True, load_default=None)


class EscalatedV1(_Common):
    deadline_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(("acknowledge", "decide")))
    deadline = ma.fields.AwareDateTime(required=True)
    status = ma.fields.String(required=True)


class IncidentReminderV1(_Common):
    """A serious incident's written report is due soon / overdue: the deadline only (no note,
    no authority's name: those stay in the referral service)."""

    deadline = ma.fields.AwareDateTime(required=True)


SCHEMAS = {"created": CreatedV1, "acknowledged": _ByActor, "accepted": _ByActor, "declined": DeclinedV1,
           "completed": _ByActor, "cancelled": CancelledV1, "escalated": EscalatedV1,
           "incident_due": IncidentReminderV1, "incident_missed": IncidentReminderV1}


def register() -> None:
    for kind, schema in SCHEMAS.items():
        cloud_events.register(event_type(kind), schema)


register()


def to_cloud_event(event: domain_events.ReferralEvent, **extra) -> cloud_events.CloudEvent:
    """A domain event as the CloudEvent the outbox publishes (validated on the way)."""
    data = {name: value.isoformat() if isinstance(value, datetime) else value for name, value in extra.items()}
    for f in fields(event):
        value = getattr(event, f.name)
        data[f.name] = value.isoformat() if isinstance(value, datetime) else (
            list(value) if isinstance(value, tuple) else value)
    return cloud_events.new_event(event_type(event.type), SOURCE, data, subject=event.referral_id)


def messages(policy: sla.SlaPolicy) -> EventMessages:
    """How the unit of work publishes a referral's domain events: on TOPIC, keyed by the
    referral, each as its CloudEvent; `created` carries the deadlines under `policy` (the
    one in force when it was created) as `<kind>_by`."""
    def outgoing(referral, event: domain_events.ReferralEvent) -> Outgoing:
        extra = {}
        if event.type == "created":
            extra = {f"{d.kind}_by": d.due_at for d in sla.deadlines(referral, policy)}
        return Outgoing(TOPIC, referral.id, to_cloud_event(event, **extra))

    return outgoing


__all__ = ["KINDS", "SOURCE", "TOPIC", "event_type", "messages", "to_cloud_event"]
