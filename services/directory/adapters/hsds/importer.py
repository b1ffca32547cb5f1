"""Open Referral HSDS 3.0 -> Haven records (the mapping is in the package docstring).

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
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.kind_mappings import KindMappings, Term
from ...domain.model import (AREA_LEVELS, DEFAULT_TIMEZONE, GENDERS, WEEKDAYS, Address, Capacity, Kind, Location,
                             OpeningHours, Organization, Phone, Service)
from .batch import ImportBatch, KindSource, RecordError
from .fields import (STATUS_FROM_HSDS, TAXONOMY_AREA, TAXONOMY_ASSURER, TAXONOMY_CAPACITY, TAXONOMY_CLOSED_ON,
                     TAXONOMY_CONFIDENTIAL, TAXONOMY_GENDER, TAXONOMY_KIND, TAXONOMY_SCHEDULE, TAXONOMY_TIMEZONE,
                     derived_id, utc_offset)
from .values import (LANGUAGE_CODE, canonical_uuid, check_capacity, check_coordinates, is_email, is_number,
                     kind_table, parse_age, parse_clock, same_record)


def _parse_date(value) -> date:
    if not isinstance(value, str):
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}")
    text = value.strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 and text[4] == "-" else date.fromisoformat(text)
    except (ValueError, IndexError):
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


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
        return derived_id(*derive_from)
    canonical = canonical_uuid(raw)
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
        self.kinds = kind_table(kinds)
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
        elif not same_record(known, item):
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
                    self.rejected_locations.add(canonical_uuid(rid) or rid)
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
        if email and not is_email(email):
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
            org_id = canonical_uuid(data["organization_id"])
            if org_id is None:
                p.error(at("organization_id"), f"organization_id must be a UUID: {data['organization_id']!r}")
        if org_id is None:
            p.error(at("organization_id"), "organization_id is required (no organization to attach it to)")
        loc_id = _record_id(data, at("id"), p, org_id or "", "location", name)
        lat, lon = data.get("latitude"), data.get("longitude")
        problem = check_coordinates(lat, lon)
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
            given = canonical_uuid(data["organization_id"])
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
                loc_id = canonical_uuid(sal.get("location_id"))
                if loc_id is None:
                    p.error(f"{spath}.location_id", "a location or a location_id (UUID) is required")
                    continue
                if loc_id in self.rejected_locations:
                    p.error(f"{spath}.location_id", "this location was rejected (see its error)")
            if loc_id not in location_ids:
                location_ids.append(loc_id)
        known = {**self.locations, **(own_locations or {}), **{loc.id: loc for loc in locations}}
        first = known.get(location_ids[0]) if location_ids else None
        local_offset = utc_offset(first.timezone if first else DEFAULT_TIMEZONE)

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
                    check_capacity(counted.get("available"), counted.get("maximum"))
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
                    ages[key] = parse_age(data[key], key)
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
            free = any(is_number(c.get("amount")) and c["amount"] == 0 for c in cost_options)
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
        if email and not is_email(email):
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
            if not isinstance(code, str) or not LANGUAGE_CODE.match(code.strip()):
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
            if zone is not None and (not is_number(zone) or zone != local_offset):
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
                    times[key] = parse_clock(raw[key], local_offset)
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
