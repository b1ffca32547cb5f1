"""Schemas of /v1/stats and /v1/reports/yearly (the OpenAPI document's too)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from ..domain.checks import CODE
from ..domain.indicators import DEADLINE_KINDS, FIRST_YEAR, GROUPINGS, INCIDENT_STATES, LAST_YEAR, TIMES
from ..domain.model import DECLINE_REASONS
from ..domain.place import AREA_CODE
from ..service_layer.yearly_report import FORMATS, LANGUAGES
from .schemas import Strict

COUNT_SCHEMA = {"oneOf": [{"type": "integer", "minimum": 0},
                          {"type": "string", "pattern": r"^(<[0-9]+|x)$"}],
                "description": "A count; `<5` (below HAVEN_STATS_MIN_CELL) or `x` (withheld so that a small "
                               "count beside it cannot be worked out) in its place."}


class Count(f.Field):
    """An integer, or the string that stands for a suppressed one."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


def _count(**kwargs) -> Count:
    return Count(metadata=COUNT_SCHEMA, **kwargs)


def _share(description: str) -> f.Float:
    return f.Float(allow_none=True, metadata={"minimum": 0, "maximum": 1, "description": description})


def _plausible_day(value) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ma.ValidationError(f"Must be between the years {FIRST_YEAR} and {LAST_YEAR}.")


_DAY = {"pattern": r"^(20[0-9]{2}|2100)-", "description": "YYYY-MM-DD, a Vietnam calendar day, inclusive."}
_AREA = {"pattern": AREA_CODE.pattern}


def _province() -> f.String:
    return f.String(validate=v.Regexp(AREA_CODE), metadata={
        **_AREA, "description": "The receiving service's province (as recorded when referred)."})


ORGANIZATION_ID = r"^[0-9A-Za-z._:-]{1,128}$"  # a directory id (a UUID) or a token's `org`


def _organization() -> f.String:
    return f.String(validate=v.Regexp(ORGANIZATION_ID), metadata={
        "pattern": ORGANIZATION_ID,
        "description": "Referrals this organization sent or received (ops, admin; a supervisor's own only)."})


class StatsQuerySchema(Strict):
    first = f.Date(data_key="from", validate=_plausible_day,
                   metadata={**_DAY, "description": "First day (YYYY-MM-DD, Vietnam). Default: the start of the "
                                                    "programme year (1 December) containing `to`, or today."})
    last = f.Date(data_key="to", validate=_plausible_day,
                  metadata={**_DAY, "description": "Last day, inclusive (YYYY-MM-DD, Vietnam). Default: the end of "
                                                   "the programme year (30 November) containing `from`, or today."})
    group_by = f.String(validate=v.OneOf(GROUPINGS))
    province = _province()
    area = f.String(validate=v.Regexp(AREA_CODE), metadata={**_AREA, "description": "A district or commune code."})
    kind = f.String(validate=v.Regexp(CODE), metadata={"pattern": CODE.pattern})
    organization = _organization()


class YearlyReportQuerySchema(Strict):
    year = f.Integer(required=True, validate=v.Range(FIRST_YEAR, LAST_YEAR), metadata={
        "description": "Programme year Y: 01/12/Y-1 to 30/11/Y."})
    province = _province()
    organization = _organization()
    format = f.String(load_default="xlsx", validate=v.OneOf(FORMATS))
    language = f.String(load_default="vi", validate=v.OneOf(LANGUAGES))


def _section(names, field_factory, name: str) -> type[ma.Schema]:
    return ma.Schema.from_dict({n: field_factory() for n in names}, name=name)


CountsSchema = _section(("created", "acknowledged", "accepted", "declined", "completed", "cancelled", "re_referred",
                         "consent_overridden"), _count, "StatsCounts")
ReasonsSchema = _section(DECLINE_REASONS, _count, "StatsDeclineReasons")
EscalationsSchema = _section(DEADLINE_KINDS, _count, "StatsEscalations")
IncidentsSchema = _section(("reported", *INCIDENT_STATES), _count, "StatsSeriousIncidents")


class StatsReceivedHelpSchema(ma.Schema):
    count = _count()
    share = _share("count / (created - cancelled); null when a figure it is made of is not shown.")


class StatsTimeSchema(ma.Schema):
    median_seconds = f.Float(allow_none=True, metadata={"minimum": 0})
    p90_seconds = f.Float(allow_none=True, metadata={"minimum": 0})


class StatsDeadlineSchema(ma.Schema):
    due = _count()
    missed = _count()
    missed_share = _share("missed / due; null when either is not shown.")


TimesSchema = ma.Schema.from_dict({n: f.Nested(StatsTimeSchema) for n in TIMES}, name="StatsTimes")
SlaSchema = ma.Schema.from_dict({n: f.Nested(StatsDeadlineSchema) for n in DEADLINE_KINDS}, name="StatsSla")


class StatsMeasuresSchema(ma.Schema):
    counts = f.Nested(CountsSchema)
    declined_by_reason = f.Nested(ReasonsSchema)
    received_help = f.Nested(StatsReceivedHelpSchema)
    times = f.Nested(TimesSchema)
    sla = f.Nested(SlaSchema)
    escalations = f.Nested(EscalationsSchema)
    serious_incidents = f.Nested(IncidentsSchema, allow_none=True)


class StatsGroupSchema(ma.Schema):
    key = f.String(metadata={"description": "`2025-12`, an area or kind code, an urgency or risk level, or "
                                            "`unknown`."})
    measures = f.Nested(StatsMeasuresSchema)


class StatsPeriodSchema(ma.Schema):
    first = f.Date(data_key="from")
    last = f.Date(data_key="to")
    timezone = f.String()


class StatsSchema(ma.Schema):
    period = f.Nested(StatsPeriodSchema)
    filters = f.Dict(keys=f.String(), values=f.String(allow_none=True))
    group_by = f.String(allow_none=True, metadata={"enum": [*GROUPINGS, None]})
    min_cell = f.Integer()
    generated_at = f.AwareDateTime()
    total = f.Nested(StatsMeasuresSchema)
    groups = f.List(f.Nested(StatsGroupSchema))


__all__ = ["StatsMeasuresSchema", "StatsQuerySchema", "StatsSchema", "YearlyReportQuerySchema"]
