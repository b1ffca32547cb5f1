"""Search, in the domain's words: what a caseworker asks and what she gets back, told as
the confidentiality rule (domain/confidential.py) lets each caller learn it."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Iterable

from .confidential import PUBLIC, WHOLE, Viewer, disclosure
from .model import Location, Organization, Service
from .text import composed, highlight, terms

SORTS = ("relevance", "distance", "name")
FACETS = ("kind", "district", "language")


@dataclass(frozen=True)
class AreaFilter:
    code: str
    ancestors: tuple[str, ...] = ()  # filled by the service layer from the area hierarchy


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    kinds: tuple[str, ...] = ()
    areas: tuple[AreaFilter, ...] = ()  # province / district / commune: all must match
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    sort: str = "relevance"
    open_at: datetime | None = None  # aware
    languages: tuple[str, ...] = ()  # any of
    age: int | None = None
    gender: str | None = None
    has_capacity: bool = False
    page: int = 1
    per_page: int = 20

    def __post_init__(self):
        if self.text is not None:  # typed decomposed on some phones: searched as composed
            object.__setattr__(self, "text", composed(self.text))

    @property
    def origin(self) -> tuple[float, float] | None:
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude


@dataclass(frozen=True)
class Listing:
    """One service as search shows it: with its organization, locations and area names."""

    service: Service
    organization: Organization
    locations: tuple[Location, ...] = ()
    area_names: dict = field(default_factory=dict)  # code -> name, for display
    # Every ancestor of every area the service covers: serving a district means serving
    # "in" its province for a province search.
    served_ancestors: tuple[str, ...] = ()

    @property
    def changed_at(self) -> datetime:
        """The newest change this listing reflects (UTC): of two listings of one service,
        an index keeps the newer, whichever arrives last."""
        moments = [self.service.updated_at, self.organization.updated_at]
        moments += [loc.updated_at for loc in self.locations]
        if self.service.capacity is not None:
            moments.append(self.service.capacity.updated_at)
        return max(m.astimezone(timezone.utc) for m in moments)


@dataclass
class Hit:
    listing: Listing
    distance_km: float | None = None
    highlights: dict[str, str] = field(default_factory=dict)
    stale: bool = False
    # The listing already rendered as JSON-ready values, when the index keeps it that way
    # (saves re-rendering on the hot path); None otherwise. Never to be modified.
    document: dict | None = None


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]


EARTH_RADIUS_KM = 6371.0088


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Box:
    """Latitudes and longitudes in degrees. West and east are None when any longitude may be
    in it (the circle it bounds holds a pole or crosses the antimeridian)."""

    south: float
    north: float
    west: float | None
    east: float | None


def box_around(origin: tuple[float, float], km: float) -> Box:
    """The box every point within `km` of `origin` (great-circle) lies in: an index can rule
    out most places with four comparisons before it measures any distance. The longitudes
    are those of the circle's tangent meridians, which are wider than its east and west
    points away from the equator."""
    angle = km / EARTH_RADIUS_KM
    latitude = math.radians(origin[0])
    south, north = math.degrees(latitude - angle), math.degrees(latitude + angle)
    if south <= -90 or north >= 90:
        return Box(south, north, None, None)
    spread = math.degrees(math.asin(math.sin(angle) / math.cos(latitude)))
    west, east = origin[1] - spread, origin[1] + spread
    if west < -180 or east > 180:
        return Box(south, north, None, None)
    return Box(south, north, west, east)


def visible_distance(origin: tuple[float, float], location: Location, viewer: Viewer) -> float:
    """The distance a viewer may learn: for a confidential location she may not see, from
    its cell's centre and in whole kilometres, so that neither the number, nor the order of
    results, nor a radius pins down where a shelter is."""
    told = disclosure(viewer, location.confidential)
    return told.distance(distance_km(origin, told.position(location.latitude, location.longitude)))


def redact_location(location: Location, viewer: Viewer) -> Location:
    return disclosure(viewer, location.confidential).location(location)


def redact_listing(listing: Listing, viewer: Viewer) -> Listing:
    """The listing as the viewer is shown it: each location, and the names of the areas it
    may learn (a confidential location's commune is not one, for those without the permission)."""
    told = [disclosure(viewer, loc.confidential) for loc in listing.locations]
    if all(t is WHOLE for t in told):
        return listing
    hidden = {code for loc, t in zip(listing.locations, told) for code in loc.area_codes if code not in t.areas(loc)}
    names = {code: name for code, name in listing.area_names.items() if code not in hidden}
    return replace(listing, locations=tuple(t.location(loc) for loc, t in zip(listing.locations, told)),
                   area_names=names)


def nearest_visible_distance(origin: tuple[float, float], listing: Listing, viewer: Viewer) -> float | None:
    """The distance shown for a listing: to its nearest place, as the viewer may learn it."""
    found = [visible_distance(origin, loc, viewer) for loc in listing.locations
             if loc.latitude is not None and loc.longitude is not None]
    return min(found) if found else None


def searchable_places(listing: Listing) -> tuple[str, str]:
    """The words of a listing's places that anyone may search, and those only callers with
    `directory:confidential` may: what the rule withholds of a place from the others
    (searching those words would confirm them)."""
    public, secret = [], []
    for loc in listing.locations:
        everything = WHOLE.texts(loc, listing.area_names)
        told = disclosure(PUBLIC, loc.confidential).texts(loc, listing.area_names)
        public += told.values()
        secret += [text for name, text in everything.items() if name not in told]
    return " ".join(public), " ".join(secret)


def highlights(listing: Listing, words: list[str]) -> dict[str, str]:
    """Why a (redacted) listing matched: its fields with the query's words marked."""
    if not words:
        return {}
    candidates = {"service.name": listing.service.name, "service.description": listing.service.description,
                  "organization.name": listing.organization.name}
    for i, loc in enumerate(listing.locations):
        candidates[f"locations.{i}.name"] = loc.name
        if loc.description:
            candidates[f"locations.{i}.description"] = loc.description
    found = {}
    for name, text in candidates.items():
        marked = highlight(text, words)
        if marked:
            found[name] = marked
    return found


# --- autocomplete --------------------------------------------------------------------

SUGGESTIONS_MAX = 10
QUERY_WORDS_MAX = 12  # words of a query searched; the API takes 200 characters at most anyway
# Between a name's words and the name in a suggestion key: below every character a word
# can hold (words are \w+), so ordering keys as strings orders by (words, name).
KEY_SEPARATOR = "\x1f"


def query_terms(text: str | None) -> list[str]:
    """The folded words of what was typed that every search adapter searches for."""
    return terms(text)[:QUERY_WORDS_MAX] if text else []


@dataclass(frozen=True)
class Suggestion:
    """A completion of what a caseworker is typing: the name of a service or of an
    organization (both are public, also for confidential providers)."""

    text: str
    highlight: str


def suggestion_key(name: str) -> str:
    """What orders suggestions and tells them apart: the name's folded words, then the name
    as written. An adapter may keep it as one sortable keyword; the names starting with the
    typed words are then exactly the keys with the typed words as a prefix."""
    return " ".join(terms(name)) + KEY_SEPARATOR + name


def suggestions(names: Iterable[str], text: str, limit: int) -> list[Suggestion]:
    """The `names` (of services and organizations) that contain every word of `text`, the
    last one as a prefix: names that start with the typed words first, then in the order of
    their words. An adapter hands in every name that could be among the first `limit` — a
    sample of the matching listings is not enough: with many matches it would miss the
    names a short prefix starts."""
    words = query_terms(text)
    if not words:
        return []
    typed = " ".join(words)
    keys = set()
    for name in names:
        folded_words = terms(name)
        if all(w in folded_words for w in words[:-1]) and any(f.startswith(words[-1]) for f in folded_words):
            keys.add(suggestion_key(name))
    ranked = sorted(keys, key=lambda key: (not key.startswith(typed), key))[:limit]
    chosen = [key.split(KEY_SEPARATOR, 1)[1] for key in ranked]
    return [Suggestion(text=name, highlight=highlight(name, words) or html.escape(name)) for name in chosen]
