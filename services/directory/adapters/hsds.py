"""Open Referral HSDS 3.0 import and export, and the provincial CSV import.

Pure functions: no database, no Flask. The service layer decides what to do with an
`ImportBatch` (insert, or update the records with the same ids); the API decides who is
asking and passes the matching `Viewer` to the export.

Export
------
`service_to_hsds(listing, viewer)` gives one HSDS 3.0 ``service`` in the API's "full" form
(schema/compiled/service.json): nested ``organization``, ``service_at_locations`` with the
nested ``location`` (addresses, attributes), ``schedules``, ``languages``, ``phones``,
``service_areas``, ``cost_options`` and ``attributes``. `organization_to_hsds` gives the
``organization`` full form with its ``locations`` and ``services``. For a viewer without
the ``directory:confidential`` permission the listing is redacted first (`redact_listing`):
a confidential location then carries no coordinates, no address entry, no commune and no
description. Every document validates against the official 3.0 compiled schemas.

Ids of the nested HSDS objects that Haven does not store (phones, schedules, addresses,
attributes...) are derived (UUID v5) from the id of their owner, so the same record always
exports to the same document.

Mapping (Haven -> HSDS 3.0; the import reads the same places back)
-------------------------------------------------------------------

====================================  ==========================================================
Haven                                 HSDS 3.0
====================================  ==========================================================
Service.kind                          service ``attributes``: taxonomy_term (taxonomy
                                      ``haven-kind``, code = kind)
Service.status                        ``status``: active / inactive / "temporarily closed"
                                      (import: "defunct" -> inactive, with a warning)
Service.gender                        ``attributes`` (taxonomy ``haven-gender``, code any /
                                      female / male) + generated ``eligibility_description``
Service.minimum_age / maximum_age     ``minimum_age`` / ``maximum_age``
Service.fees_description              ``fees_description``
Service.free_of_charge                one ``cost_options`` entry: amount 0 ("Free of charge")
                                      when free, no amount ("Fees apply") otherwise. Import
                                      without cost options: free when fees_description is empty
Service.capacity                      ``attributes`` (taxonomy ``haven-capacity``, value =
                                      JSON ``{"available", "maximum", "updated_at"}``);
                                      HSDS 3.0 has no capacity (3.1 adds service_capacity)
Service.assured_date                  ``assured_date`` (YYYY-MM-DD)
Service.assured_by (free text)        ``attributes`` (taxonomy ``haven-assurer``, value = the
                                      text) and also ``assurer_email`` when it is an address
Service.always_open                   a ``schedules`` entry MO..SU 00:00:00-24:00:00 marked
                                      with an attribute (taxonomy ``haven-schedule``, code
                                      ``always_open``)
Service.hours                         ``schedules``: freq WEEKLY, byday "MO,TU", opens_at /
                                      closes_at "HH:MM:SS" local time, timezone = UTC offset
Service.closed_on                     one ``attributes`` entry per date (taxonomy
                                      ``haven-closed-on``, value = YYYY-MM-DD)
Service.service_areas (codes)         ``service_areas``: extent = area code, extent_type
                                      "text", name = area name
Service.languages / phones / email /  ``languages`` (code, name) / ``phones`` / ``email`` /
url / updated_at                      ``url`` / ``last_modified``
Service.location_ids                  ``service_at_locations`` (nested ``location``)
Location.confidential                 location ``attributes`` (taxonomy ``haven-confidential``)
Location.province/district/commune    location ``attributes`` (taxonomy ``haven-area``, code =
                                      area code, value = level, name = area name)
Location.address                      ``addresses[0]``: address_1, city, state_province
                                      (= Address.region), postal_code, country
Location.timezone                     location ``attributes`` (taxonomy ``haven-timezone``),
                                      only when it is not Asia/Ho_Chi_Minh
Organization.phone                    organization ``phones[0]``
====================================  ==========================================================

Import
------
`parse_hsds(document)` accepts a list of services (full form), a list of organizations
with nested ``services`` and ``locations`` (full form), a single object of either kind, or
an API page (``{"contents": [...]}``). A record is one element of that list. A bad record
is reported (`RecordError`: its position in the input, its id, the dotted path of the bad
field, e.g. ``services.0.schedules.1.opens_at``) and skipped; the good ones are kept.
In an organization, each nested location and service is judged on its own: a bad service
is skipped (the error names its id) and the organization and its other services are kept.
Organizations and locations that appear several times (same id) are kept once.

HSDS ids are kept as Haven ids, so importing the same file again updates the same records;
a missing id is derived (UUID v5) from the parent's id and the record's name. Times are
read as the location's local time: a time with a UTC offset, or a schedule ``timezone``,
other than the local one is refused rather than converted. Haven keeps only service-level
``schedules``; location and service_at_location schedules, polygon service areas, extra
addresses and foreign eligibility texts are dropped with a warning (`ImportBatch.warnings`).

Documents from other Open Referral systems carry none of Haven's taxonomies. A service's
kind is its ``haven-kind`` attribute, else what the installation's `KindMappings` give one
of its taxonomy terms (domain/kind_mappings.py), else the batch's `default_kind`, else the
service is an error on ``attributes``; `ImportBatch.kind_sources` says which rule it was.
Such documents do not say which locations are confidential either: a location whose
confidentiality the document does not state (no ``haven-confidential`` attribute) is made
confidential, with a warning, when a shelter or trusted address of the batch is there.
`ImportBatch.confidentiality_given` lists the locations that do state it; the service
layer keeps the others confidential if they already are.

CSV format for provincial spreadsheets
--------------------------------------
`parse_csv(text)` reads UTF-8 text (with or without a byte-order mark, as Excel writes it),
comma-separated, with a header row; one row per service. Column names are case-insensitive;
unknown columns are ignored with a warning. Errors name the row (1-based, the header is
row 1) and the column.

=====================  ========  ==================================================================
column                 required  content
=====================  ========  ==================================================================
organization_name      yes       name of the organization; rows with the same name (or the same
                                 organization_id) belong to one organization
organization_id        no        UUID; derived from the name when empty
service_id             no        UUID; derived from organization, service name and location when
                                 empty, so re-importing the sheet updates the same service
service_name           yes       name of the service
kind                   yes       a kind code (shelter, trusted_address, social_work, health,
                                 legal_aid, police, counselling, hotline) or its Vietnamese or
                                 English name ("Nhà tạm lánh", "Legal aid")
description            no        free text
phone                  no        one or more numbers, separated by ";"
email                  no        e-mail address of the service
language               no        ISO 639 codes separated by ";" (vi;en); default vi
gender                 no        any / female / male (also: tất cả / nữ / nam); default any
minimum_age            no        whole number 0-150
maximum_age            no        whole number 0-150, not below minimum_age
always_open            no        yes / no (also: có / không, x, 1 / 0, true / false); default no
hours                  no        groups separated by ";", each "DAYS TIMES": DAYS are RFC 5545
                                 codes MO TU WE TH FR SA SU, single or ranges, separated by ","
                                 (MO-FR, MO,WE,FR); TIMES are HH:MM-HH:MM ranges separated by ","
                                 e.g. "MO-FR 07:30-11:30,13:30-17:00; SA 07:30-11:30". "24/7"
                                 means always open
location_name          no        name of the place; a location is created when any location column
                                 is filled (the name defaults to the address)
address                no        street address (house number, street)
province_code          no        official code (2 digits; leading zeros restored)
district_code          no        official code (3 digits; leading zeros restored)
commune_code           no        official code (5 digits; leading zeros restored)
latitude, longitude    no        decimal degrees (WGS 84); both or neither; "," accepted as the
                                 decimal mark
confidential           no        yes / no; when empty, the kind's default (shelters and trusted
                                 addresses are confidential)
capacity_available     no        whole number >= 0, with capacity_maximum
capacity_maximum       no        whole number >= capacity_available
assured_date           no        date the record was last checked: YYYY-MM-DD or DD/MM/YYYY
assured_by             no        who checked it (free text or e-mail)
service_areas          no        area codes the service covers, separated by ";" (write them as
                                 text, so the spreadsheet keeps the leading zeros)
=====================  ========  ==================================================================
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..domain.kind_mappings import KindMappings, Term
from ..domain.model import (AREA_LEVELS, BASE_KINDS, DEFAULT_TIMEZONE, GENDERS, MAX_CAPACITY, WEEKDAYS, Address,
                            Capacity, Kind, Location, OpeningHours, Organization, Phone, Service)
from ..domain.search import Listing, Viewer, redact_listing

# Namespace of the UUID v5 ids Haven derives (nested HSDS objects, taxonomy terms, ids
# missing from an import). Never change it: the ids in exported documents depend on it.
NAMESPACE = uuid.UUID("6f1c1c4e-3b0a-5d7e-9a51-8a7d2f0b9c11")

TAXONOMY_KIND = "haven-kind"
TAXONOMY_GENDER = "haven-gender"
TAXONOMY_CONFIDENTIAL = "haven-confidential"
TAXONOMY_AREA = "haven-area"
TAXONOMY_CAPACITY = "haven-capacity"
TAXONOMY_ASSURER = "haven-assurer"
TAXONOMY_CLOSED_ON = "haven-closed-on"
TAXONOMY_SCHEDULE = "haven-schedule"
TAXONOMY_TIMEZONE = "haven-timezone"

STATUS_TO_HSDS = {"active": "active", "inactive": "inactive", "temporarily_closed": "temporarily closed"}
STATUS_FROM_HSDS = {"active": "active", "inactive": "inactive", "temporarily closed": "temporarily_closed",
                    "defunct": "inactive"}

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
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RecordError:
    """A problem with one record: `index` is its position in the input (for CSV: the row
    number, the header being row 1), `id` its id if it has one, `field` the dotted path of
    the bad field inside the record (for CSV: the column name)."""

    index: int
    id: str | None
    field: str
    message: str


@dataclass(frozen=True)
class KindSource:
    """Which rule gave a kept service its kind: "haven-kind attribute", "mapping
    <taxonomy>:<code>", "default_kind" (HSDS) or "kind column" (CSV)."""

    index: int
    id: str
    kind: str
    rule: str


