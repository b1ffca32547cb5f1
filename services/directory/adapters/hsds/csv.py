"""The provincial spreadsheet format (CSV) -> Haven records.

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
import re
from collections.abc import Iterable
from datetime import date
from typing import TextIO

from ...domain.model import (AREA_LEVELS, BASE_KINDS, WEEKDAYS, Address, Capacity, Kind, Location, OpeningHours,
                             Organization, Phone, Service)
from .batch import ImportBatch, KindSource, RecordError
from .fields import derived_id
from .values import (LANGUAGE_CODE, canonical_uuid, check_capacity, check_coordinates, is_email, kind_table,
                     parse_age, parse_clock, same_record)

CSV_COLUMNS = ("organization_name", "organization_id", "service_id", "service_name", "kind", "description",
               "phone", "email", "language", "gender", "minimum_age", "maximum_age", "always_open", "hours",
               "location_name", "address", "province_code", "district_code", "commune_code", "latitude",
               "longitude", "confidential", "capacity_available", "capacity_maximum", "assured_date",
               "assured_by", "service_areas")
CSV_REQUIRED = ("organization_name", "service_name", "kind")
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}
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
            opens, closes = (parse_clock(t, 0) for t in (match[1], match[2]))
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
    known_kinds = kind_table(kinds)
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
            value = canonical_uuid(get(column))
            if value is None:
                errors.append((column, f"{column} must be a UUID: {get(column)!r}"))
            return value

        org_name, service_name = get("organization_name"), get("service_name")
        for column, value in (("organization_name", org_name), ("service_name", service_name)):
            if not value:
                errors.append((column, f"{column} is required"))
        org_id = ident("organization_id") or derived_id("organization", org_name)
        given_service_id = ident("service_id")
        kind = None
        if not get("kind"):
            errors.append(("kind", "kind is required"))
        else:
            kind = attempt("kind", _csv_kind, get("kind"), known_kinds)
        email = get("email") or None
        if email and not is_email(email):
            errors.append(("email", f"not an e-mail address: {email!r}"))
        languages = tuple(dict.fromkeys(c.strip() for c in get("language").split(";") if c.strip())) or ("vi",)
        for code in languages:
            if not LANGUAGE_CODE.match(code):
                errors.append(("language", f"not an ISO 639 language code: {code!r}"))
        gender = _GENDER_ALIASES.get(get("gender").casefold())
        if gender is None:
            errors.append(("gender", f"gender must be any, female or male: {get('gender')!r}"))
        ages = {}
        for column in ("minimum_age", "maximum_age"):
            if get(column):
                age = attempt(column, parse_age, get(column), column)
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
            problem = check_coordinates(coordinates.get("latitude"), coordinates.get("longitude"))
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
                check_capacity(int(values[0]), int(values[1]))
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
            location = Location(id=derived_id(org_id, "location", loc_name, get("address")), organization_id=org_id,
                                name=loc_name, latitude=coordinates.get("latitude") if not problem else None,
                                longitude=coordinates.get("longitude") if not problem else None,
                                address=Address(address_1=get("address")), province_code=codes["province"],
                                district_code=codes["district"], commune_code=codes["commune"],
                                confidential=bool(confidential))
        service_id = given_service_id or derived_id(org_id, "service", service_name,
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
        elif location is not None and not same_record(locations[location.id], location):
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
