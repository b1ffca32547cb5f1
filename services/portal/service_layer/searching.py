"""Finding services for a survivor: the search page's filters become a directory query, and
the directory's hits become what a caseworker reads (open now? free places? how far?).

Plain values in, plain values out: no Flask here. Problems with the filters come back as
codes per field (`radius: not_a_number`); the page words them in the person's language.
The query text goes to the directory untouched: the directory folds diacritics itself
("nha tam lanh" finds "Nhà tạm lánh"), and a portal that "cleaned" it would only lose letters.
"""
from __future__ import annotations

import html
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Mapping

from ..domain.opening_hours import OpenState, Schedule
from .ports import ServiceApi

# Ten services a page: on a 360 px phone that is already several screens, the nearest ten
# are the ones she calls first, and the page stays light on a weak signal; "Next page"
# brings the rest.
PER_PAGE = 10
SORTS = ("relevance", "distance", "name")
GENDERS = ("female", "male")
OPEN_CHOICES = ("now", "at")
RADIUS_MAX_KM = 2000
REFERENCE_SECONDS = 300  # kinds and areas change a few times a year; a search should not ask for them each time
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_AREA_CODE = re.compile(r"^[0-9A-Za-z]{1,20}$")  # as the directory's codes are
_OPEN_AT = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