@dataclass
class ImportBatch:
    organizations: list[Organization] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # Kept records that lost something on the way in (a polygon service area, a location
    # schedule...): worth showing to the administrator, not a reason to refuse them.
    warnings: list[RecordError] = field(default_factory=list)
    area_names: dict[str, str] = field(default_factory=dict)  # code -> name, as the document gave them
    kind_sources: list[KindSource] = field(default_factory=list)
    # Locations whose confidentiality the input states (the haven-confidential attribute, the
    # CSV column). The others may not make a confidential location public on a re-import.
    confidentiality_given: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def listings(self) -> list[Listing]:
        """The imported services as listings (to export them again, or to preview them).
        Services whose organization is not in the batch are left out."""
        organizations = {o.id: o for o in self.organizations}
        locations = {loc.id: loc for loc in self.locations}
        return [Listing(service=s, organization=organizations[s.organization_id],
                        locations=tuple(locations[i] for i in s.location_ids if i in locations),
                        area_names=dict(self.area_names))
                for s in self.services if s.organization_id in organizations]


# --------------------------------------------------------------------------- export


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
    if s.assured_by and _is_email(s.assured_by):
        doc["assurer_email"] = s.assured_by
    doc["last_modified"] = _timestamp(s.updated_at)
    _put(doc, "phones", [_phone_doc(_sub_id(s.id, "phone", str(i)), p.number, p.description)
                         for i, p in enumerate(s.phones)])
    _put(doc, "schedules", _schedules_doc(s, tz))
    _put(doc, "service_areas", [{"id": _sub_id(s.id, "service_area", code), "name": names.get(code, code),
                                 "extent": code, "extent_type": "text"} for code in s.service_areas])
    _put(doc, "service_at_locations", [{"id": _sub_id(s.id, "service_at_location", loc.id),
                                        "location": _location_doc(loc, names)} for loc in listing.locations])
    _put(doc, "languages", [_language_doc(_sub_id(s.id, "language", code), code) for code in s.languages])
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


def _sub_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _term_id(taxonomy: str, code: str) -> str:
    return _sub_id("taxonomy_term", taxonomy, code)


