"""Demo data for a first start. Every record is fictional, and says so."""
from __future__ import annotations

from .bootstrap import directory_from


def load(config, database_url: str) -> None:
    from haven.platform import db

    from . import demo_data

    directory = directory_from(config, db.create_engine(database_url))
    directory.reference.add_areas(demo_data.areas())
    providers = demo_data.providers()
    directory.imports.load_trusted(providers)
    if not config.haven_auth_jwks_url:  # with an identity provider, accounts live there
        from haven.platform.local_users import ensure_demo_users

        ensure_demo_users(config.haven_data_dir, demo_organizations(providers))


def demo_organizations(providers) -> dict[str, str]:
    """Where the demo users work: the caseworker and the supervisor at a Women's Union (an
    agency that refers survivors), the agency staff at a shelter (one that receives them)."""
    def first(wanted) -> str:
        return next(org.id for org, _, services in providers if wanted(org, {s.kind for s in services}))

    womens_union = first(lambda org, kinds: org.name.startswith("Hội Liên hiệp Phụ nữ"))
    shelter = first(lambda org, kinds: "shelter" in kinds and org.name.startswith("Nhà tạm lánh"))
    return {"caseworker": womens_union, "supervisor": womens_union, "agency_staff": shelter}
