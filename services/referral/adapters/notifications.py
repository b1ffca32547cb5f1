"""Delivery status on the referral: the outcomes the notify service publishes on
`delivery-events`, kept per delivery (the newest report wins; a redelivered event changes
nothing)."""
from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..service_layer.commands import DeliveryReport
from .orm import notifications


class DeliveryReportRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def record(self, report: DeliveryReport) -> None:
        """Upsert one delivery's outcome (idempotent: at-least-once delivery of events)."""
        row = asdict(report)  # its fields are the table's columns
        changed = self.connection.execute(notifications.update().where(
            notifications.c.delivery_id == report.delivery_id, notifications.c.at <= report.at).values(**row)).rowcount
        if not changed and self.connection.execute(sa.select(notifications.c.delivery_id).where(
                notifications.c.delivery_id == report.delivery_id)).first() is None:
            self.connection.execute(notifications.insert().values(**row))

    def of_referral(self, referral_id: str) -> list[dict]:
        rows = self.connection.execute(sa.select(notifications).where(notifications.c.referral_id == referral_id)
                                       .order_by(notifications.c.at, notifications.c.delivery_id)).mappings().all()
        return [{k: row[k] for k in ("event_kind", "channel", "recipient_kind", "outcome", "attempts", "at")}
                for row in rows]
