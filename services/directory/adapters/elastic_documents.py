"""What the Elasticsearch adapter stores: the index template (analyzers, mappings) and one
document per service.

Text is indexed as Haven's own words (domain.text.terms: folded, then split), separated by
spaces, and the analyzers only split on those spaces: the embedded index and this one hold
the same words, whatever the text's Unicode form (asciifolding leaves the combining marks of
a decomposed `Sông` in place, so it was never `song`). A `.prefix` sub-field holds edge
n-grams for the last word of a query. Autocomplete reads each name's suggestion key
(domain.search.suggestion_key), a keyword, so names come out distinct and in order. The
listing itself rides along unindexed (`listing`, a JSON string) and is redacted by Haven for
each caller, exactly as the embedded adapter does.
"""
from __future__ import annotations

import json

from ..domain import hours as opening
from ..domain.confidential import PUBLIC, disclosure
from ..domain.model import DEFAULT_TIMEZONE
from ..domain.search import Listing, searchable_places, suggestion_key
from ..domain.text import fold, terms
from .codec import listing_to_dict

# Bumped whenever the template or the document changes: an index of another version is
# rebuilt from the database when the directory starts.
LAYOUT_VERSION = 3  # 3: Haven's words, suggestion keys
NO_AGE_LOW, NO_AGE_HIGH = -1, 10_000
TEXT_FIELDS = {"name": 10.0, "organization": 5.0, "places": 2.0, "description": 1.0}
SECRET_TEXT_FIELDS = {"secret_places": 2.0}  # searched only for callers with directory:confidential
# Autocomplete: each name field and the keyword holding its suggestion key
SUGGEST_FIELDS = {"name": "name_key", "organization": "organization_key"}


def _text() -> dict:
    return {"type": "text", "analyzer": "words",
            "fields": {"prefix": {"type": "text", "analyzer": "prefixes", "search_analyzer": "words"}}}


def template(patterns: list[str], replicas: int = 1) -> dict:
    """Body of the index template every versioned index of the directory is created from."""
    keyword = {"type": "keyword"}
    points = {"type": "geo_point"}
    return {
        "index_patterns": patterns,
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": 1,  # 100 000 services are a few hundred MB: one shard answers fastest
                "number_of_replicas": replicas,
                "analysis": {
                    "filter": {"edges": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
                    "analyzer": {  # the text is Haven's folded words already (see above)
                        "words": {"type": "custom", "tokenizer": "whitespace"},
                        "prefixes": {"type": "custom", "tokenizer": "whitespace", "filter": ["edges"]},
                    },
                },
            },
            "mappings": {
                "dynamic": "strict",
                "_meta": {"layout": LAYOUT_VERSION},
                "properties": {
                    "service_id": keyword, "name_sort": keyword, "kind": keyword, "status": keyword,
                    "name_key": keyword, "organization_key": keyword,  # suggestion keys
                    "gender": keyword, "min_age": {"type": "integer"}, "max_age": {"type": "integer"},
                    "available": {"type": "integer"}, "assured_date": {"type": "date"},
                    "always_open": {"type": "boolean"}, "tz": keyword, "closed_on": keyword,
                    "hours": {"type": "integer_range"},  # minutes of the week, local time
                    "districts": keyword, "languages": keyword,
                    "areas": keyword,  # located in (public), covers, or covers a part of
                    "secret_areas": keyword,  # the commune of a confidential location
                    "served": keyword,  # the areas the service covers
                    "points": points,  # every location, exact
                    "open_points": points,  # the public locations, exact
                    "cell_points": points,  # confidential locations: the centre of their cell
                    "public_points": points,  # what a caller without the permission measures from
                    **{name: _text() for name in (*TEXT_FIELDS, *SECRET_TEXT_FIELDS)},
                    # the listing as one JSON string, neither indexed nor in doc values: read
                    # back whole for the page's hits only, and never parsed field by field
                    "listing": {"type": "keyword", "index": False, "doc_values": False},
                },
            },
        },
    }


def document(listing: Listing) -> dict:
    service = listing.service
    public_places, secret_places = searchable_places(listing)
    areas, secret_areas = set(service.service_areas) | set(listing.served_ancestors), set()
    for loc in listing.locations:  # secret: an area of its own the rule keeps from the public
        told = disclosure(PUBLIC, loc.confidential).areas(loc)
        areas.update(told)
        secret_areas.update(code for code in loc.area_codes if code not in told)
    placed = [loc for loc in listing.locations if loc.latitude is not None and loc.longitude is not None]
    exact = [{"lat": loc.latitude, "lon": loc.longitude} for loc in placed]
    shown, cells = [], []  # where the public measures each place from: exact, or as the rule guards it
    for loc in placed:
        told = disclosure(PUBLIC, loc.confidential)
        lat, lon = told.position(loc.latitude, loc.longitude)
        (cells if told.guarded else shown).append({"lat": lat, "lon": lon})
    return {
        "service_id": service.id,
        "name_sort": fold(service.name),
        "kind": service.kind,
        "status": service.status,
        "gender": service.gender,
        "min_age": NO_AGE_LOW if service.minimum_age is None else service.minimum_age,
        "max_age": NO_AGE_HIGH if service.maximum_age is None else service.maximum_age,
        "available": -1 if service.capacity is None else service.capacity.available,
        "assured_date": service.assured_date.isoformat() if service.assured_date else None,
        "always_open": service.always_open,
        "tz": listing.locations[0].timezone if listing.locations else DEFAULT_TIMEZONE,
        "closed_on": [d.isoformat() for d in service.closed_on],
        "hours": [] if service.always_open else [{"gte": start, "lt": end}
                                                 for start, end in opening.weekly_intervals(service.hours)],
        "districts": sorted({loc.district_code for loc in listing.locations if loc.district_code}),
        "languages": sorted(set(service.languages)),
        "areas": sorted(areas),
        "secret_areas": sorted(secret_areas),
        "served": sorted(service.service_areas),
        "points": exact, "open_points": shown, "cell_points": cells, "public_points": shown + cells,
        "name_key": suggestion_key(service.name),
        "organization_key": suggestion_key(listing.organization.name),
        "name": _words(service.name),
        "organization": _words(listing.organization.name),
        "places": _words(public_places),
        "description": _words(service.description),
        "secret_places": _words(secret_places),
        "listing": json.dumps(listing_to_dict(listing), ensure_ascii=False, separators=(",", ":")),
    }


def _words(text: str) -> str:
    return " ".join(terms(text))


def version(listing: Listing) -> int:
    """The document's external version: the newest change it reflects, in microseconds, so
    Elasticsearch itself refuses an older listing that arrives after a newer one."""
    moment = listing.changed_at
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
