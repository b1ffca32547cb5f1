"""Request and response schemas of the notify API (also its OpenAPI document)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.schemas import PageQuerySchema, PageSchema

from ..domain.model import CHANNELS

_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,24}$")
# E.164 allows at most 15 digits; fewer than 8 is no subscriber number anywhere we serve
# (a short code would reach a service, not an agency's duty phone).
_PHONE_DIGITS = range(8, 16)


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


_EMAIL = v.Email()


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
    language = f.String(load_default="vi", validate=v.OneOf(("vi", "en")))

    @ma.validates_schema
    def target_fits_channel(self, data, **_):
        target, channel = data.get("target", "").strip(), data.get("channel")
        if channel == "webhook":
            try:
                parts = urlsplit(target)
                parts.port  # noqa: B018 — raises on a port out of range
            except ValueError:
                raise ma.ValidationError("For a webhook: an http:// or https:// URL.", "target") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ma.ValidationError("For a webhook: an http:// or https:// URL.", "target")
            if parts.username or parts.password:
                raise ma.ValidationError("No credentials in the URL: the signature authenticates Haven.", "target")
        elif channel == "email":
            try:
                _EMAIL(target)
            except ma.ValidationError:
                raise ma.ValidationError("For e-mail: an e-mail address.", "target") from None
        elif channel == "sms" and not (_PHONE.match(target) and len(_digits(target)) in _PHONE_DIGITS):
            raise ma.ValidationError("For SMS: a phone number of 8 to 15 digits, optionally starting with +.", "target")

    @ma.post_load
    def normalize(self, data, **_):
        data["target"] = data["target"].strip()
        if data["channel"] == "sms":
            data["target"] = ("+" if data["target"].startswith("+") else "") + _digits(data["target"])
        return data


class SubscriptionSchema(ma.Schema):
    id = f.String()
    organization_id = f.String()
    user_id = f.String(allow_none=True)
    channel = f.String()
    target = f.String()
    language = f.String()
    created_by = f.String()
    created_at = f.AwareDateTime()
    secret = f.String(metadata={"description": "Webhooks only, and only in the answer to POST: the key of the "
                                               "Haven-Signature HMAC. Store it; it is never shown again."})


class SubscriptionPageSchema(PageSchema):
    items = f.List(f.Nested(SubscriptionSchema))


class SubscriptionQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    organization_id = f.String(validate=v.Length(min=1, max=64))


class PingSchema(ma.Schema):
    delivery_id = f.String()


class AttemptSchema(ma.Schema):
    number = f.Integer()
    started_at = f.AwareDateTime()
    latency_ms = f.Float(allow_none=True)
    outcome = f.String(allow_none=True, metadata={"description": "delivered, failed, interrupted (worker "
                                                                 "stopped mid-send), or null while in flight"})
    status_code = f.Integer(allow_none=True)
    error = f.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = f.String()
    event_id = f.String()
    event_kind = f.String()
    referral_id = f.String(allow_none=True)
    recipient_kind = f.String()
    recipient_id = f.String()
    organization_id = f.String()
    channel = f.String()
    subscription_id = f.String(allow_none=True)
    target = f.String(allow_none=True, metadata={"description": "null: the organization's directory contact, "
                                                                "not looked up yet"})
    status = f.String(metadata={"enum": ["pending", "sending", "delivered", "dead", "undeliverable"]})
    attempts = f.Integer()
    max_attempts = f.Integer()
    next_attempt_at = f.AwareDateTime(allow_none=True)
    event_time = f.AwareDateTime()
    created_at = f.AwareDateTime()
    finished_at = f.AwareDateTime(allow_none=True)
    last_status_code = f.Integer(allow_none=True)
    last_error = f.String(allow_none=True)
    attempt_log = f.List(f.Nested(AttemptSchema))


class DeliveryPageSchema(PageSchema):
    items = f.List(f.Nested(DeliverySchema))


class DeliveryQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    referral_id = f.String(validate=v.Length(min=1, max=64))
    status = f.String(validate=v.OneOf(("pending", "sending", "delivered", "dead", "undeliverable")))
    channel = f.String(validate=v.OneOf(CHANNELS))


class InboxItemSchema(ma.Schema):
    id = f.String()
    recipient_kind = f.String(metadata={"description": "user: addressed to you; organization: to your organization"})
    referral_id = f.String(allow_none=True)
    event = f.String()
    audience = f.String(allow_none=True)
    urgency = f.String(allow_none=True)
    service_kind = f.String(allow_none=True)
    deadline = f.String(allow_none=True)
    deadline_kind = f.String(allow_none=True)
    reason_code = f.String(allow_none=True)
    link = f.String(allow_none=True)
    occurred_at = f.String()
    created_at = f.AwareDateTime()
    read_at = f.AwareDateTime(allow_none=True)
    read = f.Boolean()


class InboxPageSchema(PageSchema):
    unread = f.Integer()
    items = f.List(f.Nested(InboxItemSchema))


class InboxQuerySchema(PageQuerySchema):
    class Meta:
        unknown = ma.RAISE

    unread = f.Boolean(load_default=False)