# --- filters ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchFilters:
    """What the caseworker asked for, as it lives in the page's query string."""
    q: str = ""
    kinds: tuple[str, ...] = ()
    province: str = ""
    area: str = ""  # a district or commune of the province
    lat: float | None = None  # "near me": the browser's location
    lon: float | None = None
    near_area: str = ""  # "near a commune": its code (the link stays readable), searched around its centre
    centre: tuple[float, float] | None = None  # the near_area's centre, once the directory's list named it
    near_name: str = ""  # the near_area's name, for "within 10 km of Phường Ngọc Hà"
    radius: str = ""  # as typed, so a mistake is shown back as it was
    radius_km: float | None = None
    sort: str = ""  # "" is the default order: nearest first near a place, best match otherwise
    open: str = ""  # "", "now" or "at"
    at: str = ""  # as typed (a datetime-local value), Vietnam time
    open_at: datetime | None = None  # naive: the directory reads it as Vietnam time
    free: bool = False
    languages: tuple[str, ...] = ()
    age_text: str = ""
    age: int | None = None
    gender: str = ""
    page: int = 1
    re_refer: str = ""  # a declined referral being sent on again (its id only: no personal data)

    @property
    def near_me(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def near(self) -> bool:
        """Distances are measured: from her location or from a chosen commune's centre."""
        return self.near_me or bool(self.near_area)

    @property
    def origin(self) -> tuple[float, float] | None:
        """Where distances are measured from (a commune not yet looked up has none)."""
        if self.near_area:
            return self.centre
        return (self.lat, self.lon) if self.near_me else None  # type: ignore[return-value]

    @property
    def order(self) -> str:
        """The order the directory is asked for: near a place, the nearest first unless she
        chose another; a distance order without a place is dropped (a stale link)."""
        if not self.sort:
            return "distance" if self.near else "relevance"
        return "relevance" if self.sort == "distance" and not self.near else self.sort

    @property
    def searched(self) -> bool:
        """Whether the person asked anything yet (a first visit shows the form only)."""
        return bool(self.q or self.kinds or self.province or self.area or self.near or self.open or self.free
                    or self.languages or self.age_text or self.gender or self.radius)

    @property
    def narrowed(self) -> list[str]:
        """Which filters narrow the search, for "try without…" advice on an empty page."""
        names = []
        for name, on in (("kind", self.kinds), ("area", self.province or self.area), ("near", self.near),
                         ("open", self.open), ("free", self.free), ("language", self.languages),
                         ("age", self.age is not None), ("gender", self.gender)):
            if on:
                names.append(name)
        return names


def _first(args: Mapping[str, list[str]], name: str) -> str:
    values = args.get(name) or []
    return str(values[0]).strip() if values else ""


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))  # Vietnamese write 2,5
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_filters(args: Mapping[str, list[str]]) -> tuple[SearchFilters, dict[str, str]]:
    """The filters of a query string (name -> values), and a problem code per field that
    could not be read. What could be read is kept; a bad field is left out of the search."""
    problems: dict[str, str] = {}
    q = _first(args, "q")[:200]
    kinds = tuple(dict.fromkeys(k.strip() for k in args.get("kind") or [] if k.strip()))
    languages = tuple(dict.fromkeys(x.strip() for x in args.get("language") or [] if x.strip()))
    if any(not _LANGUAGE.match(x) for x in languages):
        problems["language"] = "unknown_language"
        languages = tuple(x for x in languages if _LANGUAGE.match(x))

    lat, lon = _number(_first(args, "lat")), _number(_first(args, "lon"))
    if (_first(args, "lat") or _first(args, "lon")) and (
            lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180):
        problems["near"] = "bad_location"
        lat = lon = None

    near_area = _first(args, "near_area")
    if near_area:
        lat = lon = None  # a chosen commune wins over a location left in the form from before
        problems.pop("near", None)
        if not _AREA_CODE.match(near_area):
            problems["near_area"] = "unknown_place"
            near_area = near_area[:20]  # shown back, never searched

    radius = _first(args, "radius")
    radius_km = None
    if radius:
        radius_km = _number(radius)
        if radius_km is None:
            problems["radius"] = "not_a_number"
        elif not 0 < radius_km <= RADIUS_MAX_KM:
            problems["radius"] = "radius_out_of_range"
            radius_km = None
        elif lat is None and not near_area:
            problems["radius"] = "radius_needs_location"
            radius_km = None

    sort = _first(args, "sort")
    if sort not in SORTS or (sort == "distance" and lat is None and not near_area) \
            or (sort == "relevance" and lat is None and not near_area):
        sort = ""  # the default order (a stale link's sort is not worth an error)

    opening = _first(args, "open")
    if opening not in OPEN_CHOICES:
        opening = ""
    at = _first(args, "at")
    open_at = None
    if opening == "at":
        open_at = _moment(at)
        if open_at is None:
            problems["at"] = "bad_time" if at else "time_needed"

    age_text = _first(args, "age")
    age = None
    if age_text:
        if age_text.isdigit() and int(age_text) <= 150:
            age = int(age_text)
        else:
            problems["age"] = "bad_age"

    gender = _first(args, "gender")
    if gender and gender not in GENDERS:
        problems["gender"] = "unknown_gender"
        gender = ""

    page_text = _first(args, "page")
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) <= 10000 else 1

    re_refer = _first(args, "re_refer")
    try:
        re_refer = str(uuid.UUID(re_refer)) if re_refer else ""
    except ValueError:
        re_refer = ""  # not a referral id: the page is a plain search

    filters = SearchFilters(
        q=q, kinds=kinds, province=_first(args, "province"), area=_first(args, "area"), lat=lat, lon=lon,
        near_area=near_area, radius=radius, radius_km=radius_km, sort=sort, open=opening, at=at, open_at=open_at,
        free=_first(args, "free") in ("1", "on", "true", "yes"), languages=languages, age_text=age_text, age=age,
        gender=gender, page=page, re_refer=re_refer)
    return filters, problems


def _moment(text: str) -> datetime | None:
    for pattern in _OPEN_AT:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment if 1900 <= moment.year <= 2200 else None
    return None


