"""An in-memory, columnar view of the embedded search index, one per worker process.

SQLite (FTS5, R*Tree, plain tables) is where the index lives and what every process
writes to; answering a search from SQL costs tens of milliseconds at 100 000 services
(common words match tens of thousands of rows). So each worker keeps the searchable
attributes as numpy columns and an inverted index of folded words, loaded from the index
file, and filters with vectorised operations. A change log in the index file keeps every
worker's copy current: each search first applies the changes other processes made.
"""
from __future__ import annotations

import bisect
import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import timezone

import numpy as np

from ..domain import hours as opening
from ..domain.confidential import GUARDED, disclosure
from ..domain.search import EARTH_RADIUS_KM, KEY_SEPARATOR, Box, box_around

STATUS = {"active": 0, "temporarily_closed": 1, "inactive": 2}
GENDER = {"any": 0, "female": 1, "male": 2}
HOW = {"L": 0, "S": 1, "U": 2}
NONE_AGE_LOW, NONE_AGE_HIGH = -1, 10_000
# Field weights of the relevance score: a word in the service's name counts most.
WEIGHTS = (("name", 10.0), ("org_name", 5.0), ("location_text", 2.0), ("description", 1.0),
           ("secret_location_text", 2.0))
_WORD = re.compile(r"\w+")
SUGGEST_COLUMNS = ("name", "org_name")  # the names autocomplete offers


class Codes:
    """Small integer ids for repeated strings (kinds, area codes, languages, schedules)."""

    def __init__(self):
        self.ids: dict = {}
        self.values: list = []

    def id(self, value) -> int:
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


class SuggestionKeys:
    """The distinct suggestion keys (domain.search.suggestion_key) of one name column, in
    order: `ordered` sorted, `rank` (by key id) growing with it. A new key slots in between
    its neighbours, so a write does not re-sort them all. Keys of removed docs stay (a doc's
    key id is only read for live docs) until the next full load."""

    def __init__(self):
        self.codes = Codes()
        self.ordered: list[str] = []
        self.rank = np.zeros(0, np.float64)

    def ids(self, keys: list[str]) -> list[int]:
        known = len(self.codes.values)
        found = [self.codes.id(key) for key in keys]
        added = self.codes.values[known:]
        if not added:
            return found
        rank = np.zeros(len(self.codes.values), np.float64)
        rank[:self.rank.size] = self.rank
        self.rank = rank
        if len(added) > 1000 or not self.ordered:  # a bulk load: sort once
            self.ordered = sorted(self.ordered + added)
            self._rank_all()
            return found
        for key in added:
            at = bisect.bisect_left(self.ordered, key)
            low = self.rank[self.codes.ids[self.ordered[at - 1]]] if at > 0 else -1.0
            high = self.rank[self.codes.ids[self.ordered[at]]] if at < len(self.ordered) else low + 2.0
            self.ordered.insert(at, key)
            self.rank[self.codes.ids[key]] = (low + high) / 2
            if high - low < 1e-6:
                self._rank_all()  # no room left between the two: rank everything again
        return found

    def _rank_all(self) -> None:
        self.rank[np.asarray([self.codes.ids[key] for key in self.ordered], np.int64)] = np.arange(len(self.ordered))

    def starting(self, typed: str) -> tuple[int, int]:
        """The positions in `ordered` of the keys that start with `typed`: [low, high)."""
        return (bisect.bisect_left(self.ordered, typed), bisect.bisect_left(self.ordered, typed + "\U0010ffff"))


