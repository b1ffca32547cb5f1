"""Checks of the values the HSDS and the CSV import read alike (e-mail addresses, UUIDs,
kinds, times of day, ages, capacities, coordinates). A bad value raises ValueError, or is
returned as the problem, with a message an administrator can act on."""
from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime, timezone

from ...domain.model import BASE_KINDS, MAX_CAPACITY, Kind

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def canonical_uuid(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def kind_table(kinds) -> dict[str, bool]:
    """code -> confidential by default."""
    if kinds is None:
        return {code: conf for code, (_, _, conf) in BASE_KINDS.items()}
    table = {}
    for kind in kinds:
        if isinstance(kind, Kind):
            table[kind.code] = kind.confidential_by_default
        else:
            table[str(kind)] = BASE_KINDS.get(str(kind), ("", "", False))[2]
    return table


def parse_clock(value, local_offset: float) -> str:
    """HSDS/CSV time of day -> Haven "HH:MM". Raises ValueError with a readable message."""
    if not isinstance(value, str):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    match = _CLOCK.match(value.strip())
    if not match:
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    hours, minutes, seconds, suffix = int(match[1]), int(match[2]), int(match[3] or 0), match[4]
    if hours > 24 or minutes > 59 or seconds > 59 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    if suffix:
        if suffix == "Z":
            offset = 0.0
        else:
            digits = suffix[1:].replace(":", "")
            offset = (int(digits[:2]) + int(digits[2:]) / 60) * (1 if suffix[0] == "+" else -1)
        if offset != local_offset:
            raise ValueError(f"{value!r} is not in the local time of the service (UTC{local_offset:+g}); "
                             "give local times")
    if (hours, minutes, seconds) == (23, 59, 59):
        return "24:00"
    return f"{hours:02d}:{minutes:02d}"


def parse_age(value, label: str) -> int:
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"\d{1,3}", value):
            raise ValueError(f"{label} must be a whole number of years (0-150): {value!r}")
        value = int(value)
    if not is_number(value) or value != int(value):
        raise ValueError(f"{label} must be a whole number of years (0-150): {value!r}")
    if not 0 <= value <= 150:
        raise ValueError(f"{label} must be between 0 and 150: {value!r}")
    return int(value)


def check_capacity(available, maximum) -> None:
    for label, value in (("available", available), ("maximum", maximum)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CAPACITY:
            raise ValueError(f"capacity {label} must be a whole number from 0 to {MAX_CAPACITY}: {value!r}")
    if available > maximum:
        raise ValueError(f"capacity available ({available}) exceeds maximum ({maximum})")


def check_coordinates(lat, lon) -> tuple[str, str] | None:
    """(field, message) of the first problem, or None."""
    if (lat is None) != (lon is None):
        return ("latitude" if lat is None else "longitude"), "latitude and longitude go together"
    if lat is None:
        return None
    if not is_number(lat) or not -90 <= lat <= 90:
        return "latitude", f"latitude must be a number between -90 and 90: {lat!r}"
    if not is_number(lon) or not -180 <= lon <= 180:
        return "longitude", f"longitude must be a number between -180 and 180: {lon!r}"
    return None


def same_record(a, b) -> bool:
    """Equal, apart from the bookkeeping stamps."""
    stamp = datetime(2000, 1, 1, tzinfo=timezone.utc)
    return replace(a, created_at=stamp, updated_at=stamp, version=1) == replace(b, created_at=stamp,
                                                                               updated_at=stamp, version=1)
