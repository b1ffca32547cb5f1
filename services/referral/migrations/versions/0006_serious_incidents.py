"""Serious incidents: one per referral, with the written report's deadline and what was
reminded (services/referral/domain/incidents.py).

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "serious_incidents",
        sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), primary_key=True),
        sa.Column("referring_organization_id", sa.String(128), nullable=False),
        sa.Column("receiving_organization_id", sa.String(128), nullable=False),
        _ts("discovered_at", False),
        _ts("phoned_at", False),
        sa.Column("phoned_to", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("marked_by", sa.String(200), nullable=False),
        _ts("marked_at", False),
        _ts("due_at", False),
        _ts("report_sent_at"),
        sa.Column("report_sent_to", sa.String(200)),
        sa.Column("recorded_by", sa.String(200)),
        _ts("recorded_at"),
        _ts("reminded_due_at"),
        _ts("reminded_missed_at"),
        _ts("next_reminder_at"),
    )
    op.create_index("ix_serious_incidents_referring", "serious_incidents", ["referring_organization_id", "due_at"])
    op.create_index("ix_serious_incidents_reminder", "serious_incidents", ["next_reminder_at"])
    op.create_index("ix_serious_incidents_discovered", "serious_incidents", ["discovered_at"])


def downgrade() -> None:
    op.drop_table("serious_incidents")
