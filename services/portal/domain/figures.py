"""Figures as the referral service publishes them (`/v1/stats`), read the same way on every
ops page. Pure rules, no Flask.

GBV data-sharing practice never publishes a count small enough to point at a survivor in a
small commune: the API sends a count of 1 to 4 as the string `"<5"` (`"<" + min_cell`),
and `"x"` for a count it withholds so that a hidden one cannot be worked out by
subtraction. A page must show those as they are, never as 0, and a chart must draw no bar
for them (a bar has a height: it would publish the number).
"""
from __future__ import annotations

from datetime import date, timedelta

WITHHELD = "x"
PROGRAMME_YEAR_STARTS = (12, 1)  # 1 December: the plans' reporting year runs to 30 November


def is_suppressed(raw) -> bool:
    """A small count the API hid (`"<5"`)."""
    return isinstance(raw, str) and raw.startswith("<")


def is_withheld(raw) -> bool:
    """A count hidden so that a small one beside it cannot be recovered (`"x"`)."""
    return raw == WITHHELD


def is_count(raw) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool)


def chart_value(raw) -> int | None:
    """What a chart may draw: a published count, or nothing (a hidden count has no bar)."""
    return raw if is_count(raw) else None


def any_hidden(values) -> bool:
    return any(is_suppressed(v) or is_withheld(v) for v in values)


def programme_year(year: int) -> tuple[date, date]:
    """Programme year `year`: 1 December of the year before to 30 November of `year`."""
    return date(year - 1, *PROGRAMME_YEAR_STARTS), date(year, 11, 30)


def programme_year_of(day: date) -> int:
    """The programme year a Vietnamese calendar day belongs to (2 December 2026 is in 2027's)."""
    return day.year + 1 if (day.month, day.day) >= PROGRAMME_YEAR_STARTS else day.year


def last_finished_year(today: date) -> int:
    """The latest programme year that has ended: the one every agency reports in December."""
    return programme_year_of(today) - 1


def longer_than_years(start: date, end: date, years: int) -> bool:
    """Whether `start`..`end` (both inclusive) spans more than `years` years (the API's limit)."""
    try:
        limit = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + years, day=28) + timedelta(days=1)
    return end >= limit


__all__ = ["WITHHELD", "any_hidden", "chart_value", "is_count", "is_suppressed", "is_withheld",
           "last_finished_year", "longer_than_years", "programme_year", "programme_year_of"]
