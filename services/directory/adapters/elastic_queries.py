"""A SearchQuery, for a given viewer, in Elasticsearch's query language.

The domain's rules are the embedded adapter's, translated: every word must match (the
last one as a prefix; a word of four letters or more that matches nothing as written may
be one typo away), confidential communes and street words only for callers who may know
them, and distances to a confidential place measured from its cell's centre and rounded
to whole kilometres — so radius filters use the rounded distances too.
"""
from __future__ import annotations

from datetime import date

from ..domain import hours as opening
from ..domain.confidential import Viewer, disclosure
from ..domain.search import SearchQuery, query_terms
from .elastic_documents import SECRET_TEXT_FIELDS, SUGGEST_FIELDS, TEXT_FIELDS

TYPO_MIN_LETTERS = 4
FACET_SIZES = {"kind": 500, "district": 5000, "language": 500}
FACET_FIELDS = {"kind": "kind", "district": "districts", "language": "languages"}
# Ranking (function_score): a match is worth up to 30 % more when the service has free
# places and when someone verified the record recently (half as much after 180 days).
CAPACITY_BONUS, VERIFIED_BONUS = 0.15, 0.15


def words(text: str | None) -> list[str]:
    """The words of a query, folded and split by Haven as the indexed text was (the analyzers
    only split on spaces): the same words the embedded index searches for."""
    return query_terms(text)


def _fields(viewer: Viewer, prefix: bool = False) -> list[str]:
    weights = dict(TEXT_FIELDS)
    if not disclosure(viewer, True).guarded:  # told a confidential place's every word
        weights.update(SECRET_TEXT_FIELDS)
    suffix = ".prefix" if prefix else ""
    return [f"{name}{suffix}^{weight:g}" for name, weight in weights.items()]


def _word_matches(word: str, viewer: Viewer, last: bool, fuzzy: bool = False) -> dict:
    clause = {"query": word, "fields": _fields(viewer, prefix=last and not fuzzy), "type": "best_fields",
              "operator": "and"}
    if fuzzy:
        clause["fuzziness"] = 1
    return {"multi_match": clause}


def typo_probes(query_words: list[str], viewer: Viewer) -> dict[str, dict]:
    """For each word long enough to be a typo: a filter matching the docs that have it as
    written (or, the last word, as a prefix). Words without any are searched one edit away."""
    return {str(i): _word_matches(word, viewer, last=i == len(query_words) - 1)
            for i, word in enumerate(query_words) if len(word) >= TYPO_MIN_LETTERS}


def text_clauses(query_words: list[str], viewer: Viewer, typos: set[int]) -> list[dict]:
    clauses = []
    for i, word in enumerate(query_words):
        last = i == len(query_words) - 1
        choices = [_word_matches(word, viewer, last)]
        if i in typos:
            choices.append(_word_matches(word, viewer, last, fuzzy=True))
        clauses.append(choices[0] if len(choices) == 1 else {"bool": {"should": choices, "minimum_should_match": 1}})
    return clauses


def filters(query: SearchQuery, viewer: Viewer, zones: list[str]) -> tuple[list[dict], list[dict]]:
    """(filter, must_not) clauses of everything but the text."""
    private = not disclosure(viewer, True).guarded  # told a confidential place's commune
    keep: list[dict] = []
    drop: list[dict] = [{"term": {"status": "inactive"}}]
    if query.kinds:
        keep.append({"terms": {"kind": list(query.kinds)}})
    if query.open_at is not None:
        keep.append({"term": {"status": "active"}})
        keep.append(_open_at(query, zones))
    if query.age is not None:
        keep.append({"range": {"min_age": {"lte": query.age}}})
        keep.append({"range": {"max_age": {"gte": query.age}}})
    if query.gender:
        keep.append({"terms": {"gender": ["any", query.gender]}})
    if query.has_capacity:
        keep.append({"range": {"available": {"gt": 0}}})
    for area in query.areas:
        ways = [{"term": {"areas": area.code}}]
        if private:
            ways.append({"term": {"secret_areas": area.code}})
        if area.ancestors:
            ways.append({"terms": {"served": list(area.ancestors)}})
        keep.append({"bool": {"should": ways, "minimum_should_match": 1}})
    if query.languages:
        keep.append({"terms": {"languages": list(query.languages)}})
    if query.origin and query.radius_km is not None:
        keep.append(_within(query.origin, query.radius_km, viewer))
    return keep, drop


