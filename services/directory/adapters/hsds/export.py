"""Haven -> Open Referral HSDS 3.0 (the mapping is in the package docstring).

`service_to_hsds(listing, viewer)` gives one HSDS 3.0 ``service`` in the API's "full" form
(schema/compiled/service.json): nested ``organization``, ``service_at_locations`` with the
nested ``location`` (addresses, attributes), ``schedules``, ``languages``, ``phones``,
``service_areas``, ``cost_options`` and ``attributes``. `organization_to_hsds` gives the
``organization`` full form with its ``locations`` and ``services``. For a viewer without
the ``directory:confidential`` permission the listing is redacted first (`redact_listing`,
by the rule of domain/confidential.py): a confidential location then carries no
coordinates, no address entry, no commune and no description. Every document validates
against the official 3.0 compiled schemas.

Ids of the nested HSDS objects that Haven does not store (phones, schedules, addresses,
attributes...) are derived (UUID v5) from the id of their owner, so the same record always
exports to the same document.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone

from ...domain.model import BASE_KINDS, DEFAULT_TIMEZONE, WEEKDAYS, Location, Organization, Service
from ...domain.confidential import Viewer
from ...domain.search import Listing, redact_listing
from .fields import (STATUS_TO_HSDS, TAXONOMY_AREA, TAXONOMY_ASSURER, TAXONOMY_CAPACITY, TAXONOMY_CLOSED_ON,
                     TAXONOMY_CONFIDENTIAL, TAXONOMY_GENDER, TAXONOMY_KIND, TAXONOMY_SCHEDULE, TAXONOMY_TIMEZONE,
                     sub_id, term_id, utc_offset)
from .values import is_email

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English", "fr": "Français", "zh": "中文", "km": "ភាសាខ្មែរ",
                  "lo": "ພາສາລາວ", "hmn": "Hmoob", "ko": "한국어", "ja": "日本語", "vsl": "Ngôn ngữ ký hiệu"}
GENDER_TEXT = {"female": "Phụ nữ và trẻ em gái (women and girls)",
               "male": "Nam giới và trẻ em trai (men and boys)"}
GENDER_TERMS = {"any": ("Mọi giới (any gender)", "The service accepts people of any gender"),
                "female": ("Nữ (female)", "The service accepts women and girls"),
                "male": ("Nam (male)", "The service accepts men and boys")}
FREE_OPTION = "Miễn phí (free of charge)"
FEES_OPTION = "Có thu phí (fees apply)"
ALWAYS_OPEN_TEXT = "Mở cửa 24/7 (open 24 hours a day, 7 days a week)"
CURRENCY = "VND"


def service_to_hsds(listing: Listing, viewer: Viewer, *, include_organization: bool = True) -> dict:
    """One service in the HSDS 3.0 "full" form, redacted for `viewer`."""
    listing = redact_listing(listing, viewer)
    s = listing.service
    names = listing.area_names
    tz = listing.locations[0].timezone if listing.locations else DEFAULT_TIMEZONE
    doc: dict = {"id": s.id, "organization_id": s.organization_id, "name": s.name}
    _put(doc, "description", s.description)
    _put(doc, "url", s.url)
    _put(doc, "email", s.email)
    doc["status"] = STATUS_TO_HSDS[s.status]
    _put(doc, "fees_description", s.fees_description)
    _put(doc, "eligibility_description", _eligibility_text(s))
    if s.minimum_age is not None:
        doc["minimum_age"] = s.minimum_age
    if s.maximum_age is not None:
        doc["maximum_age"] = s.maximum_age
    if s.assured_date is not None:
        doc["assured_date"] = s.assured_date.isoformat()
    if s.assured_by and is_email(s.assured_by):
        doc["assurer_email"] = s.assured_by
    doc["last_modified"] = _timestamp(s.updated_at)
    _put(doc, "phones", [_phone_doc(sub_id(s.id, "phone", str(i)), p.number, p.description)
                         for i, p in enumerate(s.phones)])
    _put(doc, "schedules", _schedules_doc(s, tz))
    _put(doc, "service_areas", [{"id": sub_id(s.id, "service_area", code), "name": names.get(code, code),
                                 "extent": code, "extent_type": "text"} for code in s.service_areas])
    _put(doc, "service_at_locations", [{"id": sub_id(s.id, "service_at_location", loc.id),
                                        "location": _location_doc(loc, names)} for loc in listing.locations])
    _put(doc, "languages", [_language_doc(sub_id(s.id, "language", code), code) for code in s.languages])
    if include_organization:
        doc["organization"] = _organization_doc(listing.organization)
    doc["cost_options"] = [_cost_option_doc(s)]
    doc["attributes"] = _service_attributes(s)
    return doc


def organization_to_hsds(organization: Organization, listings: Iterable[Listing], viewer: Viewer) -> dict:
    """One organization in the HSDS 3.0 "full" form: its locations and its services (each
    in the service full form, without the organization again)."""
    listings = [redact_listing(listing, viewer) for listing in listings]
    doc = _organization_doc(organization)
    locations: dict[str, dict] = {}
    for listing in listings:
        for loc in listing.locations:
            locations.setdefault(loc.id, _location_doc(loc, listing.area_names))
    _put(doc, "locations", list(locations.values()))
    _put(doc, "services", [service_to_hsds(listing, viewer, include_organization=False) for listing in listings])
    return doc


def _put(doc: dict, key: str, value) -> None:
    if value not in (None, "", [], ()):
        doc[key] = value


def _attribute(owner_id: str, taxonomy: str, code: str, name: str, description: str,
               value: str | None = None, *, key: str = "") -> dict:
    """An attribute with its taxonomy term. Its id depends on the owner, the term and `key`
    (for a term that can appear several times), not on the value: a new bed count keeps it."""
    term = term_id(taxonomy, code)
    doc = {"id": sub_id(owner_id, "attribute", taxonomy, code, key), "taxonomy_term_id": term,
           "taxonomy_term": {"id": term, "code": code, "name": name, "description": description,
                             "taxonomy": taxonomy}}
    if value is not None:
        doc["value"] = value
    return doc


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _phone_doc(id: str, number: str, description: str = "") -> dict:
    doc = {"id": id, "number": number}
    _put(doc, "description", description)
    return doc


def _language_doc(id: str, code: str) -> dict:
    doc = {"id": id, "code": code}
    _put(doc, "name", LANGUAGE_NAMES.get(code))
    return doc


def _organization_doc(org: Organization) -> dict:
    doc = {"id": org.id, "name": org.name, "description": org.description}
    _put(doc, "email", org.email)
    _put(doc, "website", org.website)
    if org.phone:
        doc["phones"] = [_phone_doc(sub_id(org.id, "phone", "0"), org.phone)]
    return doc


def _location_doc(loc: Location, names: dict) -> dict:
    doc = {"id": loc.id, "location_type": "physical", "organization_id": loc.organization_id, "name": loc.name}
    _put(doc, "description", loc.description)
    if loc.latitude is not None and loc.longitude is not None:
        doc["latitude"] = loc.latitude
        doc["longitude"] = loc.longitude
    a = loc.address
    if a.address_1 or a.city or a.region or a.postal_code:
        doc["addresses"] = [{"id": sub_id(loc.id, "address"), "address_1": a.address_1, "city": a.city,
                             "state_province": a.region, "postal_code": a.postal_code, "country": a.country,
                             "address_type": "physical"}]
    attributes = []
    if loc.confidential:
        attributes.append(_attribute(loc.id, TAXONOMY_CONFIDENTIAL, "confidential", "Địa điểm bảo mật (confidential)",
                                     "The address and coordinates are shown only to authorised caseworkers.",
                                     "true"))
    for level, code in (("province", loc.province_code), ("district", loc.district_code),
                        ("commune", loc.commune_code)):
        if code:
            attributes.append(_attribute(loc.id, TAXONOMY_AREA, code, names.get(code, code),
                                         f"Administrative area ({level}) {code}", level))
    if loc.timezone != DEFAULT_TIMEZONE:
        attributes.append(_attribute(loc.id, TAXONOMY_TIMEZONE, loc.timezone, loc.timezone, "IANA time zone"))
    _put(doc, "attributes", attributes)
    return doc


def _schedules_doc(s: Service, tz: str) -> list[dict]:
    offset = utc_offset(tz)
    schedules = []
    if s.always_open:
        schedules.append({"id": sub_id(s.id, "schedule", "always_open"), "timezone": offset, "wkst": "MO",
                          "freq": "WEEKLY", "byday": ",".join(WEEKDAYS), "description": ALWAYS_OPEN_TEXT,
                          "opens_at": "00:00:00", "closes_at": "24:00:00",
                          "attributes": [_attribute(s.id, TAXONOMY_SCHEDULE, "always_open", "Mở cửa 24/7",
                                                    ALWAYS_OPEN_TEXT)]})
    for i, h in enumerate(s.hours):
        schedules.append({"id": sub_id(s.id, "schedule", str(i)), "timezone": offset, "wkst": "MO",
                          "freq": "WEEKLY", "byday": ",".join(h.byday), "opens_at": f"{h.opens_at}:00",
                          "closes_at": f"{h.closes_at}:00"})
    return schedules


def _eligibility_text(s: Service) -> str:
    parts = []
    if s.gender in GENDER_TEXT:
        parts.append(GENDER_TEXT[s.gender])
    lo, hi = s.minimum_age, s.maximum_age
    if lo is not None and hi is not None:
        parts.append(f"từ {lo} đến {hi} tuổi (aged {lo} to {hi})")
    elif lo is not None:
        parts.append(f"từ {lo} tuổi trở lên (aged {lo} and over)")
    elif hi is not None:
        parts.append(f"đến {hi} tuổi (aged up to {hi})")
    return "; ".join(parts)


def _cost_option_doc(s: Service) -> dict:
    if s.free_of_charge:
        return {"id": sub_id(s.id, "cost_option"), "option": FREE_OPTION, "currency": CURRENCY, "amount": 0}
    return {"id": sub_id(s.id, "cost_option"), "option": FEES_OPTION, "currency": CURRENCY}


def _service_attributes(s: Service) -> list[dict]:
    vi, en, _ = BASE_KINDS.get(s.kind, (s.kind, s.kind, False))
    attributes = [_attribute(s.id, TAXONOMY_KIND, s.kind, en, vi),
                  _attribute(s.id, TAXONOMY_GENDER, s.gender, *GENDER_TERMS.get(s.gender, (s.gender, s.gender)))]
    if s.capacity is not None:
        value = json.dumps({"available": s.capacity.available, "maximum": s.capacity.maximum,
                            "updated_at": s.capacity.updated_at.isoformat()}, sort_keys=True)
        attributes.append(_attribute(s.id, TAXONOMY_CAPACITY, "capacity", "Chỗ trống (capacity)",
                                     "Places available and places in total, when counted", value))
    if s.assured_by:
        attributes.append(_attribute(s.id, TAXONOMY_ASSURER, "assured_by", "Người xác minh (assured by)",
                                     "Who last checked this record", s.assured_by))
    for day in s.closed_on:
        attributes.append(_attribute(s.id, TAXONOMY_CLOSED_ON, "closed", "Ngày nghỉ (closed)",
                                     "A day the service is closed", day.isoformat(), key=day.isoformat()))
    return attributes
