"""HTTP translation of the indicators and the yearly report: /v1/stats, /v1/reports/yearly."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, current_app

from haven.platform.blueprint import Blueprint
from haven.platform.openapi import documented

from ..domain.indicators import COUNTS, DEADLINE_KINDS, INCIDENT_STATES, TIMES, Row, Table
from ..domain.model import DECLINE_REASONS
from ..service_layer.stats import AGGREGATES, Stats, StatsQuery
from ..service_layer.yearly_report import YearlyReports
from . import stats_schemas as s
from .context import caller

blp = Blueprint("stats", __name__, url_prefix="/v1",
                description="Programme indicators and the yearly report: aggregates only, small counts suppressed "
                            "(HAVEN_STATS_MIN_CELL), never a personal field. For ops and admin; a supervisor for "
                            "referrals her organization sent or received.")

MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv"}


def stats() -> Stats:
    return current_app.extensions["haven.referral"]["stats"]


def yearly_reports() -> YearlyReports:
    return current_app.extensions["haven.referral"]["yearly_reports"]


def measures_body(row: Row, incidents_counted: bool = True) -> dict:
    cells = row.cells

    def section(prefix: str, names) -> dict:
        return {name: cells[f"{prefix}.{name}"] for name in names}

    return {
        "counts": section("counts", COUNTS),
        "declined_by_reason": section("declined_by_reason", DECLINE_REASONS),
        "received_help": {"count": cells["received_help.count"], "share": row.shares["received_help"]},
        "times": {kind: dict(row.times[kind]) for kind in TIMES},
        "sla": {kind: {"due": cells[f"sla.{kind}.due"], "missed": cells[f"sla.{kind}.missed"],
                       "missed_share": row.shares[f"sla.{kind}"]} for kind in DEADLINE_KINDS},
        "escalations": section("escalations", DEADLINE_KINDS),
        "serious_incidents": section("serious_incidents", ("reported", *INCIDENT_STATES)) if incidents_counted
        else None,
    }


def table_body(table: Table, query: StatsQuery, generated_at) -> dict:
    return {
        "period": {"first": table.period.first, "last": table.period.last, "timezone": "Asia/Ho_Chi_Minh"},
        "filters": {"province": query.province, "area": query.area, "kind": query.kind,
                    "organization": query.organization},
        "group_by": table.grouping, "min_cell": table.min_cell, "generated_at": generated_at,
        "total": measures_body(table.total, table.incidents_counted),
        "groups": [{"key": g.key, "measures": measures_body(g, table.incidents_counted)} for g in table.groups],
    }


@blp.route("/stats")
@blp.arguments(s.StatsQuerySchema, location="query")
@blp.response(200, s.StatsSchema)
@blp.doc(operationId="get_stats", summary="Indicators of the referrals made in a period (default: the programme "
                                          "year, 1 December to 30 November, containing today in Vietnam).")
@documented()
def get_stats(query):
    principal = caller(AGGREGATES)
    asked = StatsQuery(**query)
    return table_body(stats().indicators(principal, asked), asked, stats().clock())


@blp.route("/reports/yearly")
@blp.arguments(s.YearlyReportQuerySchema, location="query")
@blp.doc(operationId="get_yearly_report",
         summary="The programme year's report (01/12/Y-1 to 30/11/Y) as an XLSX workbook of seven sheets or a CSV; "
                 "in Vietnamese unless language=en.",
         responses={"200": {"description": "The report file (Content-Disposition names it).",
                            "content": {MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                                        MEDIA["csv"]: {"schema": {"type": "string"}}}}})
@documented()
def get_yearly_report(query):
    principal = caller(AGGREGATES)
    name, body = yearly_reports().file(principal, query["year"], query.get("province"), query.get("organization"),
                                       query["language"], query["format"])
    media = MEDIA[query["format"]] + ("; charset=utf-8" if query["format"] == "csv" else "")
    return Response(body, status=200, mimetype=None, content_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})


__all__ = ["blp", "measures_body", "table_body"]
