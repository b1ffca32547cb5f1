"""Request and response schemas of the directory API (marshmallow; they also make the
OpenAPI document)."""
from __future__ import annotations

import re
from zoneinfo import available_timezones

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.schemas import MAX_PER_PAGE, PageQuerySchema, PageSchema

from ..domain.hours import parse_clock
from ..domain.model import AREA_LEVELS, GENDERS, MAX_CAPACITY, STATUSES, WEEKDAYS, Centre
from ..domain.search import SORTS, SUGGESTIONS_MAX
from .documentation import inconsistent, kind_field

# Patterns as the document states them (ECMA-262, whole value) and as the server checks
# them: with fullmatch, so that neither a trailing newline nor a non-ASCII digit slips by.
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
CLOCK_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)(:[0-5][0-9])?$"  # HH:MM[:SS], 24:00 = end of day
AREA_CODE_PATTERN = r"^[0-9A-Za-z]{1,20}$"
WEB_ADDRESS_PATTERN = r"^https?://[^\s/?#]+([/?#]\S*)?$"
_TIMEZONES = frozenset(available_timezones())


def _whole(pattern: str, message: str):
    compiled = re.compile(pattern.removeprefix("^").removesuffix("$"))

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ma.ValidationError(message)
    return check


_language = _whole(LANGUAGE_PATTERN, "Not a language code (ISO 639, e.g. vi, tyz, en).")
_clock_shape = _whole(CLOCK_PATTERN, "Not a time of day (HH:MM).")
_area_code = _whole(AREA_CODE_PATTERN, "Not an area code (1-20 letters or digits).")