@dataclass
class Pairs:
    """A many-to-many column: doc -> values, as two parallel arrays."""

    doc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    extra: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))

    _by_doc: tuple[np.ndarray, np.ndarray] | None = None

    def extend(self, docs: list[int], values: list[int], extras: list[int] | None = None) -> None:
        previous = self.doc.size
        self.doc = np.concatenate([self.doc, np.asarray(docs, np.int32)])
        self.value = np.concatenate([self.value, np.asarray(values, np.int32)])
        self.extra = np.concatenate([self.extra, np.asarray(extras if extras is not None else [0] * len(docs),
                                                            np.int8)])
        if self._by_doc is None or not docs:
            return
        order, _starts, counts = self._by_doc
        added = np.asarray(docs, np.int64)
        if added.min() < counts.size:
            self._by_doc = None  # not newer than every doc we hold: sort again on next use
            return
        # Rowids only grow, so the new pairs sort after all the others: extend, don't re-sort.
        grown = np.zeros(int(added.max()) + 1, np.int64)
        grown[:counts.size] = counts
        grown += np.bincount(added, minlength=grown.size)
        order = np.concatenate([order, previous + np.argsort(added, kind="stable")])
        self._by_doc = (order, np.concatenate(([0], np.cumsum(grown)[:-1])), grown)

    def of(self, candidates: np.ndarray) -> np.ndarray:
        """Positions of the pairs that belong to `candidates` (doc ids), grouped by
        candidate in their order: read from a doc-sorted order with per-doc offsets, so the
        cost follows the candidates, not the size of the table."""
        return self.of_with_counts(candidates)[0]

    def of_with_counts(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`of`, and how many pairs each candidate has."""
        if self._by_doc is None:
            order = np.argsort(self.doc, kind="stable")
            counts = np.bincount(self.doc, minlength=int(self.doc.max(initial=0)) + 1)
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            self._by_doc = (order, starts, counts)
        order, starts_by_doc, counts_by_doc = self._by_doc
        known = candidates < counts_by_doc.size
        starts = np.where(known, starts_by_doc[np.where(known, candidates, 0)], 0)
        lengths = np.where(known, counts_by_doc[np.where(known, candidates, 0)], 0)
        total = int(lengths.sum())
        if not total:
            return np.zeros(0, np.int64), lengths
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return order[np.arange(total) + offsets], lengths


class Columns:
    """Everything a search filters, sorts or counts on, for every live doc (rowid)."""

    def __init__(self):
        self.size = 0
        self.live = np.zeros(0, bool)
        self.kind = np.zeros(0, np.int16)
        self.status = np.zeros(0, np.int8)
        self.gender = np.zeros(0, np.int8)
        self.min_age = np.zeros(0, np.int16)
        self.max_age = np.zeros(0, np.int16)
        self.available = np.zeros(0, np.int32)
        self.schedule = np.zeros(0, np.int32)
        self.names: dict[int, str] = {}
        self.kinds, self.areas, self.languages, self.schedules = Codes(), Codes(), Codes(), Codes()
        self.locations = Pairs()  # value unused; coordinates below
        self.lat = np.zeros(0, np.float64)
        self.lon = np.zeros(0, np.float64)
        self.cell_lat = np.zeros(0, np.float64)  # where the rule measures a guarded place from
        self.cell_lon = np.zeros(0, np.float64)
        # per doc, the box around its places (both positions of each): no place, no box
        self.south, self.north = np.zeros(0, np.float64), np.zeros(0, np.float64)
        self.west, self.east = np.zeros(0, np.float64), np.zeros(0, np.float64)
        self.district_pairs, self.language_pairs, self.area_pairs = Pairs(), Pairs(), Pairs()
        # word -> sorted rowids, per column group; `recent` holds words of docs loaded
        # after the bulk load, so no array is rebuilt on a single change.
        self.postings: dict[str, dict[str, np.ndarray]] = {column: {} for column, _ in WEIGHTS}
        self.recent: dict[str, dict[str, list[int]]] = {column: {} for column, _ in WEIGHTS}
        self.vocabulary: list[str] = []
        self.last_change = 0
        self.name_rank = np.zeros(0, np.float64)
        self._sorted_names: list[tuple[str, int]] = []
        # autocomplete: per name column, each doc's suggestion key id
        self.suggestion_keys = {column: SuggestionKeys() for column in SUGGEST_COLUMNS}
        self.key_of = {column: np.zeros(0, np.int32) for column in SUGGEST_COLUMNS}
        self._open_cache = None

    # --- loading ---------------------------------------------------------------------

    def _grow(self, rowid: int) -> None:
        if rowid < self.size:
            return
        size = max(rowid + 1, self.size * 2, 1024)
        for name, default in (("live", False), ("kind", 0), ("status", 2), ("gender", 0), ("min_age", NONE_AGE_LOW),
                              ("max_age", NONE_AGE_HIGH), ("available", -1), ("schedule", 0), ("name_rank", 0.0),
                              ("south", np.inf), ("north", -np.inf), ("west", np.inf), ("east", -np.inf)):
            old = getattr(self, name)
            new = np.full(size, default, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        for column, old in self.key_of.items():
            self.key_of[column] = np.concatenate([old, np.full(size - old.size, -1, np.int32)])
        self.size = size

    def load(self, connection: sqlite3.Connection, rowids: list[int] | None = None) -> None:
        """Load all docs (rowids None) or the given ones, which must not be loaded yet."""
        where, params = "", []
        if rowids is not None:
            if not rowids:
                return
            where = f" WHERE rowid IN ({', '.join('?' * len(rowids))})"
            params = rowids
        docs = connection.execute(
            "SELECT rowid, kind, status, gender, min_age, max_age, available, always_open, tz, closed_on, "
            f"name_sort, districts, languages, name_key, org_key FROM docs{where}", params).fetchall()
        if not docs:
            return
        loaded = [d[0] for d in docs]
        self._grow(max(loaded))
        hours: dict[int, list[tuple[int, int]]] = {}
        doc_filter = where.replace("rowid", "doc")
        for doc, start, end in connection.execute(f'SELECT doc, start, "end" FROM doc_hours{doc_filter}', params):
            hours.setdefault(doc, []).append((start, end))
        rows = np.asarray(loaded, np.int64)
        self.kind[rows] = [self.kinds.id(d[1]) for d in docs]
        self.status[rows] = [STATUS.get(d[2], 2) for d in docs]
        self.gender[rows] = [GENDER.get(d[3], 0) for d in docs]
        self.min_age[rows] = [NONE_AGE_LOW if d[4] is None else d[4] for d in docs]
        self.max_age[rows] = [NONE_AGE_HIGH if d[5] is None else d[5] for d in docs]
        self.available[rows] = [-1 if d[6] is None else min(d[6], 2**31 - 1) for d in docs]
        self.schedule[rows] = [self.schedules.id((bool(d[7]), d[8], d[9], tuple(sorted(hours.get(d[0], ())))))
                               for d in docs]
        self.live[rows] = True
        for column, at in zip(SUGGEST_COLUMNS, (13, 14)):
            self.key_of[column][rows] = self.suggestion_keys[column].ids([d[at] for d in docs])
        district_docs, district_values, language_docs, language_values = [], [], [], []
        for d in docs:
            self.names[d[0]] = d[10]
            for code in d[11].split():
                district_docs.append(d[0])
                district_values.append(self.areas.id(code))
            for code in d[12].split():
                language_docs.append(d[0])
                language_values.append(self.languages.id(code))
        self.district_pairs.extend(district_docs, district_values)
        self.language_pairs.extend(language_docs, language_values)

        location_rows = connection.execute(f"SELECT doc, lat, lon, confidential FROM doc_locations{doc_filter}",
                                           params).fetchall()
        self.locations.extend([r[0] for r in location_rows], [0] * len(location_rows),
                              [r[3] for r in location_rows])
        self.lat = np.concatenate([self.lat, np.asarray([r[1] for r in location_rows], np.float64)])
        self.lon = np.concatenate([self.lon, np.asarray([r[2] for r in location_rows], np.float64)])
        cells = [GUARDED.position(r[1], r[2]) for r in location_rows]
        self.cell_lat = np.concatenate([self.cell_lat, np.asarray([c[0] for c in cells], np.float64)])
        self.cell_lon = np.concatenate([self.cell_lon, np.asarray([c[1] for c in cells], np.float64)])
        if location_rows:
            owners = np.asarray([r[0] for r in location_rows], np.int64)
            added = slice(self.lat.size - len(location_rows), self.lat.size)
            for bound, widen, exact, cell in ((self.south, np.minimum, self.lat, self.cell_lat),
                                              (self.north, np.maximum, self.lat, self.cell_lat),
                                              (self.west, np.minimum, self.lon, self.cell_lon),
                                              (self.east, np.maximum, self.lon, self.cell_lon)):
                widen.at(bound, owners, widen(exact[added], cell[added]))

        area_rows = connection.execute(f"SELECT doc, code, how, secret FROM doc_areas{doc_filter}", params).fetchall()
        self.area_pairs.extend([r[0] for r in area_rows], [self.areas.id(r[1]) for r in area_rows],
                               [HOW[r[2]] * 2 + r[3] for r in area_rows])

        text_rows = connection.execute(
            f"SELECT rowid, name, org_name, location_text, description, secret_location_text FROM docs_fts{where}",
            params).fetchall()
        bulk = rowids is None
        for column_index, (column, _weight) in enumerate(WEIGHTS, start=1):
            words: dict[str, list[int]] = {}
            for row in text_rows:
                for word in set(_WORD.findall(row[column_index] or "")):
                    words.setdefault(word, []).append(row[0])
            if bulk:
                self.postings[column] = {w: np.asarray(sorted(ids), np.int32) for w, ids in words.items()}
            else:
                recent = self.recent[column]
                for w, ids in words.items():
                    recent.setdefault(w, []).extend(ids)
        if bulk:
            self.vocabulary = sorted({w for c in self.postings.values() for w in c})
        else:
            vocabulary = self.vocabulary
            for word in {w for row in text_rows for text in row[1:] for w in _WORD.findall(text or "")}:
                at = bisect.bisect_left(vocabulary, word)
                if at == len(vocabulary) or vocabulary[at] != word:
                    vocabulary.insert(at, word)

    def prepare(self, added: list[int] | None = None) -> None:
        """Build what searches need after a load, so no search pays for it."""
        self.rank_names(added)
        empty = np.zeros(0, np.int64)
        for pairs in (self.locations, self.district_pairs, self.language_pairs, self.area_pairs):
            pairs.of(empty)

    def is_live(self, rowid: int) -> bool:
        return rowid < self.size and bool(self.live[rowid])

    def rank_names(self, added: list[int] | None = None) -> None:
        """Alphabetical rank of every doc's (folded) name, for sorting by name. New docs
        (`added`) slot in between their neighbours, so a write does not re-sort everything."""
        if added is not None and self._sorted_names:
            for rowid in added:
                key = (self.names[rowid], rowid)
                at = bisect.bisect_left(self._sorted_names, key)
                low = self.name_rank[self._sorted_names[at - 1][1]] if at > 0 else -1.0
                high = self.name_rank[self._sorted_names[at][1]] if at < len(self._sorted_names) else low + 2.0
                if high - low < 1e-6:
                    break  # no room left between the two: rank everything again
                self._sorted_names.insert(at, key)
                self.name_rank[rowid] = (low + high) / 2
            else:
                return
        self._sorted_names = sorted((name, rowid) for rowid, name in self.names.items())
        rank = np.zeros(self.size, np.float64)
        rank[np.asarray([rowid for _, rowid in self._sorted_names], np.int64)] = np.arange(len(self._sorted_names))
        self.name_rank = rank

    def unload(self, rowids: list[int]) -> None:
        for rowid in rowids:
            if rowid < self.size:
                self.live[rowid] = False
            self.names.pop(rowid, None)

    def in_box(self, candidates: np.ndarray, box: Box) -> np.ndarray:
        """The candidates with a place (at either of its positions) in `box`, in order.
        Latitudes first: they rule out most, so fewer longitudes are read."""
        near = candidates[(self.north[candidates] >= box.south) & (self.south[candidates] <= box.north)]
        if box.west is not None:
            near = near[(self.east[near] >= box.west) & (self.west[near] <= box.east)]
        return near

    # --- text ------------------------------------------------------------------------

    def column_docs(self, column: str, word: str) -> list[np.ndarray]:
        """The docs with `word` in `column`: zero to two sorted arrays (bulk-loaded, recent)."""
        found = []
        bulk = self.postings[column].get(word)
        if bulk is not None:
            found.append(bulk)
        recent = self.recent[column].get(word)
        if recent:
            found.append(np.unique(np.asarray(recent, np.int32)))
        return found

    def has_word(self, word: str, columns: tuple[str, ...]) -> bool:
        return any(word in self.postings[c] or word in self.recent[c] for c in columns)

    def prefix_words(self, prefix: str, limit: int = 200) -> list[str]:
        start = bisect.bisect_left(self.vocabulary, prefix)
        end = bisect.bisect_left(self.vocabulary, prefix + "\uffff")
        return self.vocabulary[start:min(end, start + limit)]

    # --- schedules ---------------------------------------------------------------------

    def open_schedules(self, moment) -> np.ndarray:
        """For each distinct (24/7, time zone, closures, hours) signature: open at `moment`?
        Answers are kept for the minute: "open now" searches within it share them."""
        key = (moment.astimezone(timezone.utc).replace(second=0, microsecond=0), len(self.schedules.values))
        cached = self._open_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        result = self._open_at(moment)
        self._open_cache = (key, result)
        return result

    def _open_at(self, moment) -> np.ndarray:
        result = np.zeros(max(len(self.schedules.values), 1), bool)
        for index, (always_open, tz, closed_on, intervals) in enumerate(self.schedules.values):
            here = opening.local(moment, tz)
            if here.date().isoformat() in closed_on.split():
                continue
            minute = opening.minute_of_week(here)
            result[index] = always_open or any(start <= minute < end for start, end in intervals)
        return result


PUBLIC_COLUMNS = tuple(column for column, _ in WEIGHTS if column != "secret_location_text")
ALL_COLUMNS = tuple(column for column, _ in WEIGHTS)


@dataclass
class Found:
    total: int
    page: list[int]
    distances: dict[int, float]
    facets: dict[str, dict[str, int]]
    words: list[str]


def evaluate(columns: Columns, query, viewer) -> Found:
    """Filter, count, facet, sort and page — everything but fetching the page's payloads.

    The most selective filters (text, kind) run first over whole columns; the rest only
    over the surviving candidates, which keeps a search at 100 000 services in the
    low milliseconds."""
    from ..domain.search import query_terms
    from ..domain.text import within_one_edit

    c = columns
    size = c.size
    # What the rule tells this viewer of a confidential place (domain.confidential): whether
    # she may find it by its withheld words and commune, where it is measured from, how a
    # distance to it is rounded. The index holds both views; this picks one.
    confidential, open_place = disclosure(viewer, True), disclosure(viewer, False)
    searched = PUBLIC_COLUMNS if confidential.guarded else ALL_COLUMNS
    words = query_terms(query.text)
    mask = c.live & (c.status != STATUS["inactive"])
    alternatives: list[list[str]] = []
    for i, word in enumerate(words):
        choices = [word]
        if i == len(words) - 1:
            choices += [w for w in c.prefix_words(word) if w != word]
        if len(choices) == 1 and len(word) >= 4 and not c.has_word(word, searched):
            # a typo: accept the words of the index one edit away
            choices += [w for w in c.vocabulary if abs(len(w) - len(word)) <= 1 and within_one_edit(word, w)][:8]
        alternatives.append(choices)
        matched = np.zeros(size, bool)
        for choice in choices:
            for column in searched:
                for docs in c.column_docs(column, choice):
                    matched[docs] = True  # a scatter: no sorting, no merging
        mask &= matched
    candidates = np.nonzero(mask)[0]

    def keep(condition: np.ndarray) -> None:
        nonlocal candidates
        candidates = candidates[condition]

    if query.kinds:
        allowed = np.zeros(len(c.kinds.values) + 1, bool)
        for kind in query.kinds:
            if kind in c.kinds.ids:
                allowed[c.kinds.ids[kind]] = True
        keep(allowed[c.kind[candidates]])

    if query.open_at is not None:
        keep(c.open_schedules(query.open_at)[c.schedule[candidates]] & (c.status[candidates] == STATUS["active"]))
    if query.age is not None:
        keep((c.min_age[candidates] <= query.age) & (c.max_age[candidates] >= query.age))
    if query.gender:
        gender = c.gender[candidates]
        keep((gender == GENDER["any"]) | (gender == GENDER.get(query.gender, -1)))
    if query.has_capacity:
        keep(c.available[candidates] > 0)
    for area in query.areas:
        keep(_in_area(c, candidates, area, not confidential.guarded))
    if query.languages:
        wanted = [c.languages.ids[x] for x in query.languages if x in c.languages.ids]
        keep(_any_of(c.language_pairs, candidates, lambda i: np.isin(c.language_pairs.value[i], wanted), size))

    nearest = None  # per candidate, aligned with `candidates`
    origin = query.origin
    if origin and query.radius_km is not None:
        # Most candidates of a search near a place are far from it: ruled out by their box,
        # they are never measured. The box reaches as far as a distance shown within the
        # radius can be (rounding), and a metre farther for floating-point round-off.
        reach = max(confidential.reach(query.radius_km), open_place.reach(query.radius_km)) + 0.001
        candidates = c.in_box(candidates, box_around(origin, reach))
    if origin:
        places = c.locations
        index, counts = places.of_with_counts(candidates)
        # domain.search.visible_distance, vectorised: a confidential place the viewer may not
        # see is measured from its cell's centre, in whole kilometres; filter and sort on that
        hidden = (places.extra[index] == 1) & confidential.guarded
        lat = np.where(hidden, c.cell_lat[index], c.lat[index])
        lon = np.where(hidden, c.cell_lon[index], c.lon[index])
        measured = haversine_km(origin[0], origin[1], lat, lon)
        shown = np.where(hidden, np.round(measured, confidential.distance_decimals),
                         np.round(measured, open_place.distance_decimals))
        nearest = np.full(candidates.size, np.inf)
        placed = counts > 0
        if index.size:
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[placed]
            nearest[placed] = np.minimum.reduceat(shown, starts)
        if query.radius_km is not None:
            within = nearest <= query.radius_km
            candidates, nearest = candidates[within], nearest[within]

    district_pairs, language_pairs = c.district_pairs, c.language_pairs
    facets = {
        "kind": _counts(c.kind[candidates], c.kinds.values),
        "district": _counts(district_pairs.value[district_pairs.of(candidates)], c.areas.values),
        "language": _counts(language_pairs.value[language_pairs.of(candidates)], c.languages.values),
    }
    names = c.name_rank[candidates]
    start = (query.page - 1) * query.per_page
    if query.sort == "distance" and nearest is not None:
        # Relevance only breaks ties of distance, so it is scored for the docs that can reach
        # this page: those no farther than the page's last one (ties at that distance
        # included), not for every candidate (a word like "bạo lực" matches most of them).
        near = np.arange(candidates.size)
        end = start + query.per_page
        if candidates.size > end:
            near = np.nonzero(nearest <= np.partition(nearest, end - 1)[end - 1])[0]
        within = np.lexsort((candidates[near], names[near],
                             -_relevance(c, candidates[near], alternatives, searched), nearest[near]))
        order = near[within]
    elif query.sort == "name" or not words:
        order = np.lexsort((candidates, names))
    else:
        order = np.lexsort((candidates, names, -_relevance(c, candidates, alternatives, searched)))
    chosen = order[start:start + query.per_page]
    page = [int(r) for r in candidates[chosen]]
    distances = {}
    if nearest is not None:
        distances = {int(candidates[i]): float(nearest[i]) for i in chosen if np.isfinite(nearest[i])}
    return Found(total=int(candidates.size), page=page, distances=distances, facets=facets, words=words)


def suggested_names(c: Columns, words: list[str], limit: int) -> list[str]:
    """For each name column: the first `limit` distinct names of docs (not inactive) that
    start with the typed words, and the first `limit` of the other names holding every word
    (the last as a prefix), in key order — all domain.search.suggestions needs to pick the
    first `limit` of them. No listing is decoded: the names are in their keys. Key ids are
    marked in boolean arrays rather than sorted, so a one-letter prefix matching most docs
    costs a few passes over the columns."""
    typed = " ".join(words)
    eligible = c.live & (c.status != STATUS["inactive"])
    rows = np.nonzero(eligible)[0]
    found: list[str] = []
    for column in SUGGEST_COLUMNS:
        keys, key_of = c.suggestion_keys[column], c.key_of[column]
        in_use = np.zeros(len(keys.codes.values), bool)
        in_use[key_of[rows]] = True
        low, high = keys.starting(typed)
        starting = []
        for at in range(low, high):  # in order; keys of removed docs only are skipped
            key = keys.ordered[at]
            if in_use[keys.codes.ids[key]]:
                starting.append(key)
                if len(starting) == limit:
                    break
        mask = eligible.copy()
        for i, word in enumerate(words):
            choices = [word] + (c.prefix_words(word) if i == len(words) - 1 else [])
            matched = np.zeros(c.size, bool)
            for choice in choices:
                for docs in c.column_docs(column, choice):
                    matched[docs] = True
            mask &= matched
        holding = np.zeros(len(keys.codes.values), bool)
        holding[key_of[np.nonzero(mask)[0]]] = True
        held = np.nonzero(holding)[0]
        ranks = keys.rank[held]
        if low < high:  # the starting keys are one run of ranks: leave them out
            first = keys.rank[keys.codes.ids[keys.ordered[low]]]
            last = keys.rank[keys.codes.ids[keys.ordered[high - 1]]]
            outside = (ranks < first) | (ranks > last)
            held, ranks = held[outside], ranks[outside]
        if held.size > limit:
            chosen = np.argpartition(ranks, limit - 1)[:limit]
            held, ranks = held[chosen], ranks[chosen]
        others = held[np.argsort(ranks, kind="stable")]
        found += starting + [keys.codes.values[int(i)] for i in others]
    return [key.split(KEY_SEPARATOR, 1)[1] for key in found]


def _any_of(pairs: Pairs, candidates: np.ndarray, selected, size: int) -> np.ndarray:
    """For each candidate: does any of its pairs satisfy `selected` (a function of the
    pairs' positions)?"""
    index = pairs.of(candidates)
    hit = np.zeros(size, bool)
    hit[pairs.doc[index[selected(index)]]] = True
    return hit[candidates]


def _in_area(c: Columns, candidates: np.ndarray, area, secret_too: bool) -> np.ndarray:
    """Located in the area (a confidential commune only when `secret_too`: for those who may
    know it), or covering it, or covering an area that contains it."""
    pairs = c.area_pairs
    code = c.areas.ids.get(area.code, -1)
    ancestor_ids = [c.areas.ids[a] for a in area.ancestors if a in c.areas.ids]

    def selected(index: np.ndarray) -> np.ndarray:
        value, how, secret = pairs.value[index], pairs.extra[index] // 2, pairs.extra[index] % 2
        chosen = (value == code) & ((how != HOW["L"]) | (secret == 0) | secret_too)
        if ancestor_ids:
            chosen |= (how == HOW["S"]) & np.isin(value, ancestor_ids)
        return chosen

    return _any_of(pairs, candidates, selected, c.size)


def _counts(values: np.ndarray, labels: list) -> dict[str, int]:
    counted = np.bincount(values) if values.size else np.zeros(0, np.int64)
    present = np.flatnonzero(counted)  # the labels are every area or language known: look at those found
    pairs = [(labels[i], int(n)) for i, n in zip(present.tolist(), counted[present].tolist())]
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))


def _relevance(c: Columns, candidates: np.ndarray, alternatives: list[list[str]], searched) -> np.ndarray:
    """Field-weighted score: each query word found in a doc's name counts 10, in its
    organization 5, in its places 2, in its description 1."""
    score = np.zeros(candidates.size)
    if not candidates.size:
        return score
    weights = dict(WEIGHTS)
    for choices in alternatives:
        best = np.zeros(candidates.size)
        for column in searched:
            present = np.zeros(candidates.size, bool)
            for word in choices:
                for docs in c.column_docs(column, word):
                    at = np.minimum(np.searchsorted(docs, candidates), docs.size - 1)
                    present |= docs[at] == candidates
            best = np.maximum(best, present * weights[column])
        score += best
    return score


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    lat1, lon1 = np.radians(lat), np.radians(lon)
    lat2, lon2 = np.radians(lats), np.radians(lons)
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def payloads(connection: sqlite3.Connection, rowids: list[int]) -> dict[int, dict]:
    if not rowids:
        return {}
    rows = connection.execute(f"SELECT rowid, payload FROM docs WHERE rowid IN ({', '.join('?' * len(rowids))})",
                              rowids)
    return {rowid: json.loads(payload) for rowid, payload in rows}
