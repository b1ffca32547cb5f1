"""The referrals a person's organization sent: a filtered page of them, and a supervisor's
overview (what is late or escalated first, then what is waiting, counts by status).

The referral API's list gives each referral's summary (status, urgency, kind, times), how
its deadlines stand and what notify reported of each message: no personal field. So a row
says what the agency owes next and whether it is late, and whether the agency was reached,
without opening each referral (a read of a referral is audited as a read of the survivor's
details). Escalations are the list's escalated or late deadlines: notify's inbox adds
nothing the list does not say.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

from ..domain import referral_form as rules
from ..domain.errors import NotFound, NotPermitted, ServiceDown
from ..domain.referral_rows import (DeadlineMark, Notice, Told, deadline_marks, is_late, next_owed, notices,
                                    told)
from ..domain.times import moment
from .ports import ServiceApi

STATUSES = ("sent", "acknowledged", "accepted", "completed", "declined", "cancelled")
URGENCIES = ("emergency", "high", "normal")
OPEN = ("sent", "acknowledged")  # still waiting for the receiving agency's answer
PER_PAGE = 20


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    urgency: str | None = None
    service_kind: str | None = None
    created_from: str | None = None  # yyyy-mm-dd, Vietnam time
    created_to: str | None = None
    page: int = 1

    @classmethod
    def from_query(cls, args) -> tuple["Filters", list[str]]:
        """From the query string; values that are not ones the list knows are dropped and
        named (the page says which filter it ignored)."""
        ignored = []

        def pick(name, allowed):
            value = (args.get(name) or "").strip()
            if value and allowed is not None and value not in allowed:
                ignored.append(name)
                return None
            return value or None

        def day(name):
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                date.fromisoformat(value)
            except ValueError:
                ignored.append(name)
                return None
            return value

        kind = pick("service_kind", None)
        if kind and not _is_kind_code(kind):
            ignored.append("service_kind")
            kind = None
        try:
            page = max(1, min(100_000, int(args.get("page") or 1)))
        except ValueError:
            page = 1
        return cls(pick("status", STATUSES), pick("urgency", URGENCIES), kind, day("created_from"),
                   day("created_to"), page), ignored

    def query(self, per_page: int = PER_PAGE) -> dict:
        """The referral API's query: dates as the whole Vietnamese day, from its first
        second to its last."""
        params = {"page": self.page, "per_page": per_page}
        for name in ("status", "urgency", "service_kind"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.created_from:
            params["created_from"] = rules.vietnam_time(self.created_from, "00:00").isoformat()
        if self.created_to:
            params["created_to"] = rules.vietnam_time(self.created_to, None, end_of_day=True).isoformat()
        return params

    def link(self, **change) -> dict:
        """Query-string values for a link to this list with `change` applied (the pager)."""
        values = {"status": self.status, "urgency": self.urgency, "service_kind": self.service_kind,
                  "created_from": self.created_from, "created_to": self.created_to, "page": self.page, **change}
        return {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}


def _is_kind_code(code: str) -> bool:
    """A directory kind code (`legal_aid`): anything else is not a filter the list knows."""
    return code.replace("_", "").isalnum() and code[:1].isalpha() and code.islower() and len(code) <= 64


@dataclass(frozen=True)
class Row:
    id: str
    status: str
    urgency: str
    risk_level: str
    service_kind: str
    service_id: str
    service_name: str | None
    created_at: str
    acknowledged_at: str | None
    decided_at: str | None
    closed_at: str | None  # completed or cancelled
    waiting_for: str | None  # "acknowledge" or "decide": the agency's step still undone
    deadlines: tuple[DeadlineMark, ...] = ()
    notices: tuple[Notice, ...] = ()
    late: bool = False  # a deadline passed undone when the page was read

    @property
    def owed(self) -> DeadlineMark | None:
        """The deadline the agency owes next (None once it answered, or without deadlines)."""
        return next_owed(self.deadlines)

    @property
    def done_deadlines(self) -> tuple[DeadlineMark, ...]:
        return tuple(d for d in self.deadlines if d.done)

    @property
    def escalated(self) -> bool:
        return any(d.escalated for d in self.deadlines)

    @property
    def missed(self) -> bool:
        return any(d.state == "missed" for d in self.deadlines)

    @property
    def told(self) -> tuple[Told, ...]:
        return told(self.notices)


@dataclass(frozen=True)
class ReferralPage:
    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Overview:
    """A supervisor's overview: late or escalated first, then what waits in time."""
    late: list  # open and past a deadline, or escalated, or answered after a missed one
    waiting: list  # open and in time
    counts: dict = field(default_factory=dict)


