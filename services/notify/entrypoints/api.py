"""HTTP translation of the notify use cases: subscriptions, deliveries, inbox."""
from __future__ import annotations

from flask.views import MethodView

from haven.platform.blueprint import Blueprint
from haven.platform.errors import Problem, problem_type
from haven.platform.openapi import documented, link

from ..service_layer import commands as c
from . import context
from . import schemas as s

blp = Blueprint("notify", __name__, url_prefix="/v1",
                description="Where agencies want to hear about referrals (subscriptions), what was sent and how "
                            "it went (deliveries), and the portal inbox.")


# From a subscription in an answer to what can be done with it, and from a ping to the
# delivery it queued: a client (or a stateful fuzzer) walks the lifecycle.
SUBSCRIPTION_LINKS = {
    "ping": link("ping_subscription", "Send a test notification through it.",
                 subscription_id="$response.body#/id"),
    "delete": link("delete_subscription", "Stop sending through it.", subscription_id="$response.body#/id"),
}
PING_LINKS = {
    "follow": link("list_deliveries", "Follow the test delivery (it is among the newest).")}


def register(api) -> None:
    """The blueprint, and what its schemas cannot say of themselves: which target each
    channel takes (see schemas.TARGET_BY_CHANNEL)."""
    api.spec.components.schema("CreateSubscription", component=s.TARGET_BY_CHANNEL,
                               schema=s.CreateSubscriptionSchema)
    api.register_blueprint(blp)


@blp.route("/subscriptions")
class SubscriptionCollection(MethodView):
    @blp.arguments(s.CreateSubscriptionSchema)
    @blp.response(201, s.SubscriptionSchema)
    @blp.doc(operationId="create_subscription")
    @documented(links={201: SUBSCRIPTION_LINKS})  # 403: another organization's; 422: also a refused host
    def post(self, data):
        """Register a webhook URL, e-mail address or phone number for your organization (or one of its people).
        A webhook's signing secret is in this answer, and only here."""
        principal = context.manager()
        if not data.get("organization_id") and not principal.organization_id:
            raise Problem(422, "organization_id: required (your token names no organization).",
                          title="Request validation failed", type=problem_type("validation-error"),
                          errors=[{"location": "json", "field": "organization_id",
                                   "message": "Required: your token names no organization."}])
        body = context.subscriptions().create(principal, c.Subscribe(
            channel=data["channel"], target=data["target"], language=data["language"],
            organization_id=data.get("organization_id"), user_id=data.get("user_id")))
        return body, 201, {"Location": f"/v1/subscriptions/{body['id']}"}

    @blp.arguments(s.SubscriptionQuerySchema, location="query")
    @blp.response(200, s.SubscriptionPageSchema)
    @blp.doc(operationId="list_subscriptions")
    @documented()
    def get(self, query):
        """Your organization's subscriptions (administrators: every organization's, or `organization_id`'s)."""
        total, items = context.subscriptions().list(context.manager(), c.ListSubscriptions(
            query["page"], query["per_page"], organization_id=query.get("organization_id")))
        return {"total": total, "page": query["page"], "per_page": query["per_page"], "items": items}


@blp.route("/subscriptions/<string:subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(204)
    @blp.doc(operationId="delete_subscription")
    @documented()
    def delete(self, subscription_id):
        """Stop sending through this subscription (deliveries already queued for a deleted webhook fail)."""
        context.subscriptions().delete(context.manager(), c.Unsubscribe(subscription_id))
        return "", 204


@blp.route("/subscriptions/<string:subscription_id>/ping")
class Ping(MethodView):
    @blp.response(202, s.PingSchema)
    @blp.doc(operationId="ping_subscription")
    @documented(links={202: PING_LINKS})
    def post(self, subscription_id):
        """Send a test notification through this subscription (follow it at GET /v1/deliveries)."""
        delivery_id = context.subscriptions().ping(context.manager(), c.PingSubscription(subscription_id))
        return {"delivery_id": delivery_id}, 202


@blp.route("/deliveries")
class DeliveryCollection(MethodView):
    @blp.arguments(s.DeliveryQuerySchema, location="query")
    @blp.response(200, s.DeliveryPageSchema)
    @blp.doc(operationId="list_deliveries")
    @documented()
    def get(self, query):
        """Deliveries to your organization and its people, newest first, each with its attempts."""
        page, per_page = query["page"], query["per_page"]
        total, items = context.deliveries().list(context.manager(), c.ListDeliveries(
            page, per_page, referral_id=query.get("referral_id"), status=query.get("status"),
            channel=query.get("channel")))
        return {"total": total, "page": page, "per_page": per_page, "items": items}


@blp.route("/deliveries/<string:delivery_id>/retry")
class RetryDelivery(MethodView):
    @blp.response(202, s.DeliverySchema)
    @blp.doc(operationId="retry_delivery")
    @documented(errors=[409])  # 409: only a dead-lettered or undeliverable delivery is sent again
    def post(self, delivery_id):
        """Send a dead-lettered (or undeliverable) delivery again, with a fresh allowance of attempts."""
        return context.deliveries().retry(context.manager(), c.RetryDelivery(delivery_id)), 202


@blp.route("/inbox")
class InboxCollection(MethodView):
    @blp.arguments(s.InboxQuerySchema, location="query")
    @blp.response(200, s.InboxPageSchema)
    @blp.doc(operationId="list_inbox")
    @documented()
    def get(self, query):
        """Notifications for you and for your organization, newest first."""
        total, unread, items = context.inbox().list(context.reader(), c.ListInbox(
            query["page"], query["per_page"], unread_only=query["unread"]))
        return {"total": total, "unread": unread, "page": query["page"], "per_page": query["per_page"],
                "items": items}


@blp.route("/inbox/<string:item_id>/read")
class MarkRead(MethodView):
    @blp.response(200, s.InboxItemSchema)
    @blp.doc(operationId="mark_inbox_item_read")
    @documented()
    def post(self, item_id):
        """Mark one inbox item as read (for everyone it was addressed to)."""
        return context.inbox().mark_read(context.reader(), c.MarkInboxItemRead(item_id))


__all__ = ["blp", "register"]
