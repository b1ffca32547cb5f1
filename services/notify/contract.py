"""What the notify service publishes, and what its webhooks carry.

**Topic `delivery-events`**, keyed by referral id: `org.haven.notification.delivered.v1`
when a delivery succeeded, `org.haven.notification.failed.v1` when it was dead-lettered
(attempts exhausted) or could not be addressed at all (an organization without a contact
e-mail). Ids, channel, recipient kind, outcome, attempts and times only: recipients are
named by organization id or user id and subscription id, never by an address.

**Webhook bodies** are CloudEvents of type `org.haven.notify.referral.<kind>.v1` (and
`org.haven.notify.ping.v1` for `POST /v1/subscriptions/{id}/ping`); their id is the
delivery id, the same on every retry, so a receiver can drop duplicates. Their `data` is
a notice: referral id, urgency, service kind, deadline, reason code, link. Nothing else.
"""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma

from haven.platform import events as cloud_events
from haven.platform.events import CloudEvent
from services.referral import contract as referral_contract

from . import SPEC

TOPIC = SPEC.topic
SOURCE = "/haven/notify"
DELIVERED = "org.haven.notification.delivered.v1"
FAILED = "org.haven.notification.failed.v1"
PING = "org.haven.notify.ping.v1"


def notice_type(kind: str) -> str:
    return PING if kind == "ping" else f"org.haven.notify.referral.{kind}.v1"


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class DeliveryOutcomeV1(_Strict):
    delivery_id = ma.fields.String(required=True)
    referral_id = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True, metadata={"description": "The referral event notified."})
    event_kind = ma.fields.String(required=True)
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(("webhook", "email", "sms")))
    recipient_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(("organization", "user")))
    recipient_id = ma.fields.String(required=True)
    organization_id = ma.fields.String(required=True)
    subscription_id = ma.fields.String(allow_none=True, load_default=None)
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(("delivered", "dead", "undeliverable")))
    attempts = ma.fields.Integer(required=True)
    event_time = ma.fields.AwareDateTime(required=True, metadata={"description": "When the referral event happened."})
    at = ma.fields.AwareDateTime(required=True, metadata={"description": "Delivered, or given up."})
    error = ma.fields.String(allow_none=True, load_default=None, metadata={"description": "An error code, no text."})


class NoticeV1(_Strict):
    referral_id = ma.fields.String(allow_none=True, load_default=None)
    event = ma.fields.String(required=True)
    event_id = ma.fields.String(required=True, metadata={"description": "The referral event's id."})
    audience = ma.fields.String(allow_none=True, load_default=None,
                                validate=ma.validate.OneOf(("receiving_agency", "referrer", "supervisor")))
    urgency = ma.fields.String(allow_none=True, load_default=None)
    service_kind = ma.fields.String(allow_none=True, load_default=None)
    occurred_at = ma.fields.AwareDateTime(required=True)
    deadline = ma.fields.AwareDateTime(allow_none=True, load_default=None)
    deadline_kind = ma.fields.String(allow_none=True, load_default=None)
    reason_code = ma.fields.String(allow_none=True, load_default=None)
    link = ma.fields.String(allow_none=True, load_default=None)


def delivery_outcome(delivery, outcome: str, attempts: int, at: datetime, error: str | None) -> CloudEvent:
    """The event of a delivery's final outcome (`delivered`, `dead`, `undeliverable`): ids,
    channel, recipient kind, counts and times; never an address."""
    data = {"delivery_id": delivery.id, "referral_id": delivery.referral_id, "event_id": delivery.event_id,
            "event_kind": delivery.event_kind, "channel": delivery.channel, "recipient_kind": delivery.recipient_kind,
            "recipient_id": delivery.recipient_id, "organization_id": delivery.organization_id,
            "subscription_id": delivery.subscription_id, "outcome": outcome, "attempts": attempts,
            "event_time": delivery.event_time.isoformat(), "at": at.isoformat(), "error": error}
    return cloud_events.new_event(DELIVERED if outcome == "delivered" else FAILED, SOURCE, data,
                                  subject=delivery.referral_id)


def register() -> None:
    cloud_events.register(DELIVERED, DeliveryOutcomeV1)
    cloud_events.register(FAILED, DeliveryOutcomeV1)
    cloud_events.register(PING, NoticeV1)
    for kind in referral_contract.KINDS:
        cloud_events.register(notice_type(kind), NoticeV1)


register()

__all__ = ["DELIVERED", "FAILED", "PING", "SOURCE", "TOPIC", "delivery_outcome", "notice_type"]