def _waiting_for(item: dict) -> str | None:
    if item.get("status") == "sent":
        return "acknowledge"
    if item.get("status") == "acknowledged":
        return "decide"
    return None


URGENCY_RANK = {"emergency": 0, "high": 1, "normal": 2}
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def most_pressing(row: Row) -> tuple:
    """Late before in time; then the most urgent; then the deadline nearest (most overdue first)."""
    owed = row.owed
    return (not row.late, URGENCY_RANK.get(row.urgency, 3), owed.due_at if owed else FAR_FUTURE,
            moment(row.created_at) or FAR_FUTURE)


class MyReferrals:
    def __init__(self, directory: ServiceApi, referral: ServiceApi, clock: Callable[[], datetime] = _utc_now):
        self.directory, self.referral, self.clock = directory, referral, clock

    def page(self, token: str, filters: Filters, per_page: int = PER_PAGE) -> ReferralPage:
        body = self.referral.get("/v1/referrals", token, filters.query(per_page)).body
        rows = self._rows(token, body.get("items") or [])
        return ReferralPage(rows, int(body.get("total") or 0), int(body.get("page") or filters.page),
                            int(body.get("per_page") or per_page))

    def overview(self, token: str) -> Overview:
        """What a supervisor looks at: every open referral (the API's largest page per open
        status), and the latest referrals whose deadline was missed though answered since."""
        items, seen = [], set()
        for query in ({"status": "sent"}, {"status": "acknowledged"}, {}):
            for item in self.referral.get("/v1/referrals", token, {**query, "per_page": 100}).body.get("items") or []:
                if item.get("id") not in seen:
                    seen.add(item.get("id"))
                    items.append(item)
        rows = self._rows(token, items)
        open_rows = [r for r in rows if r.status in OPEN]
        late = [r for r in open_rows if r.late or r.escalated]
        late += [r for r in rows if r.status not in OPEN and (r.escalated or r.missed)]
        late_ids = {r.id for r in late}
        waiting = [r for r in open_rows if r.id not in late_ids]
        return Overview(sorted(late, key=most_pressing), sorted(waiting, key=most_pressing), self.counts(token))

    def counts(self, token: str) -> dict[str, int]:
        """How many of the organization's referrals are in each status (one small call each)."""
        return {status: int(self.referral.get("/v1/referrals", token, {"status": status, "per_page": 1})
                            .body.get("total") or 0) for status in STATUSES}

    def _rows(self, token: str, items: list[dict]) -> list[Row]:
        now = self.clock()
        names = self._service_names(token, {i.get("receiving_service_id") for i in items
                                            if i.get("receiving_service_id")})
        rows = []
        for i in items:
            if not i.get("id"):
                continue
            marks = deadline_marks(i.get("deadlines"))
            rows.append(Row(id=i["id"], status=i.get("status", ""), urgency=i.get("urgency", ""),
                            risk_level=i.get("risk_level", ""), service_kind=i.get("service_kind", ""),
                            service_id=i.get("receiving_service_id", ""),
                            service_name=names.get(i.get("receiving_service_id")),
                            created_at=i.get("created_at", ""), acknowledged_at=i.get("acknowledged_at"),
                            decided_at=i.get("decided_at"), closed_at=i.get("completed_at") or i.get("cancelled_at"),
                            waiting_for=_waiting_for(i), deadlines=marks, notices=notices(i.get("notifications")),
                            late=is_late(marks, now)))
        return rows

    def _service_names(self, token: str, ids: set) -> dict:
        """Names of the services on this page; a service the directory cannot give (down,
        retired) shows by its kind alone."""
        names = {}
        for service_id in sorted(ids):
            try:
                names[service_id] = self.directory.get(f"/v1/services/{service_id}", token).body.get("name")
            except (NotFound, NotPermitted):
                continue
            except ServiceDown:
                break
        return names
