"""The transactional outbox: a service writes its state change and the events it causes in
one database transaction; a relay publishes them to the event log afterwards.

The relay publishes a batch in row order (so in order per key), waits until the log has it
durably, and only then marks the rows sent. A crash between the two can only cause a
duplicate (consumers are idempotent on the event id), never a loss. Run one relay per
database: two would each publish in order, but interleaved with each other.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import metrics
from .db import UtcDateTime
from .eventlog import EventLog, Message
from .events import CloudEvent

log = logging.getLogger("haven.outbox")


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", UtcDateTime()),
        sa.Index("ix_outbox_unsent", "sent_at", "id"),
    )


class Outbox:
    def __init__(self, table: sa.Table):
        self.table = table

    def add(self, connection: Connection, topic: str, key: str, event: CloudEvent) -> None:
        """Within the caller's transaction: the event exists if and only if the change does."""
        connection.execute(self.table.insert().values(topic=topic, key=key, event_id=event.id, event=event.to_json()))

    def backlog(self, engine: Engine) -> int:
        with engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(self.table)
                                      .where(self.table.c.sent_at.is_(None))).scalar_one()

    def oldest_age(self, engine: Engine) -> float:
        """Seconds the oldest unsent row has waited (0 when none waits): a backlog of ten
        rows is nothing if they are new, and an outage if one is an hour old."""
        with engine.connect() as connection:
            created = connection.execute(sa.select(self.table.c.created_at).where(self.table.c.sent_at.is_(None))
                                         .order_by(self.table.c.id).limit(1)).scalar()
        return 0.0 if created is None else max(0.0, (datetime.now(timezone.utc) - created).total_seconds())


class Relay:
    def __init__(self, engine: Engine, outbox: Outbox, event_log: EventLog, batch_size: int = 500,
                 service: str = "", topics: tuple[str, ...] = ()):
        self.engine = engine
        self.outbox = outbox
        self.table = outbox.table
        self.service = service
        self.event_log = event_log
        self.batch_size = batch_size
        for topic in topics:  # a new installation's dashboard shows 0 events published, not "no data"
            metrics.EVENTS_PUBLISHED.labels(topic)

    def relay_once(self) -> int:
        """Publish the oldest unsent rows; returns how many were sent."""
        table = self.table
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table.c.id, table.c.topic, table.c.key, table.c.event)
                                      .where(table.c.sent_at.is_(None)).order_by(table.c.id)
                                      .limit(self.batch_size)).all()
        if not rows:
            return 0
        self.event_log.publish([Message(row.topic, row.key, bytes(row.event),
                                        {"content-type": "application/cloudevents+json"}) for row in rows])
        with self.engine.begin() as connection:  # only now: a crash before this line re-publishes
            connection.execute(table.update().where(table.c.id.in_([row.id for row in rows]))
                               .values(sent_at=sa.func.now()))
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(row.topic).inc()
        return len(rows)

    def run(self, stop: threading.Event, idle_wait: float = 0.02, retry_wait: float = 1.0) -> None:
        """Relay until `stop`; while the event log is unreachable, keep the rows and retry."""
        measured = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - measured > 1.0:
                    metrics.OUTBOX_BACKLOG.labels(self.service).set(self.outbox.backlog(self.engine))
                    metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(self.outbox.oldest_age(self.engine))
                    measured = time.monotonic()
                sent = self.relay_once()
            except Exception as exc:  # the broker is down: the rows wait in the outbox
                log.warning("event log unavailable; outbox rows kept", extra={"error": type(exc).__name__})
                stop.wait(retry_wait)
                continue
            if not sent:
                stop.wait(idle_wait)
