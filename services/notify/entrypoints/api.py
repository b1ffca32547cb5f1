"""HTTP translation of the notify use cases: subscriptions, deliveries, inbox."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from haven.platform.auth import require
from haven.platform.errors import Problem, problem_type

from ..service_layer.subscriptions import PERMISSION, TargetRefused
from . import schemas as s

blp = Blueprint("notify", __name__, url_prefix="/v1",
                description="Where agencies want to hear about referrals (subscriptions), what was sent and how "
                            "it went (deliveries), and the portal inbox.")


def _parts() -> dict:
    return current_app.extensions["haven.notify"]


def _manager():
    return require(_parts()["verifier"], PERMISSION)


@blp.route("/subscriptions")
class SubscriptionCollection(MethodView):
    @blp.arguments(s.CreateSubscriptionSchema)
    @blp.response(201, s.SubscriptionSchema)
    def post(self, data):
        """Register a webhook URL, e-mail address or phone number for your organization (or one of its people).
        A webhook's signing secret is in this answer, and only here."""
        principal = _manager()
        if not data.get("organization_id") and not principal.organization_id:
            raise Problem(422, "organization_id: required (your token names no organization).",
                          title="Request validation failed", type=problem_type("validation-error"),
                          errors=[{"location": "json", "field": "organization_id",
                                   "message": "Required: your token names no organization."}])
        try:
            body = _parts()["subscriptions"].create(principal, data)
        except PermissionError as exc:
            raise Problem(403, str(exc), title="Forbidden", type=problem_type("forbidden")) from None
        except TargetRefused as exc:
            raise Problem(422, f"target: {exc}", title="Request validation failed",
                          type=problem_type("validation-error"),
                          errors=[{"location": "json", "field": "target", "message": str(exc)}]) from None
        return body, 201, {"Location": f"/v1/subscriptions/{body['id']}"}

    @blp.arguments(s.SubscriptionQuerySchema, location="query")
    @blp.response(200, s.SubscriptionPageSchema)
    def get(self, query):
        """Your organization's subscriptions (administrators: every organization's, or `organization_id`'s)."""
        principal = _manager()
        total, items = _parts()["subscriptions"].list(principal, query.get("organization_id"), query["page"],
                                                      query["per_page"])
        return {"total": total, "page": query["page"], "per_page": query["per_page"], "items": items}


@blp.route("/subscriptions/<string:subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(204)
    def delete(self, subscription_id):
        """Stop sending through this subscription (deliveries already queued for a deleted webhook fail)."""
        _parts()["subscriptions"].delete(_manager(), subscription_id)
        return "", 204


@blp.route("/subscriptions/<string:subscription_id>/ping")
class Ping(MethodView):
    @blp.response(202, s.PingSchema)
    def post(self, subscription_id):
        """Send a test notification through this subscription (follow it at GET /v1/deliveries)."""
        delivery_id = _parts()["subscriptions"].ping(_manager(), subscription_id)
        return {"delivery_id": delivery_id}, 202


@blp.route("/deliveries")
class DeliveryCollection(MethodView):
    @blp.arguments(s.DeliveryQuerySchema, location="query")
    @blp.response(200, s.DeliveryPageSchema)
    def get(self, query):
        """Deliveries to your organization and its people, newest first, each with its attempts."""
        principal = _manager()
        page, per_page = query.pop("page"), query.pop("per_page")
        total, items = _parts()["deliveries"].list(principal, query, page, per_page)
        return {"total": total, "page": page, "per_page": per_page, "items": items}


@blp.route("/deliveries/<string:delivery_id>/retry")
class RetryDelivery(MethodView):
    @blp.response(202, s.DeliverySchema)
    def post(self, delivery_id):
        """Send a dead-lettered (or undeliverable) delivery again, with a fresh allowance of attempts."""
        return _parts()["deliveries"].retry(_manager(), delivery_id), 202


@blp.route("/inbox")
class InboxCollection(MethodView):
    @blp.arguments(s.InboxQuerySchema, location="query")
    @blp.response(200, s.InboxPageSchema)
    def get(self, query):
        """Notifications for you and for your organization, newest first."""
        principal = require(_parts()["verifier"], "notify:inbox")
        total, unread, items = _parts()["inbox"].list(principal, query["unread"], query["page"], query["per_page"])
        return {"total": total, "unread": unread, "page": query["page"], "per_page": query["per_page"],
                "items": items}


@blp.route("/inbox/<string:item_id>/read")
class MarkRead(MethodView):
    @blp.response(200, s.InboxItemSchema)
    def post(self, item_id):
        """Mark one inbox item as read (for everyone it was addressed to)."""
        principal = require(_parts()["verifier"], "notify:inbox")
        return _parts()["inbox"].mark_read(principal, item_id)


__all__ = ["blp"]