def link_args(filters: SearchFilters, **changes) -> list[tuple[str, str]]:
    """The query string of these filters (with `changes`), as typed: a link a colleague
    can open, and one Back returns to. Empty values are left out (short URLs)."""
    values: dict[str, Any] = {
        "q": filters.q, "kind": list(filters.kinds), "province": filters.province, "area": filters.area,
        "lat": "" if filters.lat is None else f"{filters.lat:.5f}",
        "lon": "" if filters.lon is None else f"{filters.lon:.5f}", "near_area": filters.near_area,
        "radius": filters.radius, "sort": filters.sort,
        "open": filters.open, "at": filters.at if filters.open == "at" else "", "free": "1" if filters.free else "",
        "language": list(filters.languages), "age": filters.age_text, "gender": filters.gender,
        "page": "" if filters.page == 1 else str(filters.page), "re_refer": filters.re_refer,
    }
    values.update(changes)
    pairs = []
    for name, value in values.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            if one not in ("", None):
                pairs.append((name, str(one)))
    return pairs


# --- areas -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str  # province, district or commune
    parent: str | None = None
    centre: tuple[float, float] | None = None  # (lat, lon) to search near, when the directory knows it


def _centre(value: Any) -> tuple[float, float] | None:
    """The directory's `centre: {latitude, longitude}` (or null), read without trusting it."""
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("latitude"), value.get("longitude")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (lat, lon)):
        return None
    return (float(lat), float(lon)) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


class AreaTree:
    """The directory's administrative areas as a hierarchy: two-tier (province → commune,
    since 2025) and older three-tier (province → district → commune) records both fit."""

    def __init__(self, areas: list[Area]):
        self.by_code = {a.code: a for a in areas}
        self.children: dict[str | None, list[Area]] = {}
        for area in areas:
            self.children.setdefault(area.parent, []).append(area)
        for found in self.children.values():
            found.sort(key=lambda a: a.name)
        self._places: list | None = None  # the tree never changes: computed once

    @classmethod
    def of(cls, body: list) -> "AreaTree":
        return cls([Area(str(a.get("code")), str(a.get("name") or a.get("code")), str(a.get("level") or ""),
                         a.get("parent_code"), _centre(a.get("centre")))
                    for a in body or [] if isinstance(a, dict) and a.get("code")])

    def provinces(self) -> list[Area]:
        return [a for a in self.children.get(None, []) if a.level == "province"]

    def province_of(self, code: str) -> str | None:
        area = self.by_code.get(code)
        while area is not None and area.level != "province":
            area = self.by_code.get(area.parent or "")
        return area.code if area else None

    def places(self) -> list[tuple[Area, list[tuple[str, str]]]]:
        """The districts and communes a search can be "near" (those with a centre), by
        province, as (code, words) options: a district, then its communes named with it
        ("Phường Ngọc Hà, Quận Ba Đình": two communes of one name in two districts differ)."""
        if self._places is None:
            self._places = self._near_places()
        return self._places

    def _near_places(self) -> list[tuple[Area, list[tuple[str, str]]]]:
        found = []
        for province in self.provinces():
            options = []
            for district, communes in self.within(province.code):
                if district is not None and district.centre:
                    options.append((district.code, district.name))
                options += [(c.code, f"{c.name}, {district.name}" if district is not None else c.name)
                            for c in communes if c.centre]
            if options:
                found.append((province, options))
        return found

    def within(self, province: str) -> list[tuple[Area, list[Area]]]:
        """The districts of a province with their communes, and its communes directly under
        it (two-tier data) as a group of their own (None, communes) — first."""
        groups: list[tuple[Area, list[Area]]] = []
        direct = [a for a in self.children.get(province, []) if a.level == "commune"]
        if direct:
            groups.append((None, direct))  # type: ignore[arg-type]
        for child in self.children.get(province, []):
            if child.level == "district":
                groups.append((child, [a for a in self.children.get(child.code, []) if a.level == "commune"]))
        return groups


