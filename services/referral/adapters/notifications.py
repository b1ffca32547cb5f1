"""Delivery status on the referral: the outcomes the notify service publishes on
`delivery-events`, kept per delivery (the newest report wins; a redelivered event changes
nothing)."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .orm import notifications


def record(engine: Engine, data: dict) -> None:
    """Upsert one delivery's outcome (idempotent: at-least-once delivery of events)."""
    at = datetime.fromisoformat(data["at"]).astimezone(timezone.utc)
    row = dict(delivery_id=data["delivery_id"], referral_id=data["referral_id"], event_kind=data["event_kind"],
               channel=data["channel"], recipient_kind=data["recipient_kind"], outcome=data["outcome"],
               attempts=int(data["attempts"]), at=at)
    with engine.begin() as connection:
        changed = connection.execute(notifications.update().where(
            notifications.c.delivery_id == row["delivery_id"], notifications.c.at <= at).values(**row)).rowcount
        if not changed and connection.execute(sa.select(notifications.c.delivery_id).where(
                notifications.c.delivery_id == row["delivery_id"])).first() is None:
            connection.execute(notifications.insert().values(**row))


def of_referral(connection: Connection, referral_id: str) -> list[dict]:
    rows = connection.execute(sa.select(notifications).where(notifications.c.referral_id == referral_id)
                              .order_by(notifications.c.at, notifications.c.delivery_id)).mappings().all()
    return [{k: row[k] for k in ("event_kind", "channel", "recipient_kind", "outcome", "attempts", "at")}
            for row in rows]
