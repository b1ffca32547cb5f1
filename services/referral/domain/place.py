"""Where a referral's receiving service was when the referral was made."""
from __future__ import annotations

import re
from dataclasses import dataclass

AREA_CODE = re.compile(r"^[0-9A-Za-z]{1,20}$")  # the directory's area codes


def _code(value) -> str | None:
    return value if isinstance(value, str) and AREA_CODE.match(value) else None


@dataclass(frozen=True)
class ReceivingArea:
    """Area codes of the receiving service's location (province, district, commune), never
    an address. Any may be None: not known, or withheld (the directory does not tell a
    confidential location's commune). Recorded at creation and never rewritten, so a later
    edit in the directory does not move history; a code that is not one is dropped."""

    province: str | None = None
    district: str | None = None
    commune: str | None = None

    def __post_init__(self):
        for level in ("province", "district", "commune"):
            object.__setattr__(self, level, _code(getattr(self, level)))


UNKNOWN_AREA = ReceivingArea()

__all__ = ["ReceivingArea", "UNKNOWN_AREA"]