def directory_query(filters: SearchFilters, tree: AreaTree | None) -> dict[str, Any]:
    """The directory's /v1/search parameters for these filters (lists repeat the name)."""
    params: dict[str, Any] = {"page": filters.page, "per_page": PER_PAGE}
    if filters.q:
        params["q"] = filters.q
    if filters.kinds:
        params["kind"] = list(filters.kinds)
    if filters.province:
        params["province"] = filters.province
    if filters.area:
        area = tree.by_code.get(filters.area) if tree else None
        if area is not None and area.level in ("district", "commune"):
            params[area.level] = area.code
    origin = filters.origin
    if origin is not None:
        params["lat"], params["lon"] = origin
        if filters.radius_km is not None:
            params["radius_km"] = filters.radius_km
    order = filters.order if origin is not None or filters.order != "distance" else "relevance"
    if order != "relevance":
        params["sort"] = order
    if filters.open == "now":
        params["open_now"] = "true"
    elif filters.open == "at" and filters.open_at is not None:
        params["open_at"] = filters.open_at.strftime("%Y-%m-%dT%H:%M:%S")
    if filters.free:
        params["has_capacity"] = "true"
    if filters.languages:
        params["language"] = list(filters.languages)
    if filters.age is not None:
        params["age"] = filters.age
    if filters.gender:
        params["gender"] = filters.gender
    return params


# --- what a page shows -----------------------------------------------------------------

def marked_parts(highlight: str | None) -> list[tuple[str, bool]]:
    """The directory's highlight (escaped text with <mark> around matching words) as plain
    text pieces, each marked or not. The page escapes each piece itself: nothing the API
    sent is ever put into the page as HTML."""
    if not highlight:
        return []
    parts: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(r"</?mark>", highlight)):
        if piece:
            parts.append((html.unescape(piece), i % 2 == 1))
    return parts


