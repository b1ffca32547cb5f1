"""The programme's indicators (`/v1/stats` of the referral service) and the yearly report
(`/v1/reports/yearly`), for ops, admin and supervisors (the API limits a supervisor to the
referrals their organization sent or received).

The filters come from a query string (a GET form: the page works without JavaScript and
a filtered view can be shared as a link: it names areas and kinds, never a person). They
are checked here first, so a wrong date or an unknown commune is said beside its field
instead of as the API's 422.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from ..domain import figures
from .ports import ServiceApi

GROUPINGS = ("month", "area", "kind", "urgency", "risk_level")
REPORT_FORMATS = ("xlsx", "csv")
REPORT_LANGUAGES = ("vi", "en")
MAX_YEARS = 3  # the API's longest period
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the report's years

# Field problems, as codes (the page says them in words).
NOT_A_DATE, BEFORE_START, TOO_LONG, UNKNOWN_AREA, UNKNOWN_KIND, UNKNOWN_GROUPING, NOT_A_YEAR, UNKNOWN_CHOICE = (
    "not-a-date", "before-start", "too-long", "unknown-area", "unknown-kind", "unknown-grouping", "not-a-year",
    "unknown-choice")


class Reference(Protocol):
    """The directory's areas and kinds, kept a while (the search page's reader)."""

    def areas(self) -> Any: ...  # an AreaTree: by_code, provinces(), province_of(code), within(province)

    def kinds(self) -> list[dict]: ...  # {"code", "name_vi", "name_en"}


@dataclass(frozen=True)
class StatsFilters:
    """What the person chose: a period (Vietnam days, both inclusive; the API's programme
    year when none), an area (a province, then one of its districts or communes), a kind,
    and how to group the figures."""
    date_from: str = ""
    date_to: str = ""
    province: str = ""
    area: str = ""
    kind: str = ""
    group_by: str = "month"

    @classmethod
    def from_query(cls, args, reference: Reference | None) -> tuple["StatsFilters", dict[str, str]]:
        """The filters from a query string and the problems found, by field; a filter with
        a problem is dropped (the figures shown are for what was right)."""
        problems: dict[str, str] = {}
        text = {name: (args.get(name) or "").strip() for name in ("from", "to", "province", "area", "kind", "group_by")}
        days = {}
        for name in ("from", "to"):
            if text[name]:
                try:
                    days[name] = date.fromisoformat(text[name])
                except ValueError:
                    problems[name] = NOT_A_DATE
                    text[name] = ""
        if "from" in days and "to" in days:
            if days["to"] < days["from"]:
                problems["to"] = BEFORE_START
                text["to"] = ""
            elif figures.longer_than_years(days["from"], days["to"], MAX_YEARS):
                problems["to"] = TOO_LONG
                text["to"] = ""
        group_by = text["group_by"] or "month"
        if group_by not in GROUPINGS:
            problems["group_by"] = UNKNOWN_GROUPING
            group_by = "month"
        province, area, kind = _area_and_kind(text, reference, problems)
        return cls(text["from"], text["to"], province, area, kind, group_by), problems

    def query(self) -> dict:
        """`/v1/stats` parameters. Grouping by area means by province, or by commune within
        the chosen province."""
        params: dict[str, str] = {}
        for name, value in (("from", self.date_from), ("to", self.date_to), ("province", self.province),
                            ("area", self.area), ("kind", self.kind)):
            if value:
                params[name] = value
        params["group_by"] = self.area_level if self.group_by == "area" else self.group_by
        return params

    @property
    def area_level(self) -> str:
        return "commune" if self.province else "province"

    def link(self, **change) -> dict:
        """Query-string values for this view with `change` applied (the chart's address)."""
        values = {"from": self.date_from, "to": self.date_to, "province": self.province, "area": self.area,
                  "kind": self.kind, "group_by": self.group_by, **change}
        return {k: v for k, v in values.items() if v}


def _area_and_kind(text: dict, reference: Reference | None, problems: dict[str, str]) -> tuple[str, str, str]:
    province, area, kind = text["province"], text["area"], text["kind"]
    if reference is None:  # the directory is down: the codes go to the API as they are
        return province, area, kind
    tree = reference.areas()
    if province and getattr(tree.by_code.get(province), "level", None) != "province":
        problems["province"] = UNKNOWN_AREA
        province, area = "", ""
    if area:
        found = tree.by_code.get(area)
        if found is None or found.level == "province":
            problems["area"] = UNKNOWN_AREA
            area = ""
        elif not province:
            province = tree.province_of(area) or ""
        elif tree.province_of(area) != province:
            area = ""  # the province changed: its old commune no longer applies
    if kind and kind not in {k.get("code") for k in reference.kinds()}:
        problems["kind"] = UNKNOWN_KIND
        kind = ""
    return province, area, kind


@dataclass(frozen=True)
class Group:
    key: str
    measures: dict


@dataclass(frozen=True)
class Figures:
    """One answer of `/v1/stats`: the period it covers, the total and the groups."""
    period_from: str
    period_to: str
    group_by: str  # the API's grouping (province, commune, month...)
    min_cell: int
    total: dict
    groups: tuple[Group, ...] = ()
    generated_at: str = ""

    @property
    def hides_any(self) -> bool:
        """Whether any figure shown is hidden (the page then explains why, once)."""
        return _hidden_in(self.total) or any(_hidden_in(g.measures) for g in self.groups)


def _hidden_in(value) -> bool:
    if isinstance(value, dict):
        return any(_hidden_in(v) for v in value.values())
    return figures.is_suppressed(value) or figures.is_withheld(value)


def measure(measures: dict, *path: str):
    """`measure(m, "counts", "created")`: a figure, or None when the answer has no such figure."""
    found: Any = measures
    for name in path:
        if not isinstance(found, dict):
            return None
        found = found.get(name)
    return found


class Indicators:
    def __init__(self, referral: ServiceApi, reference: Reference):
        self.referral = referral
        self.reference = reference

    def figures(self, token: str, filters: StatsFilters) -> Figures:
        body = self.referral.get("/v1/stats", token, filters.query()).body or {}
        period = body.get("period") or {}
        groups = tuple(Group(str(g.get("key")), g.get("measures") or {})
                       for g in body.get("groups") or [] if isinstance(g, dict))
        return Figures(str(period.get("from") or ""), str(period.get("to") or ""), str(body.get("group_by") or ""),
                       int(body.get("min_cell") or 5), body.get("total") or {}, groups,
                       str(body.get("generated_at") or ""))


@dataclass(frozen=True)
class ReportRequest:
    year: int
    province: str = ""
    format: str = "xlsx"
    language: str = "vi"

    @classmethod
    def from_query(cls, args, reference: Reference | None, default_year: int,
                   default_language: str) -> tuple["ReportRequest", dict[str, str]]:
        problems: dict[str, str] = {}
        raw_year = (args.get("year") or "").strip()
        year = default_year
        if raw_year:
            try:
                year = int(raw_year)
            except ValueError:
                problems["year"] = NOT_A_YEAR
            else:
                if not FIRST_YEAR <= year <= LAST_YEAR:
                    problems["year"] = NOT_A_YEAR
                    year = default_year
        chosen = {}
        for name, allowed, default in (("format", REPORT_FORMATS, "xlsx"),
                                       ("language", REPORT_LANGUAGES, default_language)):
            value = (args.get(name) or "").strip() or default
            if value not in allowed:
                problems[name] = UNKNOWN_CHOICE
                value = default
            chosen[name] = value
        province = (args.get("province") or "").strip()
        if province and reference is not None:
            if getattr(reference.areas().by_code.get(province), "level", None) != "province":
                problems["province"] = UNKNOWN_AREA
                province = ""
        return cls(year, province, chosen["format"], chosen["language"]), problems

    def query(self) -> dict:
        params = {"year": self.year, "format": self.format, "language": self.language}
        if self.province:
            params["province"] = self.province
        return params


@dataclass(frozen=True)
class Download:
    """A file an API answered: its bytes, type and name (from its Content-Disposition)."""
    content: bytes
    content_type: str
    filename: str


class Downloads(Protocol):
    """A file from one of the APIs, as the signed-in person (adapters/downloads.py)."""

    def fetch(self, path: str, token: str, params: dict | None = None) -> Download: ...


@dataclass
class YearlyReport:
    downloads: Downloads

    def file(self, token: str, request: ReportRequest) -> Download:
        return self.downloads.fetch("/v1/reports/yearly", token, request.query())


__all__ = ["Download", "Downloads", "Figures", "GROUPINGS", "Group", "Indicators", "REPORT_FORMATS",
           "REPORT_LANGUAGES", "ReportRequest", "StatsFilters", "YearlyReport", "measure"]
