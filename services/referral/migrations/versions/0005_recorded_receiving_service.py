"""Each referral records where its receiving service was when it was created (province,
district, commune codes of the service's location), so a later directory edit does not
rewrite the statistics. The kind was already recorded (`service_kind`). Referrals made
before this revision keep NULL: the indicators count them under "unknown".

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("receiving_province_code", "receiving_district_code", "receiving_commune_code")


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(20)))
    # The indicators select a period, often one province's: created_at leads.
    op.create_index("ix_referrals_created_province", "referrals", ["created_at", "receiving_province_code"])


def downgrade() -> None:
    op.drop_index("ix_referrals_created_province", "referrals")
    with op.batch_alter_table("referrals") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