def excerpt(parts: list[tuple[str, bool]], width: int = 160) -> list[tuple[str, bool]]:
    """About `width` characters around the first match of a long text (a description)."""
    total = sum(len(t) for t, _ in parts)
    if total <= width:
        return parts
    before = 0
    for text, marked in parts:
        if marked:
            break
        before += len(text)
    start = max(0, before - width // 3)
    end = start + width
    shown, position = [], 0
    for text, marked in parts:
        lo, hi = max(start, position), min(end, position + len(text))
        if lo < hi:
            shown.append((text[lo - position:hi - position], marked))
        position += len(text)
    if start > 0:
        shown.insert(0, ("…", False))
    if end < total:
        shown.append(("…", False))
    return shown


@dataclass
class Place:
    """A location as this person may learn it."""
    name: str
    street: str  # "" when confidential and not disclosed to this person
    areas: list[str]  # area names, most local first
    confidential: bool
    disclosed: bool  # a confidential address this person may see (do not pass it on)


@dataclass
class Result:
    id: str
    name: list[tuple[str, bool]]
    organization: list[tuple[str, bool]]
    kind: str
    distance_km: float | None
    opening: OpenState
    free_places: int | None
    places_total: int | None
    counted_at: str | None
    stale: bool
    matches: list[list[tuple[str, bool]]]  # other highlighted fields (a description's excerpt)
    phones: list[dict]
    places: list[Place]
    confidential: bool
    status: str


@dataclass
class FacetEntry:
    code: str
    count: int
    label: str  # the area's name; "" for kinds and languages (the page words those)
    args: list[tuple[str, str]]  # the search with this value chosen
    chosen: bool


@dataclass
class SearchPage:
    filters: SearchFilters
    problems: dict[str, str] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    total: int = 0
    pages: int = 0
    facets: dict[str, list[FacetEntry]] = field(default_factory=dict)
    kinds: list[dict] = field(default_factory=list)
    tree: AreaTree | None = None
    down: bool = False  # the directory did not answer


def places_of(locations: list, area_names: Mapping) -> list[Place]:
    found = []
    for loc in locations or []:
        address = loc.get("address") or {}
        names = [str(area_names[c]) for c in (loc.get("commune_code"), loc.get("district_code"),
                                              loc.get("province_code")) if c and c in area_names]
        if not names:  # no coded areas: the address's own city and region say where
            names = [str(address[k]) for k in ("city", "region") if address.get(k)]
        street = str(address.get("address_1") or "")
        confidential = bool(loc.get("confidential"))
        found.append(Place(name=str(loc.get("name") or ""), street=street, areas=names, confidential=confidential,
                           disclosed=confidential and bool(street or loc.get("latitude") is not None)))
    return found


def result_of(hit: Mapping, now: datetime) -> Result:
    service = hit.get("service") or {}
    organization = hit.get("organization") or {}
    highlights = hit.get("highlights") or {}
    capacity = service.get("capacity") or None
    locations = hit.get("locations") or []
    timezone = next((loc.get("timezone") for loc in locations if loc.get("timezone")), None)
    # Other matching fields (a description, a location's name), unless they only repeat
    # the name or the organization already shown.
    shown = {str(service.get("name") or ""), str(organization.get("name") or "")}
    matches = [excerpt(parts) for key, text in highlights.items()
               if key not in ("service.name", "organization.name")
               for parts in [marked_parts(text)] if "".join(t for t, _ in parts) not in shown]
    places = places_of(locations, hit.get("area_names") or {})
    return Result(
        id=str(service.get("id")),
        name=marked_parts(highlights.get("service.name")) or [(str(service.get("name") or ""), False)],
        organization=marked_parts(highlights.get("organization.name")) or [(str(organization.get("name") or ""),
                                                                            False)],
        kind=str(service.get("kind") or ""), distance_km=hit.get("distance_km"),
        opening=Schedule.of(service, timezone).state_at(now),
        free_places=capacity.get("available") if capacity else None,
        places_total=capacity.get("maximum") if capacity else None,
        counted_at=capacity.get("updated_at") if capacity else None,
        stale=bool(hit.get("stale") or service.get("stale")), matches=[m for m in matches if m],
        phones=[p for p in service.get("phones") or [] if p.get("number")], places=places,
        confidential=any(p.confidential for p in places), status=str(service.get("status") or "active"))


def facets_of(body: Mapping, filters: SearchFilters, tree: AreaTree | None) -> dict[str, list[FacetEntry]]:
    """The directory's counts per kind, district and language, each a link that narrows the
    search to it (and keeps everything else; back to page 1)."""
    found: dict[str, list[FacetEntry]] = {}
    raw = body.get("facets") or {}
    for code, count in sorted((raw.get("kind") or {}).items(), key=lambda x: -x[1]):
        found.setdefault("kind", []).append(FacetEntry(code, count, "", link_args(filters, kind=[code], page=""),
                                                       code in filters.kinds))
    for code, count in sorted((raw.get("district") or {}).items(), key=lambda x: -x[1]):
        area = tree.by_code.get(code) if tree else None
        if area is None:
            continue  # an area the reference list does not name: no words to show it with
        province = tree.province_of(code) or ""
        found.setdefault("district", []).append(FacetEntry(
            code, count, area.name, link_args(filters, province=province, area=code, page=""),
            filters.area == code))
    for code, count in sorted((raw.get("language") or {}).items(), key=lambda x: -x[1]):
        found.setdefault("language", []).append(FacetEntry(
            code, count, "", link_args(filters, language=[code], page=""), code in filters.languages))
    return found


# --- the use case ----------------------------------------------------------------------

class Searching:
    def __init__(self, directory: ServiceApi, clock: Callable[[], float] = time.monotonic,
                 reference_seconds: float = REFERENCE_SECONDS):
        self.directory = directory
        self.clock = clock
        self.reference_seconds = reference_seconds
        self._reference: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, path: str, build: Callable[[Any], Any]):
        now = self.clock()
        with self._lock:
            kept = self._reference.get(path)
        if kept and now - kept[0] < self.reference_seconds:
            return kept[1]
        try:
            value = build(self.directory.get(path, None).body)
        except Exception:
            if kept:  # the directory is down: yesterday's list of provinces is still right
                return kept[1]
            raise
        with self._lock:
            self._reference[path] = (now, value)
        return value

    def kinds(self) -> list[dict]:
        return self._cached("/v1/kinds", lambda body: [k for k in body or [] if isinstance(k, dict) and k.get("code")])

    def areas(self) -> AreaTree:
        return self._cached("/v1/areas", AreaTree.of)

    def search(self, filters: SearchFilters, problems: dict[str, str], token: str, now: datetime) -> SearchPage:
        """One page of results, or the form alone (first visit, or filters to correct first).
        Raises ServiceDown when the directory does not answer; Rejected if it refuses a filter."""
        problems = dict(problems)
        kinds = self.kinds()
        tree = self.areas()
        known = {k["code"] for k in kinds}
        if any(k not in known for k in filters.kinds):
            problems["kind"] = "unknown_kind"
            filters = replace(filters, kinds=tuple(k for k in filters.kinds if k in known))
        if filters.province and (tree.by_code.get(filters.province) is None
                                 or tree.by_code[filters.province].level != "province"):
            problems["province"] = "unknown_area"
            filters = replace(filters, province="", area="")
        if filters.area:
            area = tree.by_code.get(filters.area)
            if area is None or area.level == "province":
                problems["area"] = "unknown_area"
                filters = replace(filters, area="")
            elif not filters.province:
                filters = replace(filters, province=tree.province_of(area.code) or "")
            elif tree.province_of(area.code) != filters.province:
                filters = replace(filters, area="")  # the province changed: its old commune no longer applies
        if filters.near_area and "near_area" not in problems:
            place = tree.by_code.get(filters.near_area)
            if place is None or place.centre is None:
                problems["near_area"] = "unknown_place"  # not a commune the directory can search around
            else:
                filters = replace(filters, centre=place.centre, near_name=place.name)
        page = SearchPage(filters=filters, problems=problems, kinds=kinds, tree=tree)
        if problems or not filters.searched:
            return page
        body = self.directory.get("/v1/search", token, directory_query(filters, tree)).body or {}
        page.total = int(body.get("total") or 0)
        page.pages = max(1, math.ceil(page.total / PER_PAGE)) if page.total else 0
        page.results = [result_of(hit, now) for hit in body.get("items") or []]
        page.facets = facets_of(body, filters, tree)
        return page

    def suggest(self, typed: str, token: str | None) -> list[dict]:
        """Names for the search box's autocomplete, each as marked pieces of text."""
        typed = typed.strip()[:200]
        if not typed:
            return []
        body = self.directory.get("/v1/suggest", token, {"q": typed, "limit": 8}).body or {}
        return [{"text": str(s.get("text") or ""), "parts": marked_parts(s.get("highlight")) or
                 [(str(s.get("text") or ""), False)]} for s in body.get("suggestions") or [] if s.get("text")]

    def service(self, service_id: str, token: str, now: datetime) -> dict:
        """Everything the directory knows of one service, as this person may learn it.
        Raises NotFound, ServiceDown."""
        service = self.directory.get(f"/v1/services/{service_id}", token).body or {}
        organization = {}
        if service.get("organization_id"):
            organization = self.directory.get(f"/v1/organizations/{service['organization_id']}", token).body or {}
        locations = [self.directory.get(f"/v1/locations/{lid}", token).body or {}
                     for lid in service.get("location_ids") or []]
        tree = self.areas()
        names = {code: area.name for code, area in tree.by_code.items()}
        timezone = next((loc.get("timezone") for loc in locations if loc.get("timezone")), None)
        served = [tree.by_code[c] for c in service.get("service_areas") or [] if c in tree.by_code]
        kinds = {k["code"]: k for k in self.kinds()}
        places = places_of(locations, names)
        return {"service": service, "organization": organization, "places": places,
                "confidential": any(p.confidential for p in places), "served": served,
                "unnamed_areas": [c for c in service.get("service_areas") or [] if c not in tree.by_code],
                "opening": Schedule.of(service, timezone).state_at(now), "kind": kinds.get(service.get("kind"))}
