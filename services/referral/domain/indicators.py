"""The programme's indicators over a set of referrals: counts, the share that received help,
response times, missed deadlines, escalations and serious incidents, per group and in
total, with small cells suppressed (`suppression.py`). Pure functions, no framework.

What a statistic may read is `ReferralFacts`: codes, times and flags, never a personal
field (no name, phone, note, free text or user id) — so none can enter a figure.

The programme year (`ProgrammeYear`) runs from 1 December to 30 November, named by the
year it ends in, in Vietnam's calendar (UTC+7, no summer time).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Callable, Iterable, Sequence

import haven.platform.refusals as refusals

from . import sla
from .incidents import report_state
from .model import ACCEPTED, CANCELLED, COMPLETED, DECLINE_REASONS, DECLINED, RISK_LEVELS, URGENCIES, AWAITING
from .suppression import SMALL, TOTAL, Breakdown, suppress

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
UNKNOWN = "unknown"  # the group of referrals made before the receiving area was recorded
GROUPINGS = ("month", "province", "district", "commune", "kind", "urgency", "risk_level")
INCIDENT_STATES = ("on_time", "late", "missing", "due")  # as services.referral.domain.incidents names them
LONGEST_YEARS = 3  # a period covers at most three whole years (three programme years)
FIRST_YEAR, LAST_YEAR = 2000, 2100


class InvalidQuery(refusals.Invalid):
    """A question the indicators cannot answer (422 naming the query parameter)."""

    def __init__(self, field: str, message: str):
        super().__init__(field, message, location="query")


class InconsistentPeriod(InvalidQuery):
    """`from` and `to`, each a valid day, that make no period: after one another, or too far
    apart (a rule between two parameters, which the OpenAPI document cannot state)."""


# --- the period ------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Calendar days in Vietnam, both inclusive."""

    first: date
    last: date

    def __post_init__(self):
        if self.first > self.last:
            raise InconsistentPeriod("to", "must not be before `from`")
        if self.last >= _years_after(self.first, LONGEST_YEARS):
            raise InconsistentPeriod("to", "a period is at most three years")

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time(), VIETNAM).astimezone(UTC)

    @property
    def ends_before(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), VIETNAM).astimezone(UTC)

    def months(self) -> list[str]:
        months, year, month = [], self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the day after 28 February
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def programme_year(year: int) -> Period:
    """Programme year `year`: 1 December of the year before to 30 November of `year`."""
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidQuery("year", f"must be a year from {FIRST_YEAR} to {LAST_YEAR}")
    return Period(date(year - 1, 12, 1), date(year, 11, 30))


def programme_year_of(day: date) -> int:
    return day.year + 1 if day.month == 12 else day.year


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def period_of(first: date | None, last: date | None, today: date) -> Period:
    """The period asked for: a missing end is the programme year's around the other end
    (or around today, when both are missing)."""
    if first is None and last is None:
        return programme_year(programme_year_of(today))
    if first is None:
        first = programme_year(programme_year_of(last)).first
    if last is None:
        last = programme_year(programme_year_of(first)).last
    return Period(first, last)


# --- what a statistic reads --------------------------------------------------------------

@dataclass(frozen=True)
class IncidentFacts:
    """A serious incident's written-report deadline and when the report went (if it did)."""

    discovered_at: datetime
    due_at: datetime
    report_sent_at: datetime | None

    def state(self, now: datetime) -> str:
        return report_state(self.due_at, self.report_sent_at, now)


@dataclass(frozen=True)
class ReferralFacts:
    """One referral as a statistic sees it. Quacks like a `Referral` for `sla.progress`."""

    created_at: datetime
    status: str
    urgency: str
    risk_level: str
    kind: str
    province: str | None = None
    district: str | None = None
    commune: str | None = None
    acknowledged_at: datetime | None = None
    decided_at: datetime | None = None
    completed_at: datetime | None = None
    accepted: bool = False  # accepted at some point (perhaps completed or cancelled since)
    decline_reason: str | None = None
    re_referred: bool = False
    consent_overridden: bool = False
    escalations: tuple[str, ...] = ()  # deadline kinds escalated
    incident: IncidentFacts | None = None

    @property
    def answered_at(self) -> datetime | None:
        return self.acknowledged_at or self.decided_at

    def awaiting(self, deadline_kind: str) -> bool:
        return self.status in AWAITING[deadline_kind]

    def key(self, grouping: str) -> str:
        if grouping == "month":
            return vietnam_day(self.created_at).strftime("%Y-%m")
        value = {"kind": self.kind, "urgency": self.urgency, "risk_level": self.risk_level}.get(grouping)
        return value if value is not None else (getattr(self, grouping) or UNKNOWN)


