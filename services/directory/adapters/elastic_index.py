"""The search index on Elasticsearch (8 or 9, with the official client of the same major).

Search goes through an alias (`ELASTICSEARCH_INDEX`, `haven-directory` by default) that
names one versioned index (`haven-directory-<nanoseconds>`), created from the index template
in elastic_documents.py. A rebuild bulk-loads a new index, then moves the alias in one
atomic update: searches answer from the old index until the new one is complete. The index
just replaced is kept (searches in flight may still read it; it is the way back); older
ones are deleted.

Each document carries the listing's newest change as an external version, so when two
writers race, Elasticsearch keeps the newer listing. Writes wait for the refresh that makes
them searchable (`refresh=wait_for`): the API answers only once search sees the change.
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Iterable, Iterator

from elasticsearch import (ApiError, AuthenticationException, BadRequestError, ConflictError, Elasticsearch,
                           NotFoundError, TransportError, helpers)

from ..domain.confidential import Viewer
from ..domain.search import (KEY_SEPARATOR, Hit, Listing, SearchQuery, SearchResult, Suggestion, highlights,
                             nearest_visible_distance, redact_listing, suggestions)
from ..service_layer.ports import IndexUnavailable, ProviderIndex
from . import elastic_queries as q
from .codec import listing_from_dict
from .elastic_documents import LAYOUT_VERSION, document, template, version

# Elasticsearch pages no deeper than this (index.max_result_window); deeper pages are empty,
# their totals and facets still right.
MAX_WINDOW = 10_000
BULK_CHUNK = 500
BUILD_LEASE_SECONDS = 1800
# A confidential place's shown distance is rounded to whole kilometres (±0.5 km), so the
# order by shown distance can differ from Elasticsearch's (unrounded) order only between
# places less than this far apart.
ROUNDING_SPREAD_KM = 1.1


class BulkIndexingFailed(RuntimeError):
    """Some listings were refused by Elasticsearch; `errors` holds one entry per listing."""

    def __init__(self, errors: list[dict], attempted: int):
        first = errors[0]
        super().__init__(f"{len(errors)} of {attempted} listings could not be indexed; first: service "
                         f"{first.get('_id')}: {_reason(first)}")
        self.errors = errors


def elastic_client(url: str, *, api_key: str | None = None, username: str | None = None,
                   password: str | None = None, ca_certs: str | None = None,
                   timeout: float = 10.0) -> Elasticsearch:
    options: dict = {"request_timeout": timeout, "retry_on_timeout": True, "max_retries": 2}
    if api_key:
        options["api_key"] = api_key
    elif username:
        options["basic_auth"] = (username, password or "")
    if ca_certs:
        options["ca_certs"] = ca_certs
    return Elasticsearch(url, **options)


class ElasticProviderIndex(ProviderIndex):
    def __init__(self, client: Elasticsearch, alias: str = "haven-directory", replicas: int = 1):
        self.client = client
        self.alias = alias
        self.replicas = replicas
        self._alias_known = False

    # --- the alias and its indices ------------------------------------------------------

    @property
    def _locks(self) -> str:
        return f"{self.alias}.locks"  # outside the template's pattern

    def _install_template(self) -> None:
        self.client.indices.put_index_template(
            name=self.alias, **template([f"{self.alias}-*"], replicas=self.replicas))

    def _ready(self) -> None:
        """Make sure the alias names an index: an empty one the first time (it is then
        rebuilt from the database, as `rebuild_reason` says). Writing to a missing alias
        would create a plain index of that name and block the alias for good."""
        if self._alias_known:
            return
        if not self.client.indices.exists_alias(name=self.alias):
            self._install_template()
            first = f"{self.alias}-0"
            try:
                self.client.indices.create(index=first, aliases={self.alias: {}})
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
        self._alias_known = True

    def _aliased(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []

    def rebuild_reason(self) -> str | None:
        try:
            current = self._aliased()
            if not current:
                return f"alias {self.alias} is missing"
            meta = self.client.indices.get_mapping(index=current[0]).body[current[0]]["mappings"].get("_meta", {})
        except (TransportError, ApiError) as exc:
            raise IndexUnavailable(self._explain(exc)) from None
        if meta.get("layout") != LAYOUT_VERSION:
            return f"index {current[0]} has an older layout"
        if not meta.get("built_at"):
            return f"index {current[0]} was never built from the database"
        return None

    @contextmanager
    def building(self) -> Iterator[bool]:
        """A lease in a small index of its own: one directory replica builds at a time; a
        lease left by a builder that died expires."""
        token = uuid.uuid4().hex
        lease = {"holder": token, "until": time.time() + BUILD_LEASE_SECONDS}
        try:
            self.client.create(index=self._locks, id="build", document=lease, refresh=True)
        except ConflictError:
            held = self.client.get(index=self._locks, id="build")
            if held["_source"]["until"] > time.time():
                yield False
                return
            try:
                self.client.index(index=self._locks, id="build", document=lease, refresh=True,
                                  if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"])
            except ConflictError:
                yield False
                return
        try:
            yield True
        finally:
            try:
                self.client.delete(index=self._locks, id="build", refresh=True)
            except NotFoundError:
                pass

    def check(self) -> None:
        try:
            if not self.client.indices.exists_alias(name=self.alias):
                raise IndexUnavailable(f"alias {self.alias} is missing on Elasticsearch: run `haven reindex`")
            self.client.count(index=self.alias)
        except (TransportError, ApiError) as exc:
            raise IndexUnavailable(self._explain(exc)) from None

    def _explain(self, exc: Exception) -> str:
        if isinstance(exc, AuthenticationException):
            return "Elasticsearch refused the credentials (ELASTICSEARCH_API_KEY / _USERNAME / _PASSWORD)"
        if isinstance(exc, BadRequestError) and exc.error == "media_type_header_exception":
            return ("the Elasticsearch client's major version differs from the cluster's: install the "
                    "`elasticsearch` package of the cluster's major version")
        if isinstance(exc, ApiError):
            return f"Elasticsearch answered {exc.meta.status}: {exc.error}"
        return f"Elasticsearch is unreachable ({type(exc).__name__})"

    # --- writing ----------------------------------------------------------------------

    def _actions(self, listings: Iterable[Listing], index: str) -> Iterator[dict]:
        for listing in listings:
            yield {"_op_type": "index", "_index": index, "_id": listing.service.id, "version": version(listing),
                   "version_type": "external_gte", "_source": document(listing)}

    def _bulk(self, actions: Iterable[dict], tolerated: set[int], **options) -> int:
        """Send actions in chunks; every refusal but the `tolerated` statuses is reported."""
        done, attempted, errors = 0, 0, []
        for ok, item in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False,
                                               max_retries=3, **options):
            attempted += 1
            outcome = next(iter(item.values()))
            if ok:
                done += 1
            elif outcome.get("status") not in tolerated:
                errors.append(outcome)
        if errors:
            raise BulkIndexingFailed(errors, attempted)
        return done

    def upsert(self, listings: Iterable[Listing]) -> None:
        self._ready()
        # 409: the index holds a newer listing of that service already (a writer raced us)
        self._bulk(self._actions(listings, self.alias), tolerated={409}, refresh="wait_for")

    def delete(self, service_ids: Iterable[str]) -> None:
        self._ready()
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": id} for id in service_ids)
        self._bulk(actions, tolerated={404}, refresh="wait_for")

    def rebuild(self, listings: Iterable[Listing]) -> int:
        self._install_template()
        name = f"{self.alias}-{time.time_ns()}"
        # No refreshes and no replicas while loading: both are set back before the swap.
        self.client.indices.create(index=name, settings={"index": {"refresh_interval": "-1",
                                                                    "number_of_replicas": 0}})
        try:
            count = self._bulk(self._actions(listings, name), tolerated=set())
            self.client.indices.put_settings(index=name, settings={"index": {"refresh_interval": None,
                                                                              "number_of_replicas": self.replicas}})
            self.client.indices.refresh(index=name)
            self.client.indices.put_mapping(index=name, meta={
                "layout": LAYOUT_VERSION, "built_at": datetime.now(timezone.utc).isoformat()})
        except BaseException:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        self._swap_to(name)
        return count

    def _swap_to(self, name: str) -> None:
        previous = self._aliased()
        actions = [{"remove": {"index": index, "alias": self.alias}} for index in previous]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)  # atomic: readers see one or the other
        self._alias_known = True
        if not previous:
            return
        kept = min(_generation(self.alias, index) for index in previous)
        every = self.client.indices.get_alias(index=f"{self.alias}-*").body
        for index in every:
            if _generation(self.alias, index) < kept:  # never a newer build still loading
                self.client.indices.delete(index=index, ignore_unavailable=True)

    # --- reading ----------------------------------------------------------------------

    def _probe(self, query: SearchQuery, viewer: Viewer, query_words: list[str]) -> tuple[set[int], list[str]]:
        """One small request before the search, when needed: which long words match nothing
        as written (typos), and which time zones the providers are in (open at a moment)."""
        probes = q.typo_probes(query_words, viewer)
        aggregations = {}
        if probes:
            aggregations["words"] = {"filters": {"filters": probes}}
        if query.open_at is not None:
            aggregations["zones"] = {"terms": {"field": "tz", "size": 1000}}
        if not aggregations:
            return set(), []
        found = self.client.search(index=self.alias, size=0, aggs=aggregations)["aggregations"]
        buckets = found.get("words", {}).get("buckets", {})
        typos = {int(i) for i, bucket in buckets.items() if bucket["doc_count"] == 0}
        zones = [b["key"] for b in found.get("zones", {}).get("buckets", [])]
        return typos, zones

    def _query(self, query: SearchQuery, viewer: Viewer, today: date) -> tuple[dict, bool]:
        """The query and whether its hits are sorted by relevance first: with text, unless
        sorted by name (then by name alone, as the embedded index does)."""
        query_words = q.words(query.text)
        typos, zones = self._probe(query, viewer, query_words)
        keep, drop = q.filters(query, viewer, zones)
        must = q.text_clauses(query_words, viewer, typos)
        body = {"bool": {"must": must, "filter": keep, "must_not": drop}}
        if must and query.sort == "relevance":
            return q.ranked(body, today), True
        return body, bool(must) and query.sort != "name"

    def search(self, query: SearchQuery, viewer: Viewer, today: date) -> SearchResult:
        self._ready()
        es_query, scored = self._query(query, viewer, today)
        start = (query.page - 1) * query.per_page
        by_distance = query.sort == "distance" and query.origin is not None
        if by_distance:
            hits, total, aggregations = self._by_distance(es_query, query, viewer, start)
        else:
            sort = (["_score"] if scored else []) + [{"name_sort": "asc"}, {"service_id": "asc"}]
            size = max(0, min(query.per_page, MAX_WINDOW - start))
            found = self.client.search(index=self.alias, query=es_query, sort=sort, from_=min(start, MAX_WINDOW),
                                       size=size, track_total_hits=True, aggs=q.facet_aggregations(),
                                       source=["listing"])
            total, aggregations = found["hits"]["total"]["value"], found.get("aggregations", {})
            hits = [(_listing(h), None) for h in found["hits"]["hits"]]
        query_terms = q.words(query.text)
        results = []
        for listing, distance in hits:
            if query.origin is not None and distance is None:
                distance = nearest_visible_distance(query.origin, listing, viewer)
            shown = redact_listing(listing, viewer)
            results.append(Hit(listing=shown, distance_km=distance, highlights=highlights(shown, query_terms),
                               stale=listing.service.is_stale(today)))
        return SearchResult(total=total, hits=results, facets=q.facets(aggregations))

    def _by_distance(self, es_query: dict, query: SearchQuery, viewer: Viewer, start: int):
        """Elasticsearch sorts by the unrounded distance; Haven shows (and must sort by) the
        rounded one. So a window around the page is fetched and re-sorted by the shown
        distance, widened until everything that could move across the page's edges is in it."""
        origin = {"lat": query.origin[0], "lon": query.origin[1]}
        sort = [{"_geo_distance": {q.distance_field(viewer): origin, "order": "asc", "unit": "km", "mode": "min",
                                   "distance_type": "arc", "ignore_unmapped": True}},
                "_score", {"name_sort": "asc"}, {"service_id": "asc"}]
        margin = max(query.per_page, 20)
        while True:
            low = max(0, start - margin)
            high = min(start + query.per_page + margin, MAX_WINDOW)
            found = self.client.search(index=self.alias, query=es_query, sort=sort, from_=min(low, MAX_WINDOW),
                                       size=max(0, high - low), track_total_hits=True, track_scores=True,
                                       aggs=q.facet_aggregations(), source=["listing"])
            window = []
            for h in found["hits"]["hits"]:
                listing = _listing(h)
                measured = h["sort"][0]
                measured = float("inf") if measured in (None, "Infinity") else float(measured)
                shown = nearest_visible_distance(query.origin, listing, viewer)
                key = (float("inf") if shown is None else shown, -(h.get("_score") or 0.0), h["sort"][2], h["sort"][3])
                window.append((key, measured, listing, shown))
            complete = len(window) < high - low
            page = sorted(window, key=lambda w: w[0])[start - low:start - low + query.per_page]
            first = window[0][1] if window else 0.0
            last = window[-1][1] if window else 0.0
            settled = all((low == 0 or m - first >= ROUNDING_SPREAD_KM) and (complete or last - m >= ROUNDING_SPREAD_KM)
                          for _, m, _, _ in page)
            if settled or (low == 0 and (complete or high == MAX_WINDOW)):
                break
            margin *= 4
        return ([(listing, shown) for _, _, listing, shown in page], found["hits"]["total"]["value"],
                found.get("aggregations", {}))

    def matching_ids(self, query: SearchQuery, viewer: Viewer, limit: int) -> list[str]:
        self._ready()
        es_query, scored = self._query(replace(query, sort="relevance"), viewer, date.today())
        sort = (["_score"] if scored else []) + [{"name_sort": "asc"}, {"service_id": "asc"}]
        found = self.client.search(index=self.alias, query=es_query, sort=sort, size=min(limit, MAX_WINDOW),
                                   source=False)
        return [h["_id"] for h in found["hits"]["hits"]]

    def suggest(self, text: str, viewer: Viewer, limit: int) -> list[Suggestion]:
        """Names are public, also a confidential provider's: nothing to redact for `viewer`."""
        self._ready()
        query_words = q.words(text)
        if not query_words:
            return []
        active = {"bool": {"must_not": [{"term": {"status": "inactive"}}]}}
        found = self.client.search(index=self.alias, size=0, query=active,
                                   aggs=q.suggestion_aggregations(query_words, limit))
        keys = q.suggested_keys(found["aggregations"])
        return suggestions((key.split(KEY_SEPARATOR, 1)[1] for key in keys), text, limit)

    def service_ids(self) -> set[str]:
        self._ready()
        ids: set[str] = set()
        after = None
        while True:
            page = self.client.search(index=self.alias, size=5000, source=False, sort=[{"service_id": "asc"}],
                                      search_after=after, query={"match_all": {}})["hits"]["hits"]
            ids.update(h["_id"] for h in page)
            if len(page) < 5000:
                return ids
            after = page[-1]["sort"]


def _listing(hit: dict) -> Listing:
    return listing_from_dict(json.loads(hit["_source"]["listing"]))


def _generation(alias: str, index: str) -> int:
    try:
        return int(index[len(alias) + 1:])
    except ValueError:
        return -1


def _reason(item: dict) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or item.get("status"))
