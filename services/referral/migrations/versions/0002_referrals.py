"""Referrals, their history, idempotency keys and the audit log.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("urgency", sa.String(20), nullable=False),
        sa.Column("risk_level", sa.String(20), nullable=False),
        sa.Column("service_kind", sa.String(64), nullable=False),
        sa.Column("receiving_service_id", sa.String(128), nullable=False),
        sa.Column("receiving_organization_id", sa.String(128), nullable=False),
        sa.Column("referring_organization_id", sa.String(128), nullable=False),
        sa.Column("referring_user_id", sa.String(200), nullable=False),
        sa.Column("services_requested", sa.JSON, nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("consent", sa.JSON),
        sa.Column("override_by", sa.String(200)),
        sa.Column("override_at", TS),
        sa.Column("override_reason", sa.Text),
        sa.Column("personal", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS),
        sa.Column("decided_at", TS),
        sa.Column("completed_at", TS),
        sa.Column("cancelled_at", TS),
        sa.Column("previous_referral_id", sa.String(36)),
        sa.Column("next_referral_id", sa.String(36)),
        sa.Column("next_deadline_at", TS),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_referrals_receiving", "referrals", ["receiving_organization_id", "created_at"])
    op.create_index("ix_referrals_referring", "referrals", ["referring_organization_id", "created_at"])
    op.create_index("ix_referrals_deadline", "referrals", ["next_deadline_at"])
    op.create_table(
        "referral_history",
        sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("actor_user_id", sa.String(200)),
        sa.Column("actor_organization_id", sa.String(128)),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_user_id", sa.String(200), nullable=False),
        sa.Column("actor_organization_id", sa.String(128)),
        sa.Column("actor_roles", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("referral_id", sa.String(36)),
        sa.Column("detail", sa.String(500)),
        sa.Column("source_ip", sa.String(64)),
        sa.Column("request_id", sa.String(128)),
    )
    op.create_index("ix_audit_referral", "audit_log", ["referral_id", "at"])
    op.create_index("ix_audit_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("idempotency_keys")
    op.drop_table("referral_history")
    op.drop_table("referrals")
