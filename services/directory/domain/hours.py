"""Opening hours as minutes of the week, in the provider's local time.

A week has 7 * 1440 minutes, Monday 00:00 = 0. Hours past midnight (22:00-06:00 on a
Friday) become two intervals (Friday 22:00-24:00, Saturday 00:00-06:00), so "is it open"
is a plain interval test that a search index can run in SQL.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .model import WEEKDAYS, OpeningHours, Service

DAY = 1440
WEEK = 7 * DAY


def parse_clock(value: str) -> int:
    """'08:30' -> 510. Accepts HH:MM and HH:MM:SS (HSDS uses the latter); 24:00 is end of day."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    return hours * 60 + minutes


def weekly_intervals(hours: tuple[OpeningHours, ...]) -> list[tuple[int, int]]:
    intervals = []
    for entry in hours:
        opens, closes = parse_clock(entry.opens_at), parse_clock(entry.closes_at)
        for day in entry.byday:
            start = WEEKDAYS.index(day) * DAY + opens
            if closes > opens:
                intervals.append((start, WEEKDAYS.index(day) * DAY + closes))
            else:  # runs past midnight; Sunday night wraps to Monday morning
                intervals.append((start, WEEKDAYS.index(day) * DAY + DAY))
                next_day = (WEEKDAYS.index(day) + 1) % 7
                if closes > 0:
                    intervals.append((next_day * DAY, next_day * DAY + closes))
    return sorted(intervals)


def minute_of_week(moment: datetime) -> int:
    return moment.weekday() * DAY + moment.hour * 60 + moment.minute


def local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def is_open(service: Service, moment: datetime, timezone: str) -> bool:
    """Whether the service is open at an aware `moment`, in the provider's timezone."""
    if service.status != "active":
        return False
    here = local(moment, timezone)
    if here.date() in service.closed_on:
        return False
    if service.always_open:
        return True
    minute = minute_of_week(here)
    return any(start <= minute < end for start, end in weekly_intervals(service.hours))
