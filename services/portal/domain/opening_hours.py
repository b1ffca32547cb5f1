"""Is a service open now, and when does it next open — from its hours, in its local time.

The directory filters on "open now" but does not say it per result, and a caseworker
beside a survivor needs it at a glance: "Open now, until 17:00" or "Closed · opens
tomorrow at 07:30". Pure rules, the same as the directory's (domain/hours.py there): an
instant is open when its local date is not a closed day and it falls in an opening;
hours past midnight (22:00-06:00) run into the next day.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

VIETNAM = "Asia/Ho_Chi_Minh"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
HORIZON_DAYS = 14  # a "next opening" further away than two weeks is not worth telling


def minutes(clock: str) -> int | None:
    """'07:30' or '07:30:00' -> 450; '24:00' -> 1440; anything else -> None (skipped, not fatal)."""
    parts = str(clock or "").split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    hours, mins = int(parts[0]), int(parts[1])
    if hours > 24 or mins > 59 or (hours == 24 and mins):
        return None
    return hours * 60 + mins


@dataclass(frozen=True)
class Opening:
    days: tuple[str, ...]
    opens: int  # minutes after midnight
    closes: int  # minutes after midnight; <= opens: it runs past midnight


@dataclass(frozen=True)
class OpenState:
    open: bool
    always: bool = False  # open round the clock, with no closed day coming
    closes_at: datetime | None = None  # while open: when this opening ends (local time)
    next_opens_at: datetime | None = None  # while closed: the next opening within two weeks
    taking_referrals: bool = True  # the service's status is active


@dataclass(frozen=True)
class Schedule:
    always_open: bool = False
    openings: tuple[Opening, ...] = ()
    closed_on: frozenset[date] = frozenset()
    active: bool = True
    timezone: str = VIETNAM

    @classmethod
    def of(cls, service: Mapping, timezone: str | None = None) -> "Schedule":
        """From a service as the directory's API gives it."""
        openings = []
        for entry in service.get("hours") or ():
            opens, closes = minutes(entry.get("opens_at")), minutes(entry.get("closes_at"))
            days = tuple(d for d in entry.get("byday") or () if d in WEEKDAYS)
            if opens is not None and closes is not None and days:
                openings.append(Opening(days, opens, closes))
        closed = set()
        for value in service.get("closed_on") or ():
            try:
                closed.add(date.fromisoformat(str(value)))
            except ValueError:
                continue
        return cls(always_open=bool(service.get("always_open")), openings=tuple(openings),
                   closed_on=frozenset(closed), active=(service.get("status") or "active") == "active",
                   timezone=timezone or VIETNAM)

    def stretches(self, start_day: date, days: int) -> list[tuple[datetime, datetime]]:
        """The open stretches (naive local times) that touch the `days` days from
        `start_day`, joined where one runs into the next (Friday 22:00 to Saturday 06:00)."""
        pieces = []
        for offset in range(-1, days + 1):
            day = start_day + timedelta(days=offset)
            midnight = datetime.combine(day, time())
            if self.always_open:
                pieces.append((midnight, midnight + timedelta(days=1)))
                continue
            code = WEEKDAYS[day.weekday()]
            for opening in self.openings:
                if code not in opening.days:
                    continue
                start = midnight + timedelta(minutes=opening.opens)
                if opening.closes > opening.opens:
                    pieces.append((start, midnight + timedelta(minutes=opening.closes)))
                else:  # past midnight: to the end of the day, then the next morning
                    pieces.append((start, midnight + timedelta(days=1)))
                    if opening.closes:
                        pieces.append((midnight + timedelta(days=1),
                                       midnight + timedelta(days=1, minutes=opening.closes)))
        # A closed day is closed all of it, whichever opening spilled into it.
        pieces = [p for p in pieces if p[0].date() not in self.closed_on and p[0] < p[1]]
        joined: list[tuple[datetime, datetime]] = []
        for start, end in sorted(pieces):
            if joined and start <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], end))
            else:
                joined.append((start, end))
        return joined

    def state_at(self, moment: datetime) -> OpenState:
        """Open or closed at an aware `moment`, and when that changes next."""
        if not self.active:
            return OpenState(open=False, taking_referrals=False)
        # Openings start and end on whole minutes, so the state is the same all minute: a
        # results page asks for ten services, and the same services come back search after
        # search.
        return _state_in_minute(self, moment.replace(second=0, microsecond=0))

    def _state_at(self, moment: datetime) -> OpenState:
        zone = ZoneInfo(self.timezone)
        here = moment.astimezone(zone).replace(tzinfo=None)
        stretches = self.stretches(here.date(), HORIZON_DAYS)
        horizon_end = datetime.combine(here.date() + timedelta(days=HORIZON_DAYS), time())
        for start, end in stretches:
            if start <= here < end:
                if self.always_open and end >= horizon_end:
                    return OpenState(open=True, always=True)
                return OpenState(open=True, closes_at=end.replace(tzinfo=zone))
            if start > here:
                return OpenState(open=False, next_opens_at=start.replace(tzinfo=zone))
        return OpenState(open=False)


@lru_cache(maxsize=4096)
def _state_in_minute(schedule: Schedule, minute: datetime) -> OpenState:
    return schedule._state_at(minute)


def week(service: Mapping) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each day of the week with its openings as (opens, closes) clock strings, Monday first;
    a day with none is closed. For the service page's table of hours."""
    table: list[tuple[str, list[tuple[str, str]]]] = []
    entries = list(service.get("hours") or ())
    for code in WEEKDAYS:
        found = []
        for entry in entries:
            if code in (entry.get("byday") or ()):
                opens, closes = minutes(entry.get("opens_at")), minutes(entry.get("closes_at"))
                if opens is not None and closes is not None:
                    found.append((opens, _clock(opens), _clock(closes)))
        table.append((code, [(o, c) for _, o, c in sorted(found)]))
    return table


def _clock(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def dates(values: Iterable) -> list[date]:
    found = []
    for value in values or ():
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            continue
    return sorted(found)