# --- measures ----------------------------------------------------------------------------

COUNTS = ("created", "acknowledged", "accepted", "declined", "completed", "cancelled", "re_referred",
          "consent_overridden")
TIMES = ("acknowledge", "decide", "complete")
DEADLINE_KINDS = sla.DEADLINE_KINDS


def cell_names() -> tuple[str, ...]:
    """Every count cell of a measures row, as `section.name`."""
    return (*(f"counts.{n}" for n in COUNTS), *(f"declined_by_reason.{r}" for r in DECLINE_REASONS),
            "received_help.count", *(f"sla.{k}.{m}" for k in DEADLINE_KINDS for m in ("due", "missed")),
            *(f"escalations.{k}" for k in DEADLINE_KINDS), "serious_incidents.reported",
            *(f"serious_incidents.{s}" for s in INCIDENT_STATES))


# The sums that tie cells of a row together (suppression must see them).
BREAKDOWNS = (Breakdown("counts.declined", tuple(f"declined_by_reason.{r}" for r in DECLINE_REASONS)),
              Breakdown("serious_incidents.reported", tuple(f"serious_incidents.{s}" for s in INCIDENT_STATES)))


@dataclass
class Raw:
    """One row's figures before suppression."""

    cells: dict[str, int]
    times: dict[str, list[float]]  # seconds, per TIMES

    @property
    def out_of(self) -> int:
        return self.cells["counts.created"] - self.cells["counts.cancelled"]


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by nearest rank (a value that occurred, never an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def raw(facts: Iterable[ReferralFacts], incidents: Iterable[IncidentFacts], policy: sla.SlaPolicy,
        now: datetime) -> Raw:
    cells = dict.fromkeys(cell_names(), 0)
    times: dict[str, list[float]] = {t: [] for t in TIMES}

    def add(name, condition=True):
        if condition:
            cells[name] += 1

    for f in facts:
        add("counts.created")
        add("counts.acknowledged", f.acknowledged_at is not None)
        add("counts.accepted", f.accepted)
        add("counts.declined", f.status == DECLINED)
        add("counts.completed", f.status == COMPLETED)
        add("counts.cancelled", f.status == CANCELLED)
        add("counts.re_referred", f.re_referred)
        add("counts.consent_overridden", f.consent_overridden)
        if f.status == DECLINED:
            add(f"declined_by_reason.{f.decline_reason if f.decline_reason in DECLINE_REASONS else 'other'}")
        add("received_help.count", f.status in (ACCEPTED, COMPLETED))
        for moment, kind in ((f.answered_at, "acknowledge"), (f.decided_at, "decide"), (f.completed_at, "complete")):
            if moment is not None:
                times[kind].append((moment - f.created_at).total_seconds())
        for deadline in sla.progress(f, policy, now):
            add(f"sla.{deadline.kind}.due", deadline.state in (sla.MET, sla.MISSED, sla.OVERDUE))
            add(f"sla.{deadline.kind}.missed", deadline.state in (sla.MISSED, sla.OVERDUE))
        for kind in f.escalations:
            if kind in DEADLINE_KINDS:
                add(f"escalations.{kind}")
    for incident in incidents:
        add("serious_incidents.reported")
        add(f"serious_incidents.{incident.state(now)}")
    return Raw(cells, times)


# --- a table: total and groups, suppressed -----------------------------------------------

Shown = int | str  # a count, "<5" or "x"


@dataclass(frozen=True)
class Row:
    key: str | None  # None for the total
    cells: dict[str, Shown]
    shares: dict[str, float | None]  # received_help, sla.<kind>
    times: dict[str, dict[str, float | None]]  # kind -> median_seconds, p90_seconds


@dataclass(frozen=True)
class Table:
    period: Period
    grouping: str | None
    min_cell: int
    total: Row
    groups: list[Row] = field(default_factory=list)
    incidents_counted: bool = True


def group_keys(grouping: str, period: Period, present: Iterable[str]) -> list[str]:
    """Every month and every urgency/risk level, always (zeros included); other groups as
    present, codes in order and `unknown` last."""
    if grouping == "month":
        return period.months()
    if grouping == "urgency":
        return list(URGENCIES)
    if grouping == "risk_level":
        return list(RISK_LEVELS)
    present = set(present)
    return sorted(present - {UNKNOWN}) + ([UNKNOWN] if UNKNOWN in present else [])


def table(facts: Sequence[ReferralFacts], incidents: Sequence[tuple[ReferralFacts, IncidentFacts]],
          period: Period, grouping: str | None, policy: sla.SlaPolicy, now: datetime, min_cell: int,
          incidents_counted: bool = True) -> Table:
    """The indicators of `facts` (referrals made in `period`) and `incidents` (serious
    incidents discovered in it, with their referral), in total and per group."""
    if grouping is not None and grouping not in GROUPINGS:
        raise InvalidQuery("group_by", f"must be one of {', '.join(GROUPINGS)}")
    total = raw(facts, (i for _, i in incidents), policy, now)
    keys: list[str] = []
    parts: list[Raw] = []
    if grouping is not None:
        def incident_key(pair):
            referral, incident = pair
            return vietnam_day(incident.discovered_at).strftime("%Y-%m") if grouping == "month" \
                else referral.key(grouping)
        keys = group_keys(grouping, period, [f.key(grouping) for f in facts] + [incident_key(p) for p in incidents])
        by_key = {k: [] for k in keys}
        for f in facts:
            by_key.setdefault(f.key(grouping), []).append(f)
        incidents_by_key = {k: [] for k in keys}
        for pair in incidents:
            incidents_by_key.setdefault(incident_key(pair), []).append(pair[1])
        parts = [raw(by_key.get(k, ()), incidents_by_key.get(k, ()), policy, now) for k in keys]
    hidden = suppress(total.cells, [p.cells for p in parts], min_cell, BREAKDOWNS)
    rows = [_shown(None, total, TOTAL, hidden, min_cell)]
    rows += [_shown(k, p, i, hidden, min_cell) for i, (k, p) in enumerate(zip(keys, parts))]
    return Table(period, grouping, min_cell, rows[0], rows[1:], incidents_counted)


def _shown(key: str | None, figures: Raw, index: int, hidden: dict, min_cell: int) -> Row:
    def show(name: str) -> Shown:
        state = hidden.get((index, name))
        if state is None:
            return figures.cells[name]
        return f"<{min_cell}" if state == SMALL else "x"

    cells = {name: show(name) for name in figures.cells}

    def share(numerator: str, denominators: tuple[str, ...], value: Callable[[], int]) -> float | None:
        # Withheld when any figure it is made of is hidden: with the others shown beside
        # it, a share would give the hidden one back.
        if any(isinstance(cells[n], str) for n in (numerator, *denominators)) or value() == 0:
            return None
        return round(figures.cells[numerator] / value(), 4)

    shares = {"received_help": share("received_help.count", ("counts.created", "counts.cancelled"),
                                     lambda: figures.out_of)}
    for kind in DEADLINE_KINDS:
        shares[f"sla.{kind}"] = share(f"sla.{kind}.missed", (f"sla.{kind}.due",),
                                      lambda kind=kind: figures.cells[f"sla.{kind}.due"])
    times = {}
    for kind, values in figures.times.items():
        enough = len(values) >= min_cell  # a median of two referrals is two survivors' times
        times[kind] = {"median_seconds": nearest_rank(values, 0.5) if enough else None,
                       "p90_seconds": nearest_rank(values, 0.9) if enough else None}
    return Row(key, cells, shares, times)


__all__ = ["BREAKDOWNS", "GROUPINGS", "INCIDENT_STATES", "IncidentFacts", "InconsistentPeriod", "InvalidQuery",
           "Period", "ReferralFacts", "Row", "Table", "UNKNOWN", "VIETNAM", "cell_names", "nearest_rank", "period_of",
           "programme_year", "programme_year_of", "raw", "table", "vietnam_day"]
