"""Delivery status of each referral's notifications (from the notify service's events).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_notifications",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("referral_id", sa.String(36), nullable=False),
        sa.Column("event_kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("recipient_kind", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referral_notifications_referral_id", "referral_notifications", ["referral_id"])


def downgrade() -> None:
    op.drop_table("referral_notifications")
