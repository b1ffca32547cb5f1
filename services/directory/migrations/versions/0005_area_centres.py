"""Areas get a centre (latitude, longitude), so a search can be "near this commune".
Nullable: the official lists carry no coordinates, and an area without a centre is only
not offered as a place to search around.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("areas", sa.Column("latitude", sa.Float, nullable=True))
    op.add_column("areas", sa.Column("longitude", sa.Float, nullable=True))


def downgrade() -> None:
    op.drop_column("areas", "longitude")  # SQLite 3.35+ drops a column in place
    op.drop_column("areas", "latitude")
