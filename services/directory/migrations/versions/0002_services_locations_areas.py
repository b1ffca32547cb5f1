"""Services, locations, administrative areas and the kind taxonomy.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BASE_KINDS = [
    ("shelter", "Nhà tạm lánh", "Shelter", True),
    ("trusted_address", "Địa chỉ tin cậy", "Trusted address", True),
    ("social_work", "Trung tâm công tác xã hội", "Social work centre", False),
    ("health", "Cơ sở y tế", "Health care", False),
    ("legal_aid", "Trợ giúp pháp lý", "Legal aid", False),
    ("police", "Công an", "Police", False),
    ("counselling", "Tư vấn, tham vấn", "Counselling", False),
    ("hotline", "Đường dây nóng", "Hotline", False),
]


def _stamps():
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("phone", sa.String(40)))
    op.create_table(
        "areas",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("parent_code", sa.String(20), sa.ForeignKey("areas.code")),
    )
    kinds = op.create_table(
        "kinds",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name_vi", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("confidential_by_default", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.bulk_insert(kinds, [dict(code=c, name_vi=vi, name_en=en, confidential_by_default=conf)
                           for c, vi, en, conf in BASE_KINDS])
    op.create_table(
        "locations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("address_1", sa.String(300), nullable=False, server_default=""),
        sa.Column("city", sa.String(200), nullable=False, server_default=""),
        sa.Column("region", sa.String(200), nullable=False, server_default=""),
        sa.Column("postal_code", sa.String(20), nullable=False, server_default=""),
        sa.Column("country", sa.String(2), nullable=False, server_default="VN"),
        sa.Column("province_code", sa.String(20), sa.ForeignKey("areas.code")),
        sa.Column("district_code", sa.String(20), sa.ForeignKey("areas.code")),
        sa.Column("commune_code", sa.String(20), sa.ForeignKey("areas.code")),
        sa.Column("confidential", sa.Boolean, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        *_stamps(),
    )
    op.create_table(
        "services",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(40), sa.ForeignKey("kinds.code"), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("url", sa.String(2000)),
        sa.Column("phones", sa.JSON, nullable=False),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("gender", sa.String(10), nullable=False),
        sa.Column("minimum_age", sa.Integer),
        sa.Column("maximum_age", sa.Integer),
        sa.Column("free_of_charge", sa.Boolean, nullable=False),
        sa.Column("fees_description", sa.Text, nullable=False, server_default=""),
        sa.Column("always_open", sa.Boolean, nullable=False),
        sa.Column("hours", sa.JSON, nullable=False),
        sa.Column("closed_on", sa.JSON, nullable=False),
        sa.Column("capacity_available", sa.Integer),
        sa.Column("capacity_maximum", sa.Integer),
        sa.Column("capacity_updated_at", sa.DateTime(timezone=True)),
        sa.Column("assured_date", sa.Date),
        sa.Column("assured_by", sa.String(300)),
        sa.Column("service_areas", sa.JSON, nullable=False),
        *_stamps(),
    )
    op.create_index("ix_services_updated_at", "services", ["updated_at"])
    op.create_table(
        "service_locations",
        sa.Column("service_id", sa.String(36), sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_service_locations_location", "service_locations", ["location_id"])


def downgrade() -> None:
    op.drop_index("ix_service_locations_location", table_name="service_locations")
    op.drop_table("service_locations")
    op.drop_index("ix_services_updated_at", table_name="services")
    op.drop_table("services")
    op.drop_table("locations")
    op.drop_table("kinds")
    op.drop_table("areas")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("phone")
