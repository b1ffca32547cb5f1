"""Tables of the notify database.

Addresses of agencies (webhook URLs, e-mail addresses, phones) and of staff live here, in
`subscriptions.target` and `deliveries.target`: that is how a notification reaches them.
No survivor data exists in this database: notices carry ids, codes and times only.
"""
import sqlalchemy as sa

from haven.platform.db import UtcDateTime
from haven.platform.outbox import outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)

TS = UtcDateTime()

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("organization_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(200)),  # set: only what is addressed to this person
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("target", sa.String(2000), nullable=False),  # URL, e-mail address or phone number
    # webhooks: the HMAC key, encrypted with the field keys (adapters/secrets.py; migration 0002)
    sa.Column("secret", sa.String(1000)),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_subscriptions_organization", "organization_id", "user_id"),
)

# One row per recipient, channel and event: the unit of idempotency and of retries.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("dedupe_key", sa.String(400), nullable=False, unique=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_kind", sa.String(32), nullable=False),
    sa.Column("referral_id", sa.String(64)),
    sa.Column("recipient_kind", sa.String(16), nullable=False),
    sa.Column("recipient_id", sa.String(200), nullable=False),
    sa.Column("organization_id", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("subscription_id", sa.String(36)),
    sa.Column("target", sa.String(2000)),  # NULL: the organization's directory contact, looked up when sent
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("notice", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending sending delivered dead undeliverable
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS),
    sa.Column("event_time", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(200)),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_deliveries_referral", "referral_id"),
    sa.Index("ix_deliveries_event", "event_id"),
)

attempts = sa.Table(
    "delivery_attempts", metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.String(36), sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("latency_ms", sa.Float),
    sa.Column("outcome", sa.String(16)),  # NULL while in flight; delivered failed interrupted
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(200)),
    sa.Index("ix_attempts_delivery", "delivery_id", "number"),
)

inbox = sa.Table(
    "inbox", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("recipient_kind", sa.String(16), nullable=False),
    sa.Column("recipient_id", sa.String(200), nullable=False),
    sa.Column("organization_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("referral_id", sa.String(64)),
    sa.Column("notice", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("read_at", TS),
    sa.Column("read_by", sa.String(200)),
    sa.UniqueConstraint("event_id", "recipient_kind", "recipient_id", name="uq_inbox_event_recipient"),
    sa.Index("ix_inbox_recipient", "recipient_kind", "recipient_id", "created_at"),
)

# Referral events already fanned out: a redelivered event is recognised and skipped.
consumed_events = sa.Table(
    "consumed_events", metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("consumed_at", TS, nullable=False),
)
