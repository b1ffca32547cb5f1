"""Request and response schemas of the notify API (also its OpenAPI document).

What a subscription's target must look like depends on its channel. Each rule is one
regular expression, checked here exactly as the document states it (`TARGET_BY_CHANNEL`,
a `oneOf` on the request schema), so a generated client, a fuzzer and this server agree on
which targets are well formed. Whether a webhook's host may be reached is decided later,
by resolving it (adapters/targets.py)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.schemas import PageQuerySchema, PageSchema
from services.referral.contract import KINDS as REFERRAL_EVENTS

from ..domain.model import (ATTEMPT_OUTCOMES, AUDIENCES, CHANNELS, DEADLINE_KINDS, DELIVERY_STATUSES, EMAIL,
                            LANGUAGES, PING, RECIPIENT_KINDS, SMS, WEBHOOK)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# http(s), a host name or IPv4 address (an internationalized name in its xn-- form; no IPv6
# literal), an optional port, then visible ASCII only (RFC 3986: anything else travels
# percent-encoded). Not \S: Python's and a JSON Schema validator's differ on what counts as
# a space (U+001C-U+001F, U+0085), and the document must say exactly what is checked. No
# user:password@: the signature authenticates Haven.
WEBHOOK_URL = rf"^https?://{_LABEL}(?:\.{_LABEL})*\.?(?::{_PORT})?(?:[/?#][!-~]*)?$"
EMAIL_ADDRESS = rf"^[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*@{_LABEL}(?:\.{_LABEL})+$"
# 8 to 15 digits (E.164 allows at most 15; fewer than 8 is no subscriber number anywhere we
# serve: a short code would reach a service, not an agency's duty phone), up to three of
# space . ( ) - between two digits, an optional + first.
PHONE_NUMBER = r"^\+?[0-9](?:[ .()-]{0,3}[0-9]){7,14}$"

_TARGETS = {WEBHOOK: (WEBHOOK_URL, "For a webhook: an http:// or https:// URL with a host name or IPv4 address "
                                   "and no credentials."),
            EMAIL: (EMAIL_ADDRESS, "For e-mail: an e-mail address."),
            SMS: (PHONE_NUMBER, "For SMS: a phone number of 8 to 15 digits, optionally starting with +.")}

# The same rules for the OpenAPI document: one branch per channel.
TARGET_BY_CHANNEL = {"oneOf": [{"properties": {"channel": {"type": "string", "enum": [channel]},
                                               "target": {"type": "string", "pattern": pattern}}}
                               for channel, (pattern, _message) in _TARGETS.items()]}

_EVENTS = [*REFERRAL_EVENTS, PING]


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def When(**kwargs) -> f.AwareDateTime:
    """A moment in an answer: RFC 3339 with its offset."""
    return f.AwareDateTime(metadata={"description": "RFC 3339 with an offset.", **kwargs.pop("metadata", {})},
                           **kwargs)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class CreateSubscriptionSchema(Strict):
    channel = f.String(required=True, validate=v.OneOf(CHANNELS))
    target = f.String(required=True, validate=v.Length(min=3, max=2000), metadata={
        "description": "webhook: the http(s) URL Haven POSTs to; email: an address; sms: a phone number."})
    organization_id = f.String(load_default=None, allow_none=True, validate=v.Length(min=1, max=64), metadata={
        "description": "Defaults to your own organization (required for administrators)."})
    user_id = f.String(load_default=None, allow_none=True, validate=v.Length(min=1, max=200), metadata={
        "description": "Narrow the subscription to what is addressed to this person (referrer, supervisor)."})
    language = f.String(load_default="vi", validate=v.OneOf(LANGUAGES))

    @ma.validates_schema
    def target_fits_channel(self, data, **_):
        if "target" not in data or data.get("channel") not in _TARGETS:
            return  # already refused, naming the field
        pattern, message = _TARGETS[data["channel"]]
        if not re.search(pattern, data["target"]):  # as a JSON Schema validator reads the document's pattern
            raise ma.ValidationError(message, "target")

    @ma.post_load
    def normalize(self, data, **_):
        data["target"] = data["target"].strip()  # `$` also matches before a final newline
        if data["channel"] == SMS:
            data["target"] = ("+" if data["target"].startswith("+") else "") + _digits(data["target"])
        return data


class SubscriptionSchema(ma.Schema):
    id = f.String(required=True)
    organization_id = f.String(required=True)
    user_id = f.String(required=True, allow_none=True)
    channel = f.String(required=True, metadata={"enum": list(CHANNELS)})
    target = f.String(required=True)
    language = f.String(required=True, metadata={"enum": list(LANGUAGES)})
    created_by = f.String(required=True)
    created_at = When(required=True)
    secret = f.String(metadata={"description": "Webhooks only, and only in the answer to POST: the key of the "
                                               "Haven-Signature HMAC. Store it; it is never shown again."})


class SubscriptionPageSchema(PageSchema):
    items = f.List(f.Nested(SubscriptionSchema), required=True)


class SubscriptionQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    organization_id = f.String(validate=v.Length(min=1, max=64))


class PingSchema(ma.Schema):
    delivery_id = f.String(required=True, metadata={"description": "Follow it at GET /v1/deliveries."})


class AttemptSchema(ma.Schema):
    number = f.Integer(required=True)
    started_at = When(required=True)
    latency_ms = f.Float(required=True, allow_none=True)
    outcome = f.String(required=True, allow_none=True, metadata={
        "enum": [*ATTEMPT_OUTCOMES, None],
        "description": "delivered, failed, interrupted (worker stopped mid-send), or null while in flight"})
    status_code = f.Integer(required=True, allow_none=True)
    error = f.String(required=True, allow_none=True)


class DeliverySchema(ma.Schema):
    id = f.String(required=True)
    event_id = f.String(required=True)
    event_kind = f.String(required=True, metadata={"enum": _EVENTS})
    referral_id = f.String(required=True, allow_none=True, metadata={"description": "null for a ping"})
    recipient_kind = f.String(required=True, metadata={"enum": list(RECIPIENT_KINDS)})
    recipient_id = f.String(required=True)
    organization_id = f.String(required=True)
    channel = f.String(required=True, metadata={"enum": list(CHANNELS)})
    subscription_id = f.String(required=True, allow_none=True)
    target = f.String(required=True, allow_none=True, metadata={
        "description": "null: the organization's directory contact, not looked up yet"})
    status = f.String(required=True, metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = f.Integer(required=True)
    max_attempts = f.Integer(required=True)
    next_attempt_at = When(required=True, allow_none=True)
    event_time = When(required=True)
    created_at = When(required=True)
    finished_at = When(required=True, allow_none=True)
    last_status_code = f.Integer(required=True, allow_none=True)
    last_error = f.String(required=True, allow_none=True)
    attempt_log = f.List(f.Nested(AttemptSchema), required=True)


class DeliveryPageSchema(PageSchema):
    items = f.List(f.Nested(DeliverySchema), required=True)


class DeliveryQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    referral_id = f.String(validate=v.Length(min=1, max=64))
    status = f.String(validate=v.OneOf(DELIVERY_STATUSES))
    channel = f.String(validate=v.OneOf(CHANNELS))


class InboxItemSchema(ma.Schema):
    id = f.String(required=True)
    recipient_kind = f.String(required=True, metadata={
        "enum": list(RECIPIENT_KINDS), "description": "user: addressed to you; organization: to your organization"})
    referral_id = f.String(required=True, allow_none=True)
    event = f.String(required=True, metadata={"enum": list(REFERRAL_EVENTS)})
    audience = f.String(required=True, allow_none=True, metadata={"enum": [*AUDIENCES, None]})
    urgency = f.String(required=True, allow_none=True)
    service_kind = f.String(required=True, allow_none=True)
    deadline = When(required=True, allow_none=True, metadata={"description": "The deadline that matters now "
                                                                               "(see deadline_kind)."})
    deadline_kind = f.String(required=True, allow_none=True, metadata={"enum": [*DEADLINE_KINDS, None]})
    reason_code = f.String(required=True, allow_none=True)
    link = f.String(required=True, allow_none=True)
    occurred_at = When(required=True, metadata={"description": "When the referral event happened."})
    created_at = When(required=True)
    read_at = When(required=True, allow_none=True)
    read = f.Boolean(required=True)


class InboxPageSchema(PageSchema):
    unread = f.Integer(required=True)
    items = f.List(f.Nested(InboxItemSchema), required=True)


class InboxQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    # true or false exactly, as the document says (not 1, yes, on...)
    unread = f.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