def _open_at(query: SearchQuery, zones: list[str]) -> dict:
    """Open at the moment in each provider's own time zone: one clause per zone in use."""
    ways = []
    for zone in zones:
        here = opening.local(query.open_at, zone)
        ways.append({"bool": {
            "filter": [{"term": {"tz": zone}}],
            "must_not": [{"term": {"closed_on": here.date().isoformat()}}],
            "should": [{"term": {"always_open": True}}, {"term": {"hours": opening.minute_of_week(here)}}],
            "minimum_should_match": 1}})
    if not ways:
        return {"match_none": {}}
    return {"bool": {"should": ways, "minimum_should_match": 1}}


def _within(origin: tuple[float, float], radius_km: float, viewer: Viewer) -> dict:
    """Within the radius as the viewer measures (domain.search.visible_distance), that is
    within the rule's reach: a distance shown to two decimals is within r while under r's
    last hundredth + 0.005; a confidential place's whole kilometres while under floor(r) + 0.5
    from its cell's centre."""
    confidential, open_place = disclosure(viewer, True), disclosure(viewer, False)
    point = {"lat": origin[0], "lon": origin[1]}

    def near(field: str, km: float) -> dict:
        return {"geo_distance": {"distance": f"{km:.6f}km", field: point, "distance_type": "arc"}}

    if not confidential.guarded:
        return near("points", open_place.reach(radius_km))
    return {"bool": {"should": [near("open_points", open_place.reach(radius_km)),
                                near("cell_points", confidential.reach(radius_km))],
                     "minimum_should_match": 1}}


def distance_field(viewer: Viewer) -> str:
    """Where the viewer measures places from: every place exactly, or as the rule guards them."""
    return "public_points" if disclosure(viewer, True).guarded else "points"


def ranked(query: dict, today: date) -> dict:
    """Text relevance, worth more for a service with free places and a recently verified record."""
    return {"function_score": {
        "query": query,
        "functions": [
            {"filter": {"match_all": {}}, "weight": 1},
            {"filter": {"range": {"available": {"gt": 0}}}, "weight": CAPACITY_BONUS},
            {"filter": {"exists": {"field": "assured_date"}}, "weight": VERIFIED_BONUS,
             "gauss": {"assured_date": {"origin": today.isoformat(), "scale": "180d", "decay": 0.5}}},
        ],
        "score_mode": "sum", "boost_mode": "multiply"}}


def suggestion_aggregations(query_words: list[str], limit: int) -> dict:
    """Per name field, among the services whose name in that field holds every word (the
    last as a prefix): the first `limit` distinct suggestion keys that start with the typed
    words and the first `limit` of the others, in key order (domain.search.suggestions).
    Aggregating keys, rather than ranking the best-scoring documents, sees every match and
    gives a name shared by many services once."""
    typed = " ".join(query_words)
    found = {}
    for field, key in SUGGEST_FIELDS.items():
        holds = [{"match": {field: word}} for word in query_words[:-1]]
        holds.append({"match": {f"{field}.prefix": query_words[-1]}})
        starts = {"prefix": {key: typed}}
        first = {"terms": {"field": key, "size": limit, "order": {"_key": "asc"}}}
        found[field] = {"filter": {"bool": {"filter": holds}}, "aggs": {
            "starting": {"filter": starts, "aggs": {"keys": first}},
            "others": {"filter": {"bool": {"must_not": [starts]}}, "aggs": {"keys": first}}}}
    return found


def suggested_keys(aggregations: dict) -> list[str]:
    return [bucket["key"] for field in SUGGEST_FIELDS for part in ("starting", "others")
            for bucket in aggregations[field][part]["keys"]["buckets"]]


def facet_aggregations() -> dict:
    return {name: {"terms": {"field": FACET_FIELDS[name], "size": size}} for name, size in FACET_SIZES.items()}


def facets(aggregations: dict) -> dict[str, dict[str, int]]:
    found = {}
    for name in FACET_SIZES:
        buckets = aggregations.get(name, {}).get("buckets", [])
        pairs = sorted(((str(b["key"]), int(b["doc_count"])) for b in buckets if b["doc_count"]),
                       key=lambda p: (-p[1], p[0]))
        found[name] = dict(pairs)
    return found
