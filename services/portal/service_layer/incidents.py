"""Serious incidents (vụ việc nghiêm trọng): a referral's referring organization marks it,
saying when the incident was discovered and when it was reported by phone (at once, as the
rules ask); a supervisor then records the written report to the higher authority, due 5
days from discovery. The referral service keeps the deadline and says how it stands
(due, on time, late, missing); the portal reads the forms and lists the incidents.

Times are typed as a date and a time in Vietnam time, as on the refer form. The forms'
field names are prefixed (`incident.note`, `report.sent_to`) because they share the
referral page with the agency's forms.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from ..domain import referral_form as rules
from ..domain.errors import FieldError, Rejected
from .ports import ServiceApi

STATES = ("due", "missing", "late", "on_time")  # most pressing first
PER_PAGE = 20
AUTHORITY_LENGTH, NOTE_LENGTH = 200, 2000  # the API's limits

NEEDED, NOT_A_DATE, IN_FUTURE, TOO_LONG, UNKNOWN_STATE = (
    "needed", "not-a-date", "in-future", "too-long", "unknown-state")

# The API's field -> the form's field its error is shown beside.
MARK_FIELDS = {"discovered_at": "incident.discovered_date", "phoned_at": "incident.phoned_date",
               "phoned_to": "incident.phoned_to", "note": "incident.note"}
REPORT_FIELDS = {"sent_at": "report.sent_date", "sent_to": "report.sent_to"}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _moment(values: dict, prefix: str, problems: list[FieldError], now: datetime) -> datetime | None:
    """`<prefix>_date` and `<prefix>_time` as one aware time (Vietnam), checked."""
    day, clock = values.get(f"{prefix}_date", ""), values.get(f"{prefix}_time", "")
    name = f"{prefix}_date"
    if not (day or "").strip():
        problems.append(FieldError(name, NEEDED))
        return None
    try:
        found = rules.vietnam_time(day, clock or "00:00")
    except ValueError:
        problems.append(FieldError(name, NOT_A_DATE))
        return None
    if found > now + timedelta(minutes=1):  # a clock a little ahead is not a mistake
        problems.append(FieldError(name, IN_FUTURE))
    return found


def _text(values: dict, name: str, limit: int, problems: list[FieldError], *, needed: bool) -> str | None:
    text = (values.get(name) or "").strip()
    if not text:
        if needed:
            problems.append(FieldError(name, NEEDED))
        return None
    if len(text) > limit:
        problems.append(FieldError(name, TOO_LONG))
    return text


def marking_body(values: dict, now: datetime) -> dict:
    """The API's body for marking a serious incident, from the form's values (field names
    without their `incident.` prefix); raises Rejected with the form's field names."""
    problems: list[FieldError] = []
    discovered = _moment(values, "discovered", problems, now)
    phoned = _moment(values, "phoned", problems, now)
    phoned_to = _text(values, "phoned_to", AUTHORITY_LENGTH, problems, needed=True)
    note = _text(values, "note", NOTE_LENGTH, problems, needed=False)
    if problems:
        raise Rejected("the incident cannot be recorded", [FieldError(f"incident.{p.field}", p.message)
                                                            for p in problems])
    body = {"discovered_at": discovered.isoformat(), "phoned_at": phoned.isoformat(), "phoned_to": phoned_to}
    if note:
        body["note"] = note
    return body


def report_body(values: dict, now: datetime) -> dict:
    """The API's body for the written report (field names without their `report.` prefix)."""
    problems: list[FieldError] = []
    sent = _moment(values, "sent", problems, now)
    sent_to = _text(values, "sent_to", AUTHORITY_LENGTH, problems, needed=True)
    if problems:
        raise Rejected("the written report cannot be recorded", [FieldError(f"report.{p.field}", p.message)
                                                                  for p in problems])
    return {"sent_at": sent.isoformat(), "sent_to": sent_to}


