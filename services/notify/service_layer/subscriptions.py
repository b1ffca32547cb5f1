"""Subscriptions: where an organization (or one of its people) wants to be told.

An organization's admin (agency staff, for their own organization; Haven admins, for any)
registers webhook URLs, e-mail addresses and phone numbers. A subscription belongs to an
organization and may be narrowed to one user id: it then receives only what is addressed
to that person (the referrer's status updates, a supervisor's escalations) — the way to
reach people when accounts live in an outside identity provider.

A webhook's signing secret is generated here and shown once, in the answer to its creation;
after that only its owner's receiver knows it (it is stored encrypted, and no answer shows it).
"""
from __future__ import annotations

from haven.platform.principal import Principal

from ..domain import signature
from ..domain.delivery import Delivery
from ..domain.errors import NotFound, NotOwnOrganization, TargetRefused
from ..domain.model import ORGANIZATION, USER, WEBHOOK, ping_notice
from ..domain.policy import Backoff
from ..domain.subscription import Subscription
from .commands import ListSubscriptions, PingSubscription, Subscribe, Unsubscribe
from .common import new_id, scope_of, utcnow
from .ports import Clock, WebhookSecrets, WebhookTargets
from .unit_of_work import NotifyUnitOfWork, UnitOfWorkFactory

_PUBLIC = ("id", "organization_id", "user_id", "channel", "target", "language", "created_by", "created_at")


def _public(subscription: Subscription) -> dict:
    return {name: getattr(subscription, name) for name in _PUBLIC}


class Subscriptions:
    def __init__(self, uow: UnitOfWorkFactory, backoff: Backoff, secrets: WebhookSecrets,
                 targets: WebhookTargets, clock: Clock = utcnow):
        self.uow, self.backoff, self.secrets, self.targets, self.clock = uow, backoff, secrets, targets, clock

    def create(self, principal: Principal, command: Subscribe) -> dict:
        scope = scope_of(principal)
        organization_id = command.organization_id or principal.organization_id
        if scope is not None and organization_id != scope:
            raise NotOwnOrganization("You manage the subscriptions of your own organization only.")
        if command.channel == WEBHOOK:
            refusal = self.targets.refusal(command.target)
            if refusal:
                raise TargetRefused(refusal)
        secret = signature.new_secret() if command.channel == WEBHOOK else None
        subscription = Subscription(id=new_id(), organization_id=organization_id, user_id=command.user_id,
                                    channel=command.channel, target=command.target,
                                    secret=self.secrets.seal(secret) if secret else None,
                                    language=command.language, created_by=principal.subject,
                                    created_at=self.clock())
        with self.uow() as uow:
            uow.subscriptions.add(subscription)
            uow.commit()
        body = _public(subscription)
        if secret:
            body["secret"] = secret  # the only time it is shown
        return body

    def list(self, principal: Principal, query: ListSubscriptions) -> tuple[int, list[dict]]:
        scope = scope_of(principal)
        with self.uow() as uow:
            total, found = uow.subscriptions.page(scope if scope is not None else query.organization_id,
                                                  query.page, query.per_page)
        return total, [_public(subscription) for subscription in found]

    @staticmethod
    def _get(uow: NotifyUnitOfWork, principal: Principal, subscription_id: str) -> Subscription:
        subscription = uow.subscriptions.get(subscription_id)
        scope = scope_of(principal)
        if subscription is None or (scope is not None and subscription.organization_id != scope):
            raise NotFound(subscription_id)
        return subscription

    def delete(self, principal: Principal, command: Unsubscribe) -> None:
        with self.uow() as uow:
            self._get(uow, principal, command.subscription_id)
            uow.subscriptions.delete(command.subscription_id)
            uow.commit()

    def ping(self, principal: Principal, command: PingSubscription) -> str:
        """Queue a test notification through this subscription; returns the delivery id."""
        now = self.clock()
        delivery_id = new_id()
        with self.uow() as uow:
            subscription = self._get(uow, principal, command.subscription_id)
            notice = ping_notice(delivery_id, now.isoformat())
            uow.deliveries.add(Delivery(
                id=delivery_id, dedupe_key=f"ping|{delivery_id}", event_id=delivery_id, event_kind="ping",
                referral_id=None, recipient_kind=USER if subscription.user_id else ORGANIZATION,
                recipient_id=subscription.user_id or subscription.organization_id,
                organization_id=subscription.organization_id, channel=subscription.channel,
                subscription_id=subscription.id, target=subscription.target, language=subscription.language,
                notice=notice.to_dict(), status="pending", attempts=0, max_attempts=self.backoff.max_attempts,
                next_attempt_at=now, event_time=now, created_at=now))
            uow.commit()
        return delivery_id


__all__ = ["Subscriptions"]
