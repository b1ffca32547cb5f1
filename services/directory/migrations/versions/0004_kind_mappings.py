"""Kind mappings (taxonomy + code -> kind) for HSDS documents from other systems, with the
starter mapping shipped beside the migrations.

Revision ID: 0004
Revises: 0003
"""
import json
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Read once, here: the rows this revision inserts. A later change to the starter file is a
# later revision's business (or an administrator's, through PUT /v1/kind-mappings).
STARTER = Path(__file__).resolve().parent.parent / "starter_kind_mappings.json"


def upgrade() -> None:
    mappings = op.create_table(
        "kind_mappings",
        sa.Column("taxonomy", sa.String(300), primary_key=True),
        sa.Column("code", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False, server_default=""),
        sa.Column("kind", sa.String(40), sa.ForeignKey("kinds.code"), nullable=False),
    )
    versions = op.create_table(
        "kind_mapping_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    rows = json.loads(STARTER.read_text(encoding="utf-8"))["mappings"]
    op.bulk_insert(mappings, [{"taxonomy": r["taxonomy"], "code": r["code"], "name": r.get("name", ""),
                               "kind": r["kind"]} for r in rows])
    op.bulk_insert(versions, [{"id": 1, "version": 1, "updated_at": datetime.now(timezone.utc)}])


def downgrade() -> None:
    op.drop_table("kind_mapping_versions")
    op.drop_table("kind_mappings")
