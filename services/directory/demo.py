"""Demo data for a first start. Every record is fictional, and says so."""
from __future__ import annotations

from .bootstrap import directory_from


def load(config, database_url: str) -> None:
    from haven.platform import db

    from . import demo_data

    directory = directory_from(config, db.create_engine(database_url))
    directory.add_areas(demo_data.areas())
    directory.load_trusted(demo_data.providers())