def _clock(value: str) -> None:
    _clock_shape(value)
    try:
        parse_clock(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


def _web_address(**kwargs) -> f.String:
    """An http(s) address as the document states it (a host, then any path), nullable."""
    return f.String(load_default=None, allow_none=True,
                    validate=[v.Length(max=2000), _whole(WEB_ADDRESS_PATTERN, "Not an http(s) address.")],
                    metadata={"pattern": WEB_ADDRESS_PATTERN, "format": "uri"}, **kwargs)


def _language_field(**kwargs) -> f.String:
    return f.String(validate=_language, metadata={"pattern": LANGUAGE_PATTERN}, **kwargs)


def _refuse(message: str) -> bool:
    raise ma.ValidationError(message)


class Stamped(ma.Schema):
    id = f.String(dump_only=True, metadata={"format": "uuid"})
    version = f.Integer(dump_only=True, metadata={"minimum": 1})
    created_at = f.AwareDateTime(dump_only=True)
    updated_at = f.AwareDateTime(dump_only=True)


class OrganizationSchema(Stamped):
    name = f.String(required=True, validate=v.Length(min=1, max=300))
    description = f.String(load_default="", validate=v.Length(max=10_000))
    email = f.Email(load_default=None, allow_none=True)
    website = _web_address()
    phone = f.String(load_default=None, allow_none=True, validate=v.Length(max=40))


class AddressSchema(ma.Schema):
    address_1 = f.String(load_default="", validate=v.Length(max=300))
    city = f.String(load_default="", validate=v.Length(max=200))
    region = f.String(load_default="", validate=v.Length(max=200))
    postal_code = f.String(load_default="", validate=v.Length(max=20))
    country = f.String(load_default="VN", validate=v.Length(equal=2))


class LocationSchema(Stamped):
    organization_id = f.UUID(required=True)
    name = f.String(required=True, validate=v.Length(min=1, max=300))
    description = f.String(load_default="", validate=v.Length(max=10_000))
    latitude = f.Float(load_default=None, allow_none=True, validate=v.Range(-90, 90))
    longitude = f.Float(load_default=None, allow_none=True, validate=v.Range(-180, 180))
    address = f.Nested(AddressSchema, load_default=lambda: {})
    province_code = f.String(load_default=None, allow_none=True)
    district_code = f.String(load_default=None, allow_none=True)
    commune_code = f.String(load_default=None, allow_none=True)
    confidential = f.Boolean(load_default=False, metadata={
        "description": "Street address and coordinates are shown only to callers with directory:confidential."})
    timezone = f.String(load_default="Asia/Ho_Chi_Minh", validate=v.OneOf(_TIMEZONES))

    @ma.validates_schema
    def _both_coordinates(self, data, **kwargs):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            missing = "longitude" if data.get("longitude") is None else "latitude"
            raise inconsistent({missing: "Give latitude and longitude together."}, "json")


class PhoneSchema(ma.Schema):
    number = f.String(required=True, validate=v.Length(min=3, max=40))
    description = f.String(load_default="", validate=v.Length(max=200))


class OpeningHoursSchema(ma.Schema):
    byday = f.List(f.String(validate=v.OneOf(WEEKDAYS)), required=True, validate=v.Length(min=1, max=7))
    opens_at = f.String(required=True, validate=_clock, metadata={"example": "07:30", "pattern": CLOCK_PATTERN})
    closes_at = f.String(required=True, validate=_clock, metadata={"example": "17:00", "pattern": CLOCK_PATTERN})


class CapacitySchema(ma.Schema):
    available = f.Integer(required=True, strict=True, validate=v.Range(min=0, max=MAX_CAPACITY))
    maximum = f.Integer(required=True, strict=True, validate=v.Range(min=0, max=MAX_CAPACITY))
    updated_at = f.AwareDateTime(dump_only=True)

    @ma.validates_schema
    def _within_maximum(self, data, **kwargs):
        if data.get("available") is not None and data.get("maximum") is not None \
                and data["available"] > data["maximum"]:
            raise inconsistent({"available": "Cannot exceed maximum."}, "json")


class ServiceSchema(Stamped):
    organization_id = f.UUID(required=True)
    name = f.String(required=True, validate=v.Length(min=1, max=300))
    kind = kind_field(required=True)
    description = f.String(load_default="", validate=v.Length(max=10_000))
    status = f.String(load_default="active", validate=v.OneOf(STATUSES))
    email = f.Email(load_default=None, allow_none=True)
    url = _web_address()
    phones = f.List(f.Nested(PhoneSchema), load_default=list)
    languages = f.List(_language_field(), load_default=lambda: ["vi"])
    gender = f.String(load_default="any", validate=v.OneOf(GENDERS))
    minimum_age = f.Integer(load_default=None, allow_none=True, validate=v.Range(0, 150))
    maximum_age = f.Integer(load_default=None, allow_none=True, validate=v.Range(0, 150))
    free_of_charge = f.Boolean(load_default=True)
    fees_description = f.String(load_default="", validate=v.Length(max=2000))
    always_open = f.Boolean(load_default=False, metadata={"description": "Open 24/7 (holidays in closed_on aside)."})
    hours = f.List(f.Nested(OpeningHoursSchema), load_default=list)
    closed_on = f.List(f.Date(), load_default=list)
    capacity = f.Nested(CapacitySchema, dump_only=True, allow_none=True,
                        metadata={"description": "Set with PUT /v1/services/{id}/capacity."})
    assured_date = f.Date(load_default=None, allow_none=True)
    assured_by = f.String(load_default=None, allow_none=True, validate=v.Length(max=300))
    service_areas = f.List(f.String(), load_default=list)
    location_ids = f.List(f.UUID(), load_default=list)
    stale = f.Boolean(dump_only=True, metadata={"description": "Not verified for more than 180 days."})

    @ma.validates_schema
    def _age_range(self, data, **kwargs):
        low, high = data.get("minimum_age"), data.get("maximum_age")
        if low is not None and high is not None and low > high:
            raise inconsistent({"minimum_age": "Cannot be above maximum_age."}, "json")


class ServiceListQuerySchema(PageQuerySchema):
    organization_id = f.UUID(metadata={"description": "Only this organization's services (e.g. your own, "
                                                      "to keep their capacity current)."})


class SearchQuerySchema(ma.Schema):
    q = f.String(validate=v.Length(min=1, max=200))
    kind = f.List(kind_field(), metadata={"description": "Repeatable: any of these kinds."})
    province = f.String()
    district = f.String()
    commune = f.String()
    lat = f.Float(validate=v.Range(-90, 90))
    lon = f.Float(validate=v.Range(-180, 180))
    radius_km = f.Float(validate=v.Range(min=0, min_inclusive=False, max=2000))
    sort = f.String(load_default="relevance", validate=v.OneOf(SORTS))
    open_at = f.DateTime(validate=lambda moment: 1900 <= moment.year <= 2200 or _refuse("Not a date Haven "
                                                                                        "can check hours for."),
                         metadata={"pattern": r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-",
                                   "description": "ISO 8601, between the years 1900 and 2200; without an offset "
                                                  "it is read as Vietnam time."})
    open_now = f.Boolean(load_default=False)
    language = f.List(_language_field(), metadata={"description": "Repeatable: any of these."})
    age = f.Integer(validate=v.Range(0, 150))
    gender = f.String(validate=v.OneOf(("female", "male")))
    has_capacity = f.Boolean(load_default=False)
    page = f.Integer(load_default=1, validate=v.Range(min=1, max=10_000))
    per_page = f.Integer(load_default=20, validate=v.Range(min=1, max=MAX_PER_PAGE))

    @ma.validates_schema
    def _coherent(self, data, **kwargs):
        errors = {}
        if ("lat" in data) != ("lon" in data):
            errors["lon" if "lat" in data else "lat"] = ["Give lat and lon together."]
        if "radius_km" in data and "lat" not in data and "lon" not in data:
            errors["radius_km"] = ["A radius needs lat and lon."]
        if data.get("sort") == "distance" and "lat" not in data:
            errors["sort"] = ["Sorting by distance needs lat and lon."]
        if errors:
            raise inconsistent({field: messages[0] for field, messages in errors.items()}, "query")


class HitSchema(ma.Schema):
    service = f.Nested(ServiceSchema)
    organization = f.Nested(OrganizationSchema)
    locations = f.List(f.Nested(LocationSchema))
    area_names = f.Dict(keys=f.String(), values=f.String())
    distance_km = f.Float(allow_none=True, metadata={
        "description": "From lat/lon; whole kilometres for a confidential location."})
    highlights = f.Dict(keys=f.String(), values=f.String(), metadata={
        "description": "Why it matched: field -> text with <mark> around matching words."})
    stale = f.Boolean()


class SearchResultSchema(PageSchema):
    items = f.List(f.Nested(HitSchema))
    facets = f.Dict(keys=f.String(), values=f.Dict(keys=f.String(), values=f.Integer()))


class SuggestQuerySchema(ma.Schema):
    q = f.String(required=True, validate=v.Length(min=1, max=200),
                 metadata={"description": "What has been typed so far; the last word may be unfinished."})
    limit = f.Integer(load_default=SUGGESTIONS_MAX, validate=v.Range(min=1, max=SUGGESTIONS_MAX))


class SuggestionSchema(ma.Schema):
    text = f.String(metadata={"description": "A service or organization name."})
    highlight = f.String(metadata={"description": "The name, HTML-escaped, with <mark> around the typed words."})


class SuggestionsSchema(ma.Schema):
    suggestions = f.List(f.Nested(SuggestionSchema))


class OrganizationPageSchema(PageSchema):
    items = f.List(f.Nested(OrganizationSchema))


class LocationPageSchema(PageSchema):
    items = f.List(f.Nested(LocationSchema))


class ServicePageSchema(PageSchema):
    items = f.List(f.Nested(ServiceSchema))


class CentreSchema(ma.Schema):
    latitude = f.Float(required=True, validate=v.Range(-90, 90))
    longitude = f.Float(required=True, validate=v.Range(-180, 180))

    @ma.post_load
    def _centre(self, data, **kwargs) -> Centre:
        return Centre(**data)


class AreaSchema(ma.Schema):
    code = f.String(required=True, validate=_area_code, metadata={"pattern": AREA_CODE_PATTERN})
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    level = f.String(required=True, validate=v.OneOf(AREA_LEVELS))
    parent_code = f.String(load_default=None, allow_none=True)
    centre = f.Nested(CentreSchema, load_default=None, allow_none=True, metadata={
        "description": "A point inside the area (WGS 84 degrees, both numbers given), that a search "
                       "\"near this commune\" passes as lat/lon to /v1/search; null when not known. "
                       "Official lists carry none."})


class KindSchema(ma.Schema):
    code = kind_field(required=True)
    name_vi = f.String(required=True)
    name_en = f.String(required=True)
    confidential_by_default = f.Boolean(required=True, metadata={
        "description": "A service of this kind may only be at confidential locations."})
