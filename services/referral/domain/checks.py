"""Small value checks shared by the referral's value objects."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import InvalidReferral

CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # kind codes, reason codes: `legal_aid`, `no_capacity`


def utc(value: datetime | None, field: str, *, required: bool = True) -> datetime | None:
    """The same instant in UTC. A naive datetime is refused rather than guessed: a server in
    Hà Nội and one in UTC would read it seven hours apart, and response times would lie."""
    if value is None:
        if required:
            raise InvalidReferral(field, "is required")
        return None
    if not isinstance(value, datetime):
        raise InvalidReferral(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidReferral(field, "must be timezone-aware (UTC)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 in another offset
        raise InvalidReferral(field, "is out of range") from None


def identifier(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidReferral(field, "is required")
    if len(value) > 128:
        raise InvalidReferral(field, "is longer than 128 characters")
    return value.strip()


def code(value, field: str, allowed: tuple[str, ...] | None = None) -> str:
    """A code from `allowed`, or, for open lists (service kinds), any well-formed code."""
    if allowed is not None:
        if value not in allowed:
            raise InvalidReferral(field, f"must be one of {', '.join(allowed)}")
        return value
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidReferral(field, "must be a lower-case code such as `legal_aid`")
    return value


def text(value, field: str, max_length: int) -> str | None:
    """Free text, trimmed; blank becomes None so that 'no note' has one spelling."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidReferral(field, "must be text")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidReferral(field, f"is longer than {max_length} characters")
    return value or None
