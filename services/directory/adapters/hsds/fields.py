"""The vocabulary Haven's HSDS documents share in both directions: the ids Haven derives,
its taxonomies, the status codes, and the UTC offset of a location's local time."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

# Namespace of the UUID v5 ids Haven derives (nested HSDS objects, taxonomy terms, ids
# missing from an import). Never change it: the ids in exported documents depend on it.
NAMESPACE = uuid.UUID("6f1c1c4e-3b0a-5d7e-9a51-8a7d2f0b9c11")

TAXONOMY_KIND = "haven-kind"
TAXONOMY_GENDER = "haven-gender"
TAXONOMY_CONFIDENTIAL = "haven-confidential"
TAXONOMY_AREA = "haven-area"
TAXONOMY_CAPACITY = "haven-capacity"
TAXONOMY_ASSURER = "haven-assurer"
TAXONOMY_CLOSED_ON = "haven-closed-on"
TAXONOMY_SCHEDULE = "haven-schedule"
TAXONOMY_TIMEZONE = "haven-timezone"

STATUS_TO_HSDS = {"active": "active", "inactive": "inactive", "temporarily_closed": "temporarily closed"}
STATUS_FROM_HSDS = {"active": "active", "inactive": "inactive", "temporarily closed": "temporarily_closed",
                    "defunct": "inactive"}


def sub_id(*parts: str) -> str:
    """The id of a nested object Haven does not store (a phone, a schedule...), from its owner's
    id and its place there: the same record always exports to the same document."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def term_id(taxonomy: str, code: str) -> str:
    """The id of a taxonomy term; the HSDS API's taxonomy_term_id filter takes it too."""
    return sub_id("taxonomy_term", taxonomy, code)


def utc_offset(tz: str) -> int | float:
    """Hours from UTC of a time zone (HSDS schedules carry an offset, not a zone name)."""
    hours = ZoneInfo(tz).utcoffset(datetime(2024, 1, 1)).total_seconds() / 3600
    return int(hours) if hours == int(hours) else hours


def derived_id(*parts: str) -> str:
    """The id of an imported record that has none, from its parent's id and its name, so that
    importing the same file again updates the same record."""
    return sub_id("import", *(p.strip().casefold() for p in parts))