def _on_the_form(exc: Rejected, fields: dict[str, str], fallback: str) -> Rejected:
    """The API's refusal with each error moved to the form field it belongs beside (the
    API's message is kept: the page words it by field)."""
    moved = [FieldError(fields.get(e.field.split(".")[0], fallback) if e.field else "", e.message)
             for e in exc.errors] or [FieldError("", exc.detail)]
    return Rejected(exc.detail, moved, exc.code or "api")


@dataclass(frozen=True)
class IncidentFilters:
    state: str = ""
    discovered_from: str = ""  # yyyy-mm-dd, Vietnam days, both inclusive
    discovered_to: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, args) -> tuple["IncidentFilters", dict[str, str]]:
        problems: dict[str, str] = {}
        state = (args.get("state") or "").strip()
        if state and state not in STATES:
            problems["state"] = UNKNOWN_STATE
            state = ""
        days = {}
        for name in ("discovered_from", "discovered_to"):
            value = (args.get(name) or "").strip()
            if value:
                try:
                    date.fromisoformat(value)
                    days[name] = value
                except ValueError:
                    problems[name] = NOT_A_DATE
        try:
            page = max(1, min(100_000, int(args.get("page") or 1)))
        except ValueError:
            page = 1
        return cls(state, days.get("discovered_from", ""), days.get("discovered_to", ""), page), problems

    def query(self, per_page: int = PER_PAGE) -> dict:
        """`/v1/serious-incidents` parameters: whole Vietnamese days as times with their offset
        (the API takes no bare date); its `to` is exclusive, the form's last day is not."""
        params: dict = {"page": self.page, "per_page": per_page}
        if self.state:
            params["state"] = self.state
        if self.discovered_from:
            params["from"] = rules.vietnam_time(self.discovered_from, "00:00").isoformat()
        if self.discovered_to:
            next_day = (date.fromisoformat(self.discovered_to) + timedelta(days=1)).isoformat()
            params["to"] = rules.vietnam_time(next_day, "00:00").isoformat()
        return params

    def link(self, **change) -> dict:
        values = {"state": self.state, "discovered_from": self.discovered_from,
                  "discovered_to": self.discovered_to, "page": self.page, **change}
        return {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}


@dataclass(frozen=True)
class IncidentPage:
    items: tuple[dict, ...]
    total: int
    page: int
    per_page: int
    organizations: dict[str, str]  # id -> name, for the referring and receiving agencies shown

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class SeriousIncidents:
    def __init__(self, referral: ServiceApi, names, clock: Callable[[], datetime] = _utc_now):
        self.referral = referral
        self.names = names  # OrganizationNames: public directory names, kept a while
        self.clock = clock

    def mark(self, token: str, referral_id: str, values: dict) -> dict:
        body = marking_body(values, self.clock())
        try:
            return self.referral.send("POST", f"/v1/referrals/{referral_id}/serious-incident", token, body).body
        except Rejected as exc:
            raise _on_the_form(exc, MARK_FIELDS, "") from None

    def record_written_report(self, token: str, referral_id: str, values: dict) -> dict:
        body = report_body(values, self.clock())
        try:
            return self.referral.send("POST", f"/v1/referrals/{referral_id}/serious-incident/written-report",
                                      token, body).body
        except Rejected as exc:
            raise _on_the_form(exc, REPORT_FIELDS, "") from None

    def listing(self, token: str, filters: IncidentFilters, per_page: int = PER_PAGE) -> IncidentPage:
        body = self.referral.get("/v1/serious-incidents", token, filters.query(per_page)).body or {}
        items = tuple(i for i in body.get("items") or [] if isinstance(i, dict))
        ids = {i.get(k) for i in items for k in ("referring_organization_id", "receiving_organization_id")}
        organizations = {found: name for found in ids if found and (name := self.names.name(found))}
        return IncidentPage(items, int(body.get("total") or 0), int(body.get("page") or filters.page),
                            int(body.get("per_page") or per_page), organizations)


__all__ = ["IN_FUTURE", "IncidentFilters", "IncidentPage", "NEEDED", "NOT_A_DATE", "STATES", "SeriousIncidents",
           "TOO_LONG", "marking_body", "report_body"]
