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

from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from haven.platform.auth import Principal

from ..adapters import targets
from ..adapters.orm import deliveries, subscriptions
from ..adapters.secrets import WebhookSecrets
from ..domain import signature
from ..domain.model import ORGANIZATION, USER, WEBHOOK, ping_notice
from ..domain.policy import Backoff
from .common import NotFound, new_id, utcnow


class TargetRefused(ValueError):
    """A webhook URL on an address the worker must not reach (see adapters/targets.py)."""

PERMISSION = "notify:subscriptions"


def scope_of(principal: Principal) -> str | None:
    """The one organization the caller manages, or None for every organization."""
    return principal.organization_id if principal.limited_to_organization(PERMISSION) else None


def _public(row) -> dict:
    body = {name: getattr(row, name) for name in ("id", "organization_id", "user_id", "channel", "target",
                                                  "language", "created_by", "created_at")}
    return body


class Subscriptions:
    def __init__(self, engine: Engine, backoff: Backoff, secrets: WebhookSecrets, private_targets: bool = False):
        self.engine, self.backoff, self.secrets = engine, backoff, secrets
        self.private_targets = private_targets

    def create(self, principal: Principal, request: dict) -> dict:
        scope = scope_of(principal)
        organization_id = request.get("organization_id") or principal.organization_id
        if scope is not None and organization_id != scope:
            raise PermissionError("You manage the subscriptions of your own organization only.")
        if request["channel"] == WEBHOOK and not self.private_targets:
            parts = urlsplit(request["target"])
            problem = targets.subscription_problem(parts.hostname or "", parts.port)
            if problem:
                raise TargetRefused(problem)
        secret = signature.new_secret() if request["channel"] == WEBHOOK else None
        row = {"id": new_id(), "organization_id": organization_id, "user_id": request.get("user_id"),
               "channel": request["channel"], "target": request["target"],
               "secret": self.secrets.seal(secret) if secret else None,
               "language": request["language"], "created_by": principal.subject, "created_at": utcnow()}
        with self.engine.begin() as connection:
            connection.execute(subscriptions.insert().values(**row))
        body = {k: v for k, v in row.items() if k != "secret"}
        if secret:
            body["secret"] = secret  # the only time it is shown
        return body

    def list(self, principal: Principal, organization_id: str | None, page: int, per_page: int) -> tuple[int, list]:
        scope = scope_of(principal)
        condition = sa.true()
        if scope is not None:
            condition = subscriptions.c.organization_id == scope
        elif organization_id:
            condition = subscriptions.c.organization_id == organization_id
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(subscriptions).where(condition)).scalar()
            rows = connection.execute(sa.select(subscriptions).where(condition)
                                      .order_by(subscriptions.c.created_at, subscriptions.c.id)
                                      .limit(per_page).offset((page - 1) * per_page)).all()
        return total, [_public(row) for row in rows]

    def _get(self, connection, principal: Principal, subscription_id: str):
        row = connection.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        scope = scope_of(principal)
        if row is None or (scope is not None and row.organization_id != scope):
            raise NotFound(subscription_id)
        return row

    def delete(self, principal: Principal, subscription_id: str) -> None:
        with self.engine.begin() as connection:
            self._get(connection, principal, subscription_id)
            connection.execute(subscriptions.delete().where(subscriptions.c.id == subscription_id))

    def ping(self, principal: Principal, subscription_id: str) -> str:
        """Queue a test notification through this subscription; returns the delivery id."""
        now = utcnow()
        delivery_id = new_id()
        with self.engine.begin() as connection:
            row = self._get(connection, principal, subscription_id)
            notice = ping_notice(delivery_id, now.isoformat())
            connection.execute(deliveries.insert().values(
                id=delivery_id, dedupe_key=f"ping|{delivery_id}", event_id=delivery_id, event_kind="ping",
                referral_id=None, recipient_kind=USER if row.user_id else ORGANIZATION,
                recipient_id=row.user_id or row.organization_id, organization_id=row.organization_id,
                channel=row.channel, subscription_id=row.id, target=row.target, language=row.language,
                notice=notice.to_dict(), status="pending", attempts=0, max_attempts=self.backoff.max_attempts,
                next_attempt_at=now, event_time=now, created_at=now))
        return delivery_id


__all__ = ["Subscriptions", "PERMISSION", "scope_of"]