def _attribute(owner_id: str, taxonomy: str, code: str, name: str, description: str,
               value: str | None = None, *, key: str = "") -> dict:
    """An attribute with its taxonomy term. Its id depends on the owner, the term and `key`
    (for a term that can appear several times), not on the value: a new bed count keeps it."""
    term_id = _term_id(taxonomy, code)
    doc = {"id": _sub_id(owner_id, "attribute", taxonomy, code, key), "taxonomy_term_id": term_id,
           "taxonomy_term": {"id": term_id, "code": code, "name": name, "description": description,
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
        doc["phones"] = [_phone_doc(_sub_id(org.id, "phone", "0"), org.phone)]
    return doc


def _location_doc(loc: Location, names: dict) -> dict:
    doc = {"id": loc.id, "location_type": "physical", "organization_id": loc.organization_id, "name": loc.name}
    _put(doc, "description", loc.description)
    if loc.latitude is not None and loc.longitude is not None:
        doc["latitude"] = loc.latitude
        doc["longitude"] = loc.longitude
    a = loc.address
    if a.address_1 or a.city or a.region or a.postal_code:
        doc["addresses"] = [{"id": _sub_id(loc.id, "address"), "address_1": a.address_1, "city": a.city,
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


def _utc_offset(tz: str) -> int | float:
    hours = ZoneInfo(tz).utcoffset(datetime(2024, 1, 1)).total_seconds() / 3600
    return int(hours) if hours == int(hours) else hours


def _schedules_doc(s: Service, tz: str) -> list[dict]:
    offset = _utc_offset(tz)
    schedules = []
    if s.always_open:
        schedules.append({"id": _sub_id(s.id, "schedule", "always_open"), "timezone": offset, "wkst": "MO",
                          "freq": "WEEKLY", "byday": ",".join(WEEKDAYS), "description": ALWAYS_OPEN_TEXT,
                          "opens_at": "00:00:00", "closes_at": "24:00:00",
                          "attributes": [_attribute(s.id, TAXONOMY_SCHEDULE, "always_open", "Mở cửa 24/7",
                                                    ALWAYS_OPEN_TEXT)]})
    for i, h in enumerate(s.hours):
        schedules.append({"id": _sub_id(s.id, "schedule", str(i)), "timezone": offset, "wkst": "MO",
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
        return {"id": _sub_id(s.id, "cost_option"), "option": FREE_OPTION, "currency": CURRENCY, "amount": 0}
    return {"id": _sub_id(s.id, "cost_option"), "option": FEES_OPTION, "currency": CURRENCY}


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


# --------------------------------------------------------------------------- import helpers


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _canonical_uuid(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _derived_id(*parts: str) -> str:
    return _sub_id("import", *(p.strip().casefold() for p in parts))


def _kind_table(kinds) -> dict[str, bool]:
    """code -> confidential by default."""
    if kinds is None:
        return {code: conf for code, (_, _, conf) in BASE_KINDS.items()}
    table = {}
    for kind in kinds:
        if isinstance(kind, Kind):
            table[kind.code] = kind.confidential_by_default
        else:
            table[str(kind)] = BASE_KINDS.get(str(kind), ("", "", False))[2]
    return table


def _parse_clock(value, local_offset: float) -> str:
    """HSDS/CSV time of day -> Haven "HH:MM". Raises ValueError with a readable message."""
    if not isinstance(value, str):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    match = _CLOCK.match(value.strip())
    if not match:
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    hours, minutes, seconds, suffix = int(match[1]), int(match[2]), int(match[3] or 0), match[4]
    if hours > 24 or minutes > 59 or seconds > 59 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    if suffix:
        if suffix == "Z":
            offset = 0.0
        else:
            digits = suffix[1:].replace(":", "")
            offset = (int(digits[:2]) + int(digits[2:]) / 60) * (1 if suffix[0] == "+" else -1)
        if offset != local_offset:
            raise ValueError(f"{value!r} is not in the local time of the service (UTC{local_offset:+g}); "
                             "give local times")
    if (hours, minutes, seconds) == (23, 59, 59):
        return "24:00"
    return f"{hours:02d}:{minutes:02d}"


def _parse_date(value) -> date:
    if not isinstance(value, str):
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 and text[4] == "-" else date.fromisoformat(text)
    except (ValueError, IndexError):
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _parse_age(value, label: str) -> int:
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"\d{1,3}", value):
            raise ValueError(f"{label} must be a whole number of years (0-150): {value!r}")
        value = int(value)
    if not _is_number(value) or value != int(value):
        raise ValueError(f"{label} must be a whole number of years (0-150): {value!r}")
    if not 0 <= value <= 150:
        raise ValueError(f"{label} must be between 0 and 150: {value!r}")
    return int(value)


def _check_capacity(available, maximum) -> None:
    for label, value in (("available", available), ("maximum", maximum)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CAPACITY:
            raise ValueError(f"capacity {label} must be a whole number from 0 to {MAX_CAPACITY}: {value!r}")
    if available > maximum:
        raise ValueError(f"capacity available ({available}) exceeds maximum ({maximum})")


def _check_coordinates(lat, lon) -> tuple[str, str] | None:
    """(field, message) of the first problem, or None."""
    if (lat is None) != (lon is None):
        return ("latitude" if lat is None else "longitude"), "latitude and longitude go together"
    if lat is None:
        return None
    if not _is_number(lat) or not -90 <= lat <= 90:
        return "latitude", f"latitude must be a number between -90 and 90: {lat!r}"
    if not _is_number(lon) or not -180 <= lon <= 180:
        return "longitude", f"longitude must be a number between -180 and 180: {lon!r}"
    return None


def _same(a, b) -> bool:
    """Equal, apart from the bookkeeping stamps."""
    stamp = datetime(2000, 1, 1, tzinfo=timezone.utc)
    return replace(a, created_at=stamp, updated_at=stamp, version=1) == replace(b, created_at=stamp,
                                                                               updated_at=stamp, version=1)


class _Problems:
    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        self.errors: list[tuple[str, str]] = []
        self.warnings: list[tuple[str, str]] = []

    def path(self, *parts) -> str:
        return ".".join(str(p) for p in (self.prefix, *parts) if p != "")

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append((path, message))


def _text(data: dict, key: str, path: str, p: _Problems, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            p.error(path, f"{key} is required")
        return ""
    if not isinstance(value, str):
        p.error(path, f"{key} must be text")
        return ""
    return value.strip()


def _web_address(data: dict, key: str, path: str, p: _Problems) -> str | None:
    value = _text(data, key, path, p)
    if value and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value):
        p.error(path, f"{key} must be a web address starting with http:// or https://: {value!r}")
    return value or None


def _list(data: dict, key: str, path: str, p: _Problems) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        p.error(path, f"{key} must be a list")
        return []
    return value


def _record_id(data: dict, path: str, p: _Problems, *derive_from: str) -> str:
    raw = data.get("id")
    if raw is None or raw == "":
        return _derived_id(*derive_from)
    canonical = _canonical_uuid(raw)
    if canonical is None:
        p.error(path, f"id must be a UUID: {raw!r}")
        return str(raw)
    return canonical


def _terms(data: dict, path: str, p: _Problems):
    """(path of the attribute, taxonomy, code, value) of every attribute with a taxonomy term."""
    for i, attribute in enumerate(_list(data, "attributes", path, p)):
        if not isinstance(attribute, dict):
            p.error(f"{path}.{i}" if path else str(i), "attribute must be an object")
            continue
        term = attribute.get("taxonomy_term")
        if not isinstance(term, dict):
            continue
        text = lambda key: term.get(key) if isinstance(term.get(key), str) else None  # noqa: E731
        yield f"{path}.{i}", text("taxonomy"), text("code"), attribute.get("value"), text("name")


# --------------------------------------------------------------------------- HSDS import


RULE_ATTRIBUTE = f"{TAXONOMY_KIND} attribute"
RULE_DEFAULT = "default_kind"


def _foreign_terms(data: dict) -> list[Term]:
    """The service's terms from taxonomies other than Haven's, each with every name the
    document gives its taxonomy (malformed attributes were reported by `_terms`)."""
    found = []
    attributes = data.get("attributes")
    for attribute in attributes if isinstance(attributes, list) else ():
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if not isinstance(term, dict) or not isinstance(term.get("code"), str) or not term["code"].strip():
            continue
        detail = term.get("taxonomy_detail") if isinstance(term.get("taxonomy_detail"), dict) else {}
        names = tuple(n for n in (term.get("taxonomy"), detail.get("name"), detail.get("uri"))
                      if isinstance(n, str) and n.strip())
        if names and not any(n.startswith("haven-") for n in names):
            found.append(Term(names, term["code"]))
    return found


class _Importer:
    def __init__(self, kinds, default_kind: str | None, mappings: KindMappings | None = None):
        self.kinds = _kind_table(kinds)
        self.default_kind = default_kind
        self.mappings = mappings or KindMappings()
        self.batch = ImportBatch()
        self.organizations: dict[str, Organization] = {}
        self.locations: dict[str, Location] = {}
        self.services: dict[str, tuple[Service, int]] = {}
        self.rejected_locations: set[str] = set()
        # location id -> (does the document state its confidentiality, path of its attributes),
        # from the copy parsed last; `keep_location` keeps what the kept copy said
        self.stated: dict[str, tuple[bool, str]] = {}
        self.kept_at: dict[str, tuple[int, str]] = {}

    # -- bookkeeping

    def report(self, index: int, id: str | None, p: _Problems) -> None:
        self.batch.errors.extend(RecordError(index, id, f, m) for f, m in p.errors)
        self.batch.warnings.extend(RecordError(index, id, f, m) for f, m in p.warnings)

    def _keep_once(self, kind: str, seen: dict, kept: list, item, index: int) -> None:
        """Organizations and locations repeat across services: keep the first copy, and
        warn when a later one disagrees with it."""
        known = seen.get(item.id)
        if known is None:
            seen[item.id] = item
            kept.append(item)
        elif not _same(known, item):
            self.batch.warnings.append(RecordError(index, item.id, kind, f"the {kind} appears again with other "
                                                                         "details; the first copy is kept"))

    def keep_organization(self, org: Organization, index: int) -> None:
        self._keep_once("organization", self.organizations, self.batch.organizations, org, index)

    def keep_location(self, loc: Location, index: int) -> None:
        if loc.id not in self.locations:
            said, path = self.stated.get(loc.id, (False, ""))
            self.kept_at[loc.id] = (index, path)
            if said:
                self.batch.confidentiality_given.add(loc.id)
        self._keep_once("location", self.locations, self.batch.locations, loc, index)

    def keep_service(self, service: Service, index: int, path: str, rule: str) -> bool:
        if service.id in self.services:
            first = self.services[service.id][1]
            self.batch.errors.append(RecordError(index, service.id, path or "id",
                                                 f"duplicate service id (first at record {first})"))
            return False
        self.services[service.id] = (service, index)
        self.batch.services.append(service)
        self.batch.kind_sources.append(KindSource(index, service.id, service.kind, rule))
        return True

    def confidential_by_default(self) -> None:
        """The safe default: a location of a shelter or trusted address whose confidentiality
        the document does not state is confidential (HSDS has no such flag, so documents
        from other systems never state it)."""
        hidden: set[str] = set()
        for service, index in self.services.values():
            if not self.kinds.get(service.kind, False):
                continue
            for loc_id in service.location_ids:
                loc = self.locations.get(loc_id)
                if loc is None or loc.confidential or loc_id in self.batch.confidentiality_given:
                    continue
                self.locations[loc_id] = replace(loc, confidential=True)
                hidden.add(loc_id)
                kept_index, path = self.kept_at.get(loc_id, (index, ""))
                self.batch.warnings.append(RecordError(
                    kept_index, loc_id, path or "attributes",
                    f"the document does not say whether this location is confidential; as the location of a "
                    f"{service.kind} (service {service.id}) it is imported as confidential, the safe default"))
        if hidden:
            self.batch.locations = [self.locations[loc.id] if loc.id in hidden else loc
                                    for loc in self.batch.locations]

    # -- records

    def run(self, document) -> ImportBatch:
        if isinstance(document, dict) and isinstance(document.get("contents"), list):
            document = document["contents"]
        records = document if isinstance(document, list) else [document]
        for index, record in enumerate(records):
            try:
                self.record(index, record)
            except Exception as exc:  # a malformed record must never sink the batch
                rid = record.get("id") if isinstance(record, dict) else None
                self.batch.errors.append(RecordError(index, rid if isinstance(rid, str) else None, "",
                                                     f"unreadable record: {exc}"))
        self.confidential_by_default()
        return self.batch

    def record(self, index: int, data) -> None:
        if not isinstance(data, dict):
            self.batch.errors.append(RecordError(index, None, "", "a record must be a JSON object"))
            return
        if _is_service(data):
            p = _Problems()
            parsed = self.service(data, p, organization_id=None)
            rid = data.get("id") if isinstance(data.get("id"), str) else None
            if p.errors or parsed is None:
                self.report(index, rid, p)
                return
            service, org, locations, rule = parsed
            if self.keep_service(service, index, "id", rule):
                self.report(index, rid, p)
                if org is not None:
                    self.keep_organization(org, index)
                for loc in locations:
                    self.keep_location(loc, index)
        else:
            self.organization_record(index, data)

    def organization_record(self, index: int, data: dict) -> None:
        p = _Problems()
        org = self.organization(data, p, "")
        if p.errors:
            self.report(index, data.get("id") if isinstance(data.get("id"), str) else None, p)
            return
        self.report(index, org.id, p)
        self.keep_organization(org, index)
        lists = _Problems()
        own: dict[str, Location] = {}
        for i, raw in enumerate(_list(data, "locations", "locations", lists)):
            lp = _Problems(f"locations.{i}")
            loc = self.location(raw, lp, lp.prefix, organization_id=org.id)
            rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            if lp.errors or loc is None:
                self.report(index, rid, lp)
                if rid:
                    self.rejected_locations.add(_canonical_uuid(rid) or rid)
                continue
            self.report(index, loc.id, lp)
            own[loc.id] = loc
            self.keep_location(loc, index)
        for j, raw in enumerate(_list(data, "services", "services", lists)):
            sp = _Problems(f"services.{j}")
            rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            parsed = self.service(raw, sp, organization_id=org.id, parent=org, own_locations=own) \
                if isinstance(raw, dict) else sp.error(sp.prefix, "a service must be a JSON object")
            if sp.errors or parsed is None:
                self.report(index, rid, sp)
                continue
            service, nested_org, locations, rule = parsed
            if self.keep_service(service, index, sp.path("id"), rule):
                self.report(index, service.id, sp)
                for loc in locations:
                    self.keep_location(loc, index)
        self.report(index, org.id, lists)

    def organization(self, data, p: _Problems, path: str, *, derive_from: str = "") -> Organization | None:
        if not isinstance(data, dict):
            p.error(path, "organization must be a JSON object")
            return None
        at = lambda *k: ".".join(x for x in (path, *k) if x)  # noqa: E731
        name = _text(data, "name", at("name"), p, required=True)
        org_id = _record_id(data, at("id"), p, derive_from, "organization", name)
        email = _text(data, "email", at("email"), p) or None
        if email and not _is_email(email):
            p.error(at("email"), f"not an e-mail address: {email!r}")
        phone = None
        phones = _list(data, "phones", at("phones"), p)
        for i, raw in enumerate(phones):
            number = _text(raw, "number", at("phones", str(i), "number"), p, required=True) \
                if isinstance(raw, dict) else p.error(at("phones", str(i)), "phone must be an object")
            if i == 0:
                phone = number or None
        if len(phones) > 1:
            p.warn(at("phones"), "Haven keeps one phone number per organization; the others are dropped")
        return Organization(id=org_id, name=name, description=_text(data, "description", at("description"), p),
                            email=email, website=_web_address(data, "website", at("website"), p), phone=phone)

    def location(self, data, p: _Problems, path: str, *, organization_id: str | None) -> Location | None:
        if not isinstance(data, dict):
            p.error(path, "location must be a JSON object")
            return None
        at = lambda *k: ".".join(x for x in (path, *k) if x)  # noqa: E731
        name = _text(data, "name", at("name"), p, required=True)
        org_id = organization_id
        if data.get("organization_id") not in (None, ""):
            org_id = _canonical_uuid(data["organization_id"])
            if org_id is None:
                p.error(at("organization_id"), f"organization_id must be a UUID: {data['organization_id']!r}")
        if org_id is None:
            p.error(at("organization_id"), "organization_id is required (no organization to attach it to)")
        loc_id = _record_id(data, at("id"), p, org_id or "", "location", name)
        lat, lon = data.get("latitude"), data.get("longitude")
        problem = _check_coordinates(lat, lon)
        if problem:
            p.error(at(problem[0]), problem[1])
            lat = lon = None
        address = Address()
        addresses = _list(data, "addresses", at("addresses"), p)
        if addresses:
            chosen = next((a for a in addresses if isinstance(a, dict) and a.get("address_type") == "physical"),
                          addresses[0])
            i = addresses.index(chosen)
            if not isinstance(chosen, dict):
                p.error(at("addresses", str(i)), "address must be an object")
            else:
                a = lambda k: _text(chosen, k, at("addresses", str(i), k), p)  # noqa: E731
                address = Address(address_1=a("address_1"), city=a("city"),
                                  region=a("state_province") or a("region"), postal_code=a("postal_code"),
                                  country=a("country") or "VN")
            if len(addresses) > 1:
                p.warn(at("addresses"), "Haven keeps one address per location; the others are dropped")
        codes: dict[str, str] = {}
        confidential = False
        said = False  # whether the document states the location's confidentiality
        tz = DEFAULT_TIMEZONE
        for apath, taxonomy, code, value, term_name in _terms(data, at("attributes"), p):
            if taxonomy == TAXONOMY_CONFIDENTIAL:
                said = True
                confidential = str(value).strip().lower() not in ("false", "no", "0")
            elif taxonomy == TAXONOMY_AREA:
                if value not in AREA_LEVELS:
                    p.error(f"{apath}.value", f"area level must be one of {', '.join(AREA_LEVELS)}: {value!r}")
                elif not isinstance(code, str) or not code.strip():
                    p.error(f"{apath}.taxonomy_term.code", "area code is required")
                elif value in codes:
                    p.error(f"{apath}.value", f"two {value} codes for one location")
                else:
                    codes[value] = code.strip()
                    if isinstance(term_name, str) and term_name.strip() and term_name.strip() != code.strip():
                        self.batch.area_names[code.strip()] = term_name.strip()
            elif taxonomy == TAXONOMY_TIMEZONE:
                try:
                    ZoneInfo(str(code))
                    tz = str(code)
                except (ZoneInfoNotFoundError, ValueError):
                    p.error(f"{apath}.taxonomy_term.code", f"unknown time zone: {code!r}")
        if data.get("schedules"):
            p.warn(at("schedules"), "Haven keeps opening hours on the service; location schedules are dropped")
        if org_id is None:
            return None
        self.stated[loc_id] = (said, at("attributes"))
        return Location(id=loc_id, organization_id=org_id, name=name, latitude=lat, longitude=lon,
                        description=_text(data, "description", at("description"), p), address=address,
                        province_code=codes.get("province"), district_code=codes.get("district"),
                        commune_code=codes.get("commune"), confidential=confidential, timezone=tz)

    def service(self, data: dict, p: _Problems, *, organization_id: str | None, parent: Organization | None = None,
                own_locations: dict[str, Location] | None = None):
        at = p.path
        name = _text(data, "name", at("name"), p, required=True)

        # organization: nested, by id, or the parent's
        org = None
        if data.get("organization") is not None:
            org = self.organization(data["organization"], p, at("organization"), derive_from=organization_id or "")
        org_id = organization_id
        if data.get("organization_id") not in (None, ""):
            given = _canonical_uuid(data["organization_id"])
            if given is None:
                p.error(at("organization_id"), f"organization_id must be a UUID: {data['organization_id']!r}")
            elif org_id is not None and given != org_id:
                p.error(at("organization_id"), "organization_id is not the id of the enclosing organization")
            org_id = org_id or given
        if org is not None:
            if org_id is not None and org.id != org_id:
                p.error(at("organization", "id"), "the nested organization's id is not the service's organization_id")
            org_id = org_id or org.id
            if parent is not None:
                org = None  # the enclosing organization is the one that counts
        if org_id is None:
            p.error(at("organization_id"), "organization_id is required")
            org_id = ""
        service_id = _record_id(data, at("id"), p, org_id, "service", name)

        # locations
        locations: list[Location] = []
        location_ids: list[str] = []
        for i, sal in enumerate(_list(data, "service_at_locations", at("service_at_locations"), p)):
            spath = at("service_at_locations", i)
            if not isinstance(sal, dict):
                p.error(spath, "service_at_location must be an object")
                continue
            if sal.get("schedules"):
                p.warn(f"{spath}.schedules", "Haven keeps opening hours on the service; these schedules are dropped")
            if isinstance(sal.get("location"), dict):
                loc = self.location(sal["location"], p, f"{spath}.location", organization_id=org_id or None)
                if loc is None:
                    continue
                if loc.id in self.rejected_locations:
                    p.error(f"{spath}.location.id", "this location was rejected (see its error)")
                locations.append(loc)
                loc_id = loc.id
            else:
                loc_id = _canonical_uuid(sal.get("location_id"))
                if loc_id is None:
                    p.error(f"{spath}.location_id", "a location or a location_id (UUID) is required")
                    continue
                if loc_id in self.rejected_locations:
                    p.error(f"{spath}.location_id", "this location was rejected (see its error)")
            if loc_id not in location_ids:
                location_ids.append(loc_id)
        known = {**self.locations, **(own_locations or {}), **{loc.id: loc for loc in locations}}
        first = known.get(location_ids[0]) if location_ids else None
        local_offset = _utc_offset(first.timezone if first else DEFAULT_TIMEZONE)

        # attributes
        kind = None
        gender = "any"
        capacity = None
        assured_by = None
        closed_on: list[date] = []
        has_haven_terms = False
        for apath, taxonomy, code, value, _ in _terms(data, at("attributes"), p):
            if isinstance(taxonomy, str) and taxonomy.startswith("haven-"):
                has_haven_terms = True
            if taxonomy == TAXONOMY_KIND:
                if code not in self.kinds:
                    p.error(f"{apath}.taxonomy_term.code",
                            f"unknown kind {code!r}; known kinds: {', '.join(sorted(self.kinds))}")
                kind = code
            elif taxonomy == TAXONOMY_GENDER:
                if code not in GENDERS:
                    p.error(f"{apath}.taxonomy_term.code", f"gender must be one of {', '.join(GENDERS)}: {code!r}")
                else:
                    gender = code
            elif taxonomy == TAXONOMY_CAPACITY:
                try:
                    counted = json.loads(value) if isinstance(value, str) else None
                    if not isinstance(counted, dict):
                        raise ValueError(f"capacity must be a JSON object with available and maximum: {value!r}")
                    _check_capacity(counted.get("available"), counted.get("maximum"))
                    stamp = counted.get("updated_at")
                    capacity = Capacity(counted["available"], counted["maximum"],
                                        datetime.fromisoformat(str(stamp)) if stamp else datetime.now(timezone.utc))
                except ValueError as exc:
                    p.error(f"{apath}.value", str(exc))
            elif taxonomy == TAXONOMY_ASSURER:
                if isinstance(value, str) and value.strip():
                    assured_by = value.strip()
            elif taxonomy == TAXONOMY_CLOSED_ON:
                try:
                    closed_on.append(_parse_date(value))
                except ValueError as exc:
                    p.error(f"{apath}.value", str(exc))
        rule = RULE_ATTRIBUTE
        if kind is None:
            terms = _foreign_terms(data)
            choice = self.mappings.kind_for(terms, [code for code, hidden in self.kinds.items() if hidden])
            if choice is not None:
                kind, rule = choice.kind, choice.rule
                if choice.passed_over:
                    p.warn(at("attributes"), f"its taxonomy terms map to {', '.join((kind, *choice.passed_over))}; "
                                             f"{kind} is kept ({rule}; a kind with confidential locations comes "
                                             "first, then the first term)")
            elif self.default_kind is not None:
                kind, rule = self.default_kind, RULE_DEFAULT
            else:
                seen = ", ".join(f"{t.taxonomies[0]}:{t.code}" for t in terms) or "none"
                p.error(at("attributes"), f"no kind: no attribute with taxonomy {TAXONOMY_KIND}, no taxonomy term "
                                          f"in the kind mappings (terms: {seen}), and no default_kind")

        # eligibility
        ages = {}
        for key in ("minimum_age", "maximum_age"):
            if data.get(key) is not None:
                try:
                    ages[key] = _parse_age(data[key], key)
                except ValueError as exc:
                    p.error(at(key), str(exc))
        if len(ages) == 2 and ages["minimum_age"] > ages["maximum_age"]:
            p.error(at("minimum_age"),
                    f"minimum_age ({ages['minimum_age']}) is greater than maximum_age ({ages['maximum_age']})")
        if data.get("eligibility_description") and not has_haven_terms:
            p.warn(at("eligibility_description"), "Haven keeps eligibility as gender and ages; the text is dropped")

        # status, fees, verification
        raw_status = data.get("status", "active")
        status = STATUS_FROM_HSDS.get(raw_status) if isinstance(raw_status, str) else None
        if status is None:
            p.error(at("status"), f"status must be one of {', '.join(STATUS_FROM_HSDS)}: {raw_status!r}")
        elif raw_status == "defunct":
            p.warn(at("status"), "Haven has no 'defunct' status; imported as inactive")
        fees_description = _text(data, "fees_description", at("fees_description"), p)
        cost_options = [c for c in _list(data, "cost_options", at("cost_options"), p) if isinstance(c, dict)]
        if cost_options:
            free = any(_is_number(c.get("amount")) and c["amount"] == 0 for c in cost_options)
        else:
            free = not fees_description
        assured_date = None
        if data.get("assured_date") not in (None, ""):
            try:
                assured_date = _parse_date(data["assured_date"])
            except ValueError as exc:
                p.error(at("assured_date"), str(exc))
        if assured_by is None:
            assured_by = _text(data, "assurer_email", at("assurer_email"), p) or None
        email = _text(data, "email", at("email"), p) or None
        if email and not _is_email(email):
            p.error(at("email"), f"not an e-mail address: {email!r}")
        updated_at = None
        if data.get("last_modified"):
            try:
                updated_at = datetime.fromisoformat(str(data["last_modified"]).replace("Z", "+00:00"))
                if updated_at.tzinfo is None:
                    updated_at = updated_at.replace(tzinfo=timezone.utc)
            except ValueError:
                p.error(at("last_modified"), f"not a date-time: {data['last_modified']!r}")

        # phones, languages, schedules, areas
        phones = []
        for i, raw in enumerate(_list(data, "phones", at("phones"), p)):
            if not isinstance(raw, dict):
                p.error(at("phones", i), "phone must be an object")
                continue
            number = _text(raw, "number", at("phones", i, "number"), p, required=True)
            phones.append(Phone(number, _text(raw, "description", at("phones", i, "description"), p)))
        languages = []
        for i, raw in enumerate(_list(data, "languages", at("languages"), p)):
            code = raw.get("code") if isinstance(raw, dict) else None
            if not isinstance(code, str) or not _LANGUAGE.match(code.strip()):
                p.error(at("languages", i, "code"), f"an ISO 639 language code is required: {code!r}")
            elif code.strip() not in languages:
                languages.append(code.strip())
        always_open, hours = self.schedules(data, p, local_offset)
        areas = []
        for i, raw in enumerate(_list(data, "service_areas", at("service_areas"), p)):
            if not isinstance(raw, dict):
                p.error(at("service_areas", i), "service area must be an object")
                continue
            extent = raw.get("extent")
            if raw.get("extent_type") != "text" or not isinstance(extent, str) or not extent.strip():
                p.warn(at("service_areas", i), "only service areas given as an area code (extent_type text) "
                       "are imported; this one is dropped")
                continue
            code = extent.strip()
            if code not in areas:
                areas.append(code)
            label = raw.get("name")
            if isinstance(label, str) and label.strip() and label.strip() != code:
                self.batch.area_names.setdefault(code, label.strip())

        description = _text(data, "description", at("description"), p)
        url = _web_address(data, "url", at("url"), p)
        if p.errors:
            return None
        service = Service(id=service_id, organization_id=org_id, name=name, kind=kind,
                          description=description, status=status, email=email, url=url, phones=tuple(phones),
                          languages=tuple(languages) if languages else ("vi",), gender=gender,
                          minimum_age=ages.get("minimum_age"), maximum_age=ages.get("maximum_age"),
                          free_of_charge=free, fees_description=fees_description, always_open=always_open,
                          hours=tuple(hours), closed_on=tuple(closed_on), capacity=capacity,
                          assured_date=assured_date, assured_by=assured_by, service_areas=tuple(areas),
                          location_ids=tuple(location_ids))
        if updated_at is not None:
            service = replace(service, updated_at=updated_at)
        return service, org, locations, rule

    def schedules(self, data: dict, p: _Problems, local_offset: float) -> tuple[bool, list[OpeningHours]]:
        always_open = False
        hours = []
        for i, raw in enumerate(_list(data, "schedules", p.path("schedules"), p)):
            path = p.path("schedules", i)
            if not isinstance(raw, dict):
                p.error(path, "schedule must be an object")
                continue
            if any(taxonomy == TAXONOMY_SCHEDULE and code == "always_open"
                   for _, taxonomy, code, _, _ in _terms(raw, f"{path}.attributes", p)):
                always_open = True
                continue
            if raw.get("freq") not in (None, "WEEKLY"):
                p.error(f"{path}.freq", f"only weekly schedules are supported: {raw.get('freq')!r}")
                continue
            zone = raw.get("timezone")
            if zone is not None and (not _is_number(zone) or zone != local_offset):
                p.error(f"{path}.timezone", f"schedule timezone {zone!r} is not the service's UTC offset "
                        f"({local_offset:+g}); give local times")
            byday = raw.get("byday")
            days = [d.strip().upper() for d in byday.split(",")] if isinstance(byday, str) and byday.strip() else []
            bad = [d for d in days if d not in WEEKDAYS]
            if not days or bad:
                p.error(f"{path}.byday", f"byday must list day codes ({','.join(WEEKDAYS)}): {byday!r}")
            times = {}
            for key in ("opens_at", "closes_at"):
                if raw.get(key) in (None, ""):
                    p.error(f"{path}.{key}", f"{key} is required")
                    continue
                try:
                    times[key] = _parse_clock(raw[key], local_offset)
                except ValueError as exc:
                    p.error(f"{path}.{key}", str(exc))
            if days and not bad and len(times) == 2:
                hours.append(OpeningHours(tuple(days), times["opens_at"], times["closes_at"]))
        return always_open, hours


def _is_service(data: dict) -> bool:
    """A service, or an organization? (Services require a status, organizations do not have one.)"""
    if "services" in data or "locations" in data:
        return False
    if any(k in data for k in ("status", "service_at_locations", "organization", "organization_id",
                               "schedules", "service_areas")):
        return True
    attributes = data.get("attributes")
    return isinstance(attributes, list) and any(
        isinstance(a, dict) and isinstance(a.get("taxonomy_term"), dict)
        and a["taxonomy_term"].get("taxonomy") == TAXONOMY_KIND for a in attributes)


def parse_hsds(document, *, kinds: Iterable[Kind | str] | None = None, default_kind: str | None = None,
               mappings: KindMappings | None = None) -> ImportBatch:
    """Read HSDS 3.0 JSON (already decoded) into Haven records; see the module docstring.

    `kinds` are the kinds the installation knows (default: BASE_KINDS). A service without a
    ``haven-kind`` attribute (a document not produced by Haven) gets the kind `mappings`
    give one of its taxonomy terms, else `default_kind`, else it is an error."""
    return _Importer(kinds, default_kind, mappings).run(document)


# --------------------------------------------------------------------------- CSV import


CSV_COLUMNS = ("organization_name", "organization_id", "service_id", "service_name", "kind", "description",
               "phone", "email", "language", "gender", "minimum_age", "maximum_age", "always_open", "hours",
               "location_name", "address", "province_code", "district_code", "commune_code", "latitude",
               "longitude", "confidential", "capacity_available", "capacity_maximum", "assured_date",
               "assured_by", "service_areas")
CSV_REQUIRED = ("organization_name", "service_name", "kind")
_YES = {"yes", "y", "true", "1", "x", "có", "co"}
_NO = {"no", "n", "false", "0", "không", "khong", ""}
_GENDER_ALIASES = {"": "any", "any": "any", "all": "any", "tất cả": "any", "female": "female", "f": "female",
                   "nữ": "female", "women": "female", "male": "male", "m": "male", "nam": "male", "men": "male"}
_DAY_RANGE = re.compile(r"^([A-Z]{2})(?:\s*[-–]\s*([A-Z]{2}))?$")
_TIME_RANGE = re.compile(r"^(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$")


def _yes_no(value: str, column: str) -> bool | None:
    text = value.strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{column} must be yes or no: {value!r}")


def _csv_kind(value: str, kinds: dict[str, bool]) -> str:
    text = value.strip()
    if text in kinds:
        return text
    folded = text.casefold()
    for code, (vi, en, _) in BASE_KINDS.items():
        if code in kinds and folded in (code, vi.casefold(), en.casefold()):
            return code
    raise ValueError(f"unknown kind {text!r}; known kinds: {', '.join(sorted(kinds))}")


def _csv_hours(value: str) -> tuple[bool, list[OpeningHours]]:
    text = value.strip()
    if not text:
        return False, []
    if text.replace(" ", "") == "24/7":
        return True, []
    hours = []
    for group in (g.strip() for g in text.split(";")):
        if not group:
            continue
        parts = group.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"expected 'DAYS HH:MM-HH:MM' in {group!r}")
        dayspec, timespec = parts[0].upper(), parts[1]
        days: list[str] = []
        for item in dayspec.split(","):
            match = _DAY_RANGE.match(item.strip())
            if not match or match[1] not in WEEKDAYS or (match[2] and match[2] not in WEEKDAYS):
                raise ValueError(f"not a day or day range ({'/'.join(WEEKDAYS)}): {item!r}")
            start = WEEKDAYS.index(match[1])
            end = WEEKDAYS.index(match[2]) if match[2] else start
            for step in range((end - start) % 7 + 1):
                day = WEEKDAYS[(start + step) % 7]
                if day not in days:
                    days.append(day)
        for item in timespec.split(","):
            match = _TIME_RANGE.match(item.strip())
            if not match:
                raise ValueError(f"not a time range (HH:MM-HH:MM): {item.strip()!r}")
            opens, closes = (_parse_clock(t, 0) for t in (match[1], match[2]))
            hours.append(OpeningHours(tuple(days), opens, closes))
    return False, hours


def _csv_number(value: str) -> float:
    text = value.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def _csv_date(value: str) -> date:
    text = value.strip()
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD or DD/MM/YYYY): {value!r}") from None


def _csv_code(value: str, level: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    if text.endswith(".0") and text[:-2].isdigit():  # a spreadsheet that saw a number
        text = text[:-2]
    if not text.isdigit():
        raise ValueError(f"{level} code must be digits: {value!r}")
    return text.zfill(CODE_WIDTH[level])


def parse_csv(source: str | TextIO, *, kinds: Iterable[Kind | str] | None = None) -> ImportBatch:
    """Read the provincial spreadsheet format (see the module docstring) into Haven records.
    `source` is the text, or a text stream (an upload read as it arrives; a byte-order mark
    is the stream's decoder's to drop)."""
    batch = ImportBatch()
    known_kinds = _kind_table(kinds)
    reader = csv.reader(io.StringIO(source.lstrip("\ufeff")) if isinstance(source, str) else source)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a cell beyond the csv module's limit, a NUL byte...
        batch.errors.append(RecordError(reader.line_num, None, "", f"the file cannot be read as CSV: {exc}"))
        return batch
    if not rows:
        batch.errors.append(RecordError(1, None, "", "the file is empty: a header row is required"))
        return batch
    header = [h.strip().casefold() for h in rows[0]]
    missing = [c for c in CSV_REQUIRED if c not in header]
    for column in missing:
        batch.errors.append(RecordError(1, None, column, f"missing column {column}"))
    for column in header:
        if column and column not in CSV_COLUMNS:
            batch.warnings.append(RecordError(1, None, column, f"unknown column {column} is ignored"))
    if missing:
        return batch
    organizations: dict[str, Organization] = {}
    locations: dict[str, Location] = {}
    services: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        row = {column: (cells[i].strip() if i < len(cells) else "") for i, column in enumerate(header) if column}
        get = lambda column: row.get(column, "")  # noqa: E731
        errors: list[tuple[str, str]] = []

        def attempt(column, parse, *args):
            try:
                return parse(*args)
            except ValueError as exc:
                errors.append((column, str(exc)))
                return None

        def ident(column):
            if not get(column):
                return None
            value = _canonical_uuid(get(column))
            if value is None:
                errors.append((column, f"{column} must be a UUID: {get(column)!r}"))
            return value

        org_name, service_name = get("organization_name"), get("service_name")
        for column, value in (("organization_name", org_name), ("service_name", service_name)):
            if not value:
                errors.append((column, f"{column} is required"))
        org_id = ident("organization_id") or _derived_id("organization", org_name)
        given_service_id = ident("service_id")
        kind = None
        if not get("kind"):
            errors.append(("kind", "kind is required"))
        else:
            kind = attempt("kind", _csv_kind, get("kind"), known_kinds)
        email = get("email") or None
        if email and not _is_email(email):
            errors.append(("email", f"not an e-mail address: {email!r}"))
        languages = tuple(dict.fromkeys(c.strip() for c in get("language").split(";") if c.strip())) or ("vi",)
        for code in languages:
            if not _LANGUAGE.match(code):
                errors.append(("language", f"not an ISO 639 language code: {code!r}"))
        gender = _GENDER_ALIASES.get(get("gender").casefold())
        if gender is None:
            errors.append(("gender", f"gender must be any, female or male: {get('gender')!r}"))
        ages = {}
        for column in ("minimum_age", "maximum_age"):
            if get(column):
                age = attempt(column, _parse_age, get(column), column)
                if age is not None:
                    ages[column] = age
        if len(ages) == 2 and ages["minimum_age"] > ages["maximum_age"]:
            errors.append(("minimum_age", f"minimum_age ({ages['minimum_age']}) is greater than "
                                          f"maximum_age ({ages['maximum_age']})"))
        always_open = attempt("always_open", _yes_no, get("always_open"), "always_open")
        parsed_hours = attempt("hours", _csv_hours, get("hours")) or (False, [])
        coordinates = {}
        for column in ("latitude", "longitude"):
            if get(column):
                try:
                    coordinates[column] = _csv_number(get(column))
                except ValueError:
                    errors.append((column, f"{column} must be a decimal number: {get(column)!r}"))
        problem = None
        if not any(column in ("latitude", "longitude") for column, _ in errors):
            problem = _check_coordinates(coordinates.get("latitude"), coordinates.get("longitude"))
            if problem:
                errors.append(problem)
        codes = {level: attempt(f"{level}_code", _csv_code, get(f"{level}_code"), level) for level in AREA_LEVELS}
        confidential = attempt("confidential", _yes_no, get("confidential"), "confidential") \
            if get("confidential") else (known_kinds.get(kind, False) if kind else False)
        capacity = None
        if get("capacity_available") or get("capacity_maximum"):
            try:
                values = [get("capacity_available"), get("capacity_maximum")]
                if not all(re.fullmatch(r"\d+", v) for v in values):
                    raise ValueError("capacity_available and capacity_maximum must both be whole numbers >= 0")
                _check_capacity(int(values[0]), int(values[1]))
                capacity = Capacity(int(values[0]), int(values[1]))
            except ValueError as exc:
                errors.append(("capacity_available", str(exc)))
        assured_date = attempt("assured_date", _csv_date, get("assured_date")) if get("assured_date") else None
        areas = tuple(dict.fromkeys(c.strip() for c in get("service_areas").split(";") if c.strip()))

        location = None
        has_location = any(get(c) for c in ("location_name", "address", "latitude", "longitude", "province_code",
                                            "district_code", "commune_code"))
        if has_location:
            loc_name = get("location_name") or get("address")
            if not loc_name:
                errors.append(("location_name", "location_name (or address) is required when a location is given"))
            location = Location(id=_derived_id(org_id, "location", loc_name, get("address")), organization_id=org_id,
                                name=loc_name, latitude=coordinates.get("latitude") if not problem else None,
                                longitude=coordinates.get("longitude") if not problem else None,
                                address=Address(address_1=get("address")), province_code=codes["province"],
                                district_code=codes["district"], commune_code=codes["commune"],
                                confidential=bool(confidential))
        service_id = given_service_id or _derived_id(org_id, "service", service_name,
                                                     location.id if location else "")
        if not errors and service_id in services:
            errors.append(("service_id" if given_service_id else "service_name",
                           f"the same service as row {services[service_id]}"))
        if errors:
            batch.errors.extend(RecordError(number, given_service_id, column, message) for column, message in errors)
            continue
        services[service_id] = number
        organization = Organization(id=org_id, name=org_name)
        if org_id not in organizations:
            organizations[org_id] = organization
            batch.organizations.append(organization)
        elif organizations[org_id].name != org_name:
            batch.warnings.append(RecordError(number, given_service_id, "organization_name",
                                              f"organization {org_id} is named {organizations[org_id].name!r} "
                                              "on an earlier row; that name is kept"))
        if location is not None and location.id not in locations:
            locations[location.id] = location
            batch.locations.append(location)
            if get("confidential"):
                batch.confidentiality_given.add(location.id)
        elif location is not None and not _same(locations[location.id], location):
            batch.warnings.append(RecordError(number, given_service_id, "location_name",
                                              "this location is described differently on an earlier row; "
                                              "that description is kept"))
        batch.services.append(Service(
            id=service_id, organization_id=org_id, name=service_name, kind=kind, description=get("description"),
            email=email, phones=tuple(Phone(n.strip()) for n in get("phone").split(";") if n.strip()),
            languages=languages, gender=gender, minimum_age=ages.get("minimum_age"),
            maximum_age=ages.get("maximum_age"), always_open=bool(always_open) or parsed_hours[0],
            hours=tuple(parsed_hours[1]), capacity=capacity, assured_date=assured_date,
            assured_by=get("assured_by") or None, service_areas=areas,
            location_ids=(location.id,) if location else ()))
        batch.kind_sources.append(KindSource(number, service_id, kind, "kind column"))
    return batch
