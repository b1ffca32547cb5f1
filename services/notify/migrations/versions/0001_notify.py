"""Outbox, subscriptions, deliveries and their attempts, inbox, consumed events.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", TS),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organization_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_subscriptions_organization", "subscriptions", ["organization_id", "user_id"])
    op.create_table(
        "deliveries",
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
        sa.Column("target", sa.String(2000)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("notice", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS),
        sa.Column("event_time", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String(200)),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_referral", "deliveries", ["referral_id"])
    op.create_index("ix_deliveries_event", "deliveries", ["event_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.String(36), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("latency_ms", sa.Float),
        sa.Column("outcome", sa.String(16)),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.String(200)),
    )
    op.create_index("ix_attempts_delivery", "delivery_attempts", ["delivery_id", "number"])
    op.create_table(
        "inbox",
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
    )
    op.create_index("ix_inbox_recipient", "inbox", ["recipient_kind", "recipient_id", "created_at"])
    op.create_table(
        "consumed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("consumed_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("consumed_events", "inbox", "delivery_attempts", "deliveries", "subscriptions", "outbox"):
        op.drop_table(table)
