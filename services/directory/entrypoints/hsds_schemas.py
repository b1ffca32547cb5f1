"""The HSDS 3.0 shapes Haven answers (GET /hsds/*, GET /v1/export/hsds), for the OpenAPI
document: the fields of the Open Referral schemas (github.com/openreferral/specification,
3.0, `schema/`) that Haven writes, with their types, and the HSDS API's page. The answers
are serialised by adapters/hsds/export.py, not through these schemas; the tests validate real
answers against both these and the official schemas."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f

from ..adapters.hsds import STATUS_TO_HSDS

_UUID = {"format": "uuid"}


def _id() -> f.String:
    return f.String(required=True, metadata=_UUID)


class HsdsTaxonomyTermSchema(ma.Schema):
    id = _id()
    code = f.String()
    name = f.String(required=True)
    description = f.String(required=True)
    taxonomy = f.String(metadata={"description": "haven-kind, haven-gender, haven-capacity, haven-area..."})


class HsdsAttributeSchema(ma.Schema):
    id = _id()
    taxonomy_term_id = f.String(required=True, metadata=_UUID)
    taxonomy_term = f.Nested(HsdsTaxonomyTermSchema)
    value = f.String(metadata={"description": "E.g. the capacity as JSON: available, maximum, updated_at."})


class HsdsPhoneSchema(ma.Schema):
    id = _id()
    number = f.String(required=True)
    description = f.String()


class HsdsLanguageSchema(ma.Schema):
    id = _id()
    code = f.String(metadata={"description": "ISO 639."})
    name = f.String()


class HsdsAddressSchema(ma.Schema):
    id = _id()
    address_1 = f.String(required=True)
    city = f.String(required=True)
    state_province = f.String(required=True)
    postal_code = f.String(required=True)
    country = f.String(required=True)
    address_type = f.String(required=True, metadata={"enum": ["physical"]})


class HsdsLocationSchema(ma.Schema):
    id = _id()
    location_type = f.String(required=True, metadata={"enum": ["physical"]})
    organization_id = f.String(metadata=_UUID)
    name = f.String()
    description = f.String()
    latitude = f.Float(metadata={"description": "Not shown for a confidential location without "
                                                "directory:confidential."})
    longitude = f.Float()
    addresses = f.List(f.Nested(HsdsAddressSchema))
    attributes = f.List(f.Nested(HsdsAttributeSchema))


class HsdsServiceAtLocationSchema(ma.Schema):
    id = _id()
    location = f.Nested(HsdsLocationSchema)


class HsdsScheduleSchema(ma.Schema):
    id = _id()
    timezone = f.Float(metadata={"description": "Offset from UTC in hours."})
    wkst = f.String(metadata={"enum": ["MO"]})
    freq = f.String(metadata={"enum": ["WEEKLY"]})
    byday = f.String(metadata={"example": "MO,TU,WE,TH,FR"})
    description = f.String()
    opens_at = f.String(metadata={"example": "07:30:00"})
    closes_at = f.String(metadata={"example": "17:00:00"})
    attributes = f.List(f.Nested(HsdsAttributeSchema))


class HsdsServiceAreaSchema(ma.Schema):
    id = _id()
    name = f.String()
    extent = f.String()
    extent_type = f.String(metadata={"enum": ["text"]})


class HsdsOrganizationSchema(ma.Schema):
    id = _id()
    name = f.String(required=True)
    description = f.String(required=True)
    email = f.String()
    website = f.String()
    phones = f.List(f.Nested(HsdsPhoneSchema))


class HsdsCostOptionSchema(ma.Schema):
    id = _id()
    option = f.String()
    currency = f.String()
    amount = f.Float()


class HsdsServiceSchema(ma.Schema):
    id = _id()
    organization_id = f.String(required=True, metadata=_UUID)
    name = f.String(required=True)
    description = f.String()
    url = f.String()
    email = f.String()
    status = f.String(required=True, metadata={"enum": sorted(set(STATUS_TO_HSDS.values()))})
    fees_description = f.String()
    eligibility_description = f.String()
    minimum_age = f.Integer()
    maximum_age = f.Integer()
    assured_date = f.Date()
    assurer_email = f.String()
    last_modified = f.AwareDateTime(metadata={"description": "UTC, with its offset (Z)."})
    phones = f.List(f.Nested(HsdsPhoneSchema))
    schedules = f.List(f.Nested(HsdsScheduleSchema))
    service_areas = f.List(f.Nested(HsdsServiceAreaSchema))
    service_at_locations = f.List(f.Nested(HsdsServiceAtLocationSchema))
    languages = f.List(f.Nested(HsdsLanguageSchema))
    organization = f.Nested(HsdsOrganizationSchema)
    cost_options = f.List(f.Nested(HsdsCostOptionSchema))
    attributes = f.List(f.Nested(HsdsAttributeSchema), metadata={
        "description": "The Haven kind (taxonomy haven-kind), gender, capacity, assurer, days closed."})


class HsdsServiceAtLocationItemSchema(HsdsServiceAtLocationSchema):
    """An item of GET /hsds/service_at_locations: the pair, with its service (full form,
    without its other locations)."""
    service_id = f.String(required=True, metadata=_UUID)
    location_id = f.String(required=True, metadata=_UUID)
    service = f.Nested(HsdsServiceSchema, required=True)


class HsdsPageSchema(ma.Schema):
    """A page of the HSDS API."""
    total_items = f.Integer(required=True)
    total_pages = f.Integer(required=True)
    page_number = f.Integer(required=True)
    size = f.Integer(required=True)
    first_page = f.Boolean(required=True)
    last_page = f.Boolean(required=True)
    empty = f.Boolean(required=True)


class HsdsServicePageSchema(HsdsPageSchema):
    contents = f.List(f.Nested(HsdsServiceSchema), required=True)


class HsdsServiceAtLocationPageSchema(HsdsPageSchema):
    contents = f.List(f.Nested(HsdsServiceAtLocationItemSchema), required=True)
