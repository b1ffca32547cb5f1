"""Tables of the directory database (SQLAlchemy Core; the domain stays free of SQL).

Lists that belong to one service and are never queried on their own (phones, opening
hours, languages, areas served) are JSON columns: the search index, not SQL, answers
questions about them.
"""
import sqlalchemy as sa

metadata = sa.MetaData()


def _stamps():
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("email", sa.String(320)),
    sa.Column("website", sa.String(2000)),
    sa.Column("phone", sa.String(40)),
    *_stamps(),
    sa.Index("ix_organizations_name", "name"),
)

areas = sa.Table(
    "areas",
    metadata,
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("parent_code", sa.String(20), sa.ForeignKey("areas.code")),
    sa.Column("latitude", sa.Float),  # the area's centre: both or neither (domain Centre)
    sa.Column("longitude", sa.Float),
)

kinds = sa.Table(
    "kinds",
    metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("name_vi", sa.String(200), nullable=False),
    sa.Column("name_en", sa.String(200), nullable=False),
    sa.Column("confidential_by_default", sa.Boolean, nullable=False, server_default=sa.false()),
)

locations = sa.Table(
    "locations",
    metadata,
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

services = sa.Table(
    "services",
    metadata,
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
    sa.Index("ix_services_updated_at", "updated_at"),
)

service_locations = sa.Table(
    "service_locations",
    metadata,
    sa.Column("service_id", sa.String(36), sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("location_id", sa.String(36), sa.ForeignKey("locations.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_service_locations_location", "location_id"),
)

# How services from other Open Referral systems get a kind: taxonomy + code -> kind. The
# table is edited as a whole (PUT /v1/kind-mappings); its one version row is its ETag.
kind_mappings = sa.Table(
    "kind_mappings",
    metadata,
    sa.Column("taxonomy", sa.String(300), primary_key=True),
    sa.Column("code", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False, server_default=""),
    sa.Column("kind", sa.String(40), sa.ForeignKey("kinds.code"), nullable=False),
)

kind_mapping_versions = sa.Table(
    "kind_mapping_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Provider events leave through the outbox, written in the same transaction as the change.
from haven.platform.outbox import outbox_table  # noqa: E402  (after the tables it sits beside)

outbox = outbox_table(metadata)
