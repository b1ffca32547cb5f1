"""The embedded search index: SQLite FTS5 with diacritic folding, an R*Tree for geography
and plain tables for the other filters, in a file of its own under HAVEN_DATA_DIR.

The file in use is named by a pointer file. A rebuild writes a new file beside it and
swaps the pointer atomically (os.replace), so search answers from the old index until the
new one is complete. Each thread of each worker keeps its own connection and reopens when
the pointer changes.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date
from typing import Iterable, Iterator

from ..domain import hours as opening
from ..domain.search import (Hit, Listing, SearchQuery, SearchResult, Viewer, distance_km, redact_listing,
                             visible_distance)
from ..domain.text import fold, highlight, terms, within_one_edit
from .codec import listing_from_dict, listing_to_dict
from .search_index import ProviderIndex

SCHEMA = """
CREATE TABLE docs (
    rowid INTEGER PRIMARY KEY,
    service_id TEXT NOT NULL UNIQUE,
    name_sort TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    gender TEXT NOT NULL,
    min_age INTEGER,
    max_age INTEGER,
    available INTEGER,
    always_open INTEGER NOT NULL,
    tz TEXT NOT NULL,
    closed_on TEXT NOT NULL,
    districts TEXT NOT NULL,
    languages TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX docs_kind ON docs(kind);
CREATE VIRTUAL TABLE docs_fts USING fts5(
    name, org_name, description, location_text, secret_location_text,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE docs_vocab USING fts5vocab(docs_fts, 'row');
CREATE TABLE doc_locations (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, lat REAL NOT NULL,
                            lon REAL NOT NULL, confidential INTEGER NOT NULL);
CREATE INDEX doc_locations_doc ON doc_locations(doc);
CREATE VIRTUAL TABLE doc_geo USING rtree(id, min_lat, max_lat, min_lon, max_lon);
CREATE TABLE doc_hours (doc INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE INDEX doc_hours_doc ON doc_hours(doc, start);
-- how: L = a location is in this area, S = the service covers it, U = an ancestor of a
-- covered area. secret = the commune of a confidential location (never matched for
-- callers who may not know it).
CREATE TABLE doc_areas (doc INTEGER NOT NULL, code TEXT NOT NULL, how TEXT NOT NULL, secret INTEGER NOT NULL);
CREATE INDEX doc_areas_code ON doc_areas(code, how, doc);
CREATE INDEX doc_areas_doc ON doc_areas(doc);
CREATE TABLE doc_languages (doc INTEGER NOT NULL, lang TEXT NOT NULL);
CREATE INDEX doc_languages_lang ON doc_languages(lang, doc);
CREATE INDEX doc_languages_doc ON doc_languages(doc);
CREATE TABLE timezones (tz TEXT PRIMARY KEY);
"""

BM25_WEIGHTS = "10.0, 5.0, 1.0, 2.0, 2.0"  # name, organization, description, location, secret location
PUBLIC_COLUMNS = "{name org_name description location_text}"
KM_PER_DEGREE = 111.195


class SqliteProviderIndex(ProviderIndex):
    def __init__(self, directory: str, name: str = "directory-search"):
        self.directory = directory
        self.name = name
        self.pointer = os.path.join(directory, f"{name}.current")
        self._local = threading.local()
        self._vocabulary: tuple[str, float, list[str]] | None = None
        os.makedirs(directory, exist_ok=True)

    # --- files and connections ------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(os.path.join(self.directory, f"{self.name}.lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _new_file(self) -> str:
        path = os.path.join(self.directory, f"{self.name}-{time.time_ns()}.sqlite3")
        connection = self._open(path)
        connection.executescript(SCHEMA)
        connection.close()
        return path

    def _current_path(self) -> str:
        try:
            with open(self.pointer) as fh:
                return os.path.join(self.directory, fh.read().strip())
        except FileNotFoundError:
            with self._lock():
                if not os.path.exists(self.pointer):
                    self._point_to(self._new_file())
            return self._current_path()

    def _point_to(self, path: str) -> None:
        temporary = f"{self.pointer}.{os.getpid()}.tmp"
        with open(temporary, "w") as fh:
            fh.write(os.path.basename(path))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self.pointer)  # atomic: readers see the old name or the new one

    @staticmethod
    def _open(path: str) -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA cache_size=-32000")  # 32 MB page cache per connection
        return connection

    def _connection(self) -> sqlite3.Connection:
        path = self._current_path()
        local = self._local
        if getattr(local, "path", None) != path:
            if getattr(local, "connection", None) is not None:
                local.connection.close()
            local.connection = self._open(path)
            local.path = path
        return local.connection

    # --- writing --------------------------------------------------------------------

    def upsert(self, listings: Iterable[Listing]) -> None:
        connection = self._connection()
        with _transaction(connection):
            for listing in listings:
                self._remove(connection, listing.service.id)
                _insert(connection, listing)

    def delete(self, service_ids: Iterable[str]) -> None:
        connection = self._connection()
        with _transaction(connection):
            for service_id in service_ids:
                self._remove(connection, service_id)

    @staticmethod
    def _remove(connection: sqlite3.Connection, service_id: str) -> None:
        row = connection.execute("SELECT rowid FROM docs WHERE service_id = ?", (service_id,)).fetchone()
        if row is None:
            return
        doc = row[0]
        connection.execute("DELETE FROM doc_geo WHERE id IN (SELECT id FROM doc_locations WHERE doc = ?)", (doc,))
        for table in ("doc_locations", "doc_hours", "doc_areas", "doc_languages"):
            connection.execute(f"DELETE FROM {table} WHERE doc = ?", (doc,))
        connection.execute("DELETE FROM docs_fts WHERE rowid = ?", (doc,))
        connection.execute("DELETE FROM docs WHERE rowid = ?", (doc,))

    def rebuild(self, listings: Iterable[Listing]) -> int:
        path = self._new_file()
        connection = self._open(path)
        count = 0
        try:
            batch: list[Listing] = []
            for listing in listings:
                batch.append(listing)
                if len(batch) == 1000:
                    with _transaction(connection):
                        for item in batch:
                            _insert(connection, item)
                    count += len(batch)
                    batch.clear()
            with _transaction(connection):
                for item in batch:
                    _insert(connection, item)
            count += len(batch)
            connection.execute("INSERT INTO docs_fts(docs_fts) VALUES ('optimize')")
        except BaseException:
            connection.close()
            os.remove(path)
            raise
        connection.close()
        with self._lock():
            previous = self._current_path() if os.path.exists(self.pointer) else None
            self._point_to(path)
        if previous and previous != path:
            # Open connections keep reading the unlinked file until they switch over.
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(previous + suffix)
                except FileNotFoundError:
                    pass
        return count

    def service_ids(self) -> set[str]:
        return {row[0] for row in self._connection().execute("SELECT service_id FROM docs")}

    def check(self) -> None:
        self._connection().execute("SELECT count(*) FROM docs").fetchone()

    # --- searching ------------------------------------------------------------------

    def search(self, query: SearchQuery, viewer: Viewer, today: date) -> SearchResult:
        connection = self._connection()
        where = ["d.status != 'inactive'"]
        params: list = []
        source = "docs d"
        rank = "0.0"
        query_terms: list[str] = []
        if query.text:
            match, query_terms = self._match(connection, query.text, viewer)
            if match is None:
                return SearchResult(0, [], _empty_facets())
            source = "docs_fts f JOIN docs d ON d.rowid = f.rowid"
            where.append("docs_fts MATCH ?")
            params.append(match)
            rank = f"bm25(docs_fts, {BM25_WEIGHTS})"
        if query.kinds:
            where.append(f"d.kind IN ({_marks(query.kinds)})")
            params.extend(query.kinds)
        for area in query.areas:
            located = "(how = 'L' AND secret = 0)" if not viewer.can_see_confidential else "how = 'L'"
            clause = f"(code = ? AND ({located} OR how IN ('S', 'U')))"
            params.append(area.code)
            if area.ancestors:
                clause += f" OR (how = 'S' AND code IN ({_marks(area.ancestors)}))"
                params.extend(area.ancestors)
            where.append(f"d.rowid IN (SELECT doc FROM doc_areas WHERE {clause})")
        origin = query.origin
        if origin and query.radius_km is not None:
            # Bounding box first (R*Tree), exact distance after. Half a kilometre of slack:
            # confidential distances are compared after rounding to whole kilometres.
            reach = (query.radius_km + 0.5) / KM_PER_DEGREE
            lon_reach = reach / max(math.cos(math.radians(origin[0])), 0.01)
            where.append("d.rowid IN (SELECT l.doc FROM doc_geo g JOIN doc_locations l ON l.id = g.id "
                         "WHERE g.max_lat >= ? AND g.min_lat <= ? AND g.max_lon >= ? AND g.min_lon <= ?)")
            params.extend([origin[0] - reach, origin[0] + reach, origin[1] - lon_reach, origin[1] + lon_reach])
        if query.open_at is not None:
            clauses = []
            for (tz,) in connection.execute("SELECT tz FROM timezones"):
                here = opening.local(query.open_at, tz)
                minute = opening.minute_of_week(here)
                clauses.append("(d.tz = ? AND d.status = 'active' AND instr(d.closed_on, ?) = 0 AND "
                               "(d.always_open = 1 OR EXISTS (SELECT 1 FROM doc_hours h WHERE h.doc = d.rowid "
                               "AND h.start <= ? AND h.\"end\" > ?)))")
                params.extend([tz, here.date().isoformat(), minute, minute])
            where.append(f"({' OR '.join(clauses) or '0'})")
        if query.languages:
            where.append(f"d.rowid IN (SELECT doc FROM doc_languages WHERE lang IN ({_marks(query.languages)}))")
            params.extend(query.languages)
        if query.age is not None:
            where.append("(d.min_age IS NULL OR d.min_age <= ?) AND (d.max_age IS NULL OR d.max_age >= ?)")
            params.extend([query.age, query.age])
        if query.gender:
            where.append("d.gender IN ('any', ?)")
            params.append(query.gender)
        if query.has_capacity:
            where.append("d.available > 0")

        rows = connection.execute(
            f"SELECT d.rowid, d.kind, d.districts, d.languages, d.name_sort, {rank} FROM {source} "
            f"WHERE {' AND '.join(where)}", params).fetchall()

        distances: dict[int, float | None] = {}
        if origin and rows:
            distances = self._distances(connection, [r[0] for r in rows], origin, viewer)
            if query.radius_km is not None:
                rows = [r for r in rows if distances.get(r[0]) is not None and distances[r[0]] <= query.radius_km]

        facets = _empty_facets()
        for _doc, kind, districts, languages, _name, _rank in rows:
            facets["kind"][kind] += 1
            for district in districts.split():
                facets["district"][district] += 1
            for language in languages.split():
                facets["language"][language] += 1

        if query.sort == "distance" and origin:
            rows.sort(key=lambda r: (distances.get(r[0]) is None, distances.get(r[0]) or 0.0, r[5], r[4], r[0]))
        elif query.sort == "name" or not query.text:
            rows.sort(key=lambda r: (r[4], r[0]))
        else:
            rows.sort(key=lambda r: (r[5], r[4], r[0]))

        start = (query.page - 1) * query.per_page
        page = rows[start:start + query.per_page]
        payloads = dict(connection.execute(
            f"SELECT rowid, payload FROM docs WHERE rowid IN ({_marks(page)})", [r[0] for r in page]).fetchall()) \
            if page else {}
        hits = []
        for row in page:
            listing = redact_listing(listing_from_dict(json.loads(payloads[row[0]])), viewer)
            hits.append(Hit(listing=listing, distance_km=distances.get(row[0]),
                            highlights=_highlights(listing, query_terms), stale=listing.service.is_stale(today)))
        return SearchResult(total=len(rows), hits=hits,
                            facets={name: dict(counter.most_common()) for name, counter in facets.items()})

    def _distances(self, connection, docs: list[int], origin, viewer: Viewer) -> dict[int, float | None]:
        nearest: dict[int, float | None] = {}
        for start in range(0, len(docs), 900):
            chunk = docs[start:start + 900]
            for doc, lat, lon, confidential in connection.execute(
                    f"SELECT doc, lat, lon, confidential FROM doc_locations WHERE doc IN ({_marks(chunk)})", chunk):
                exact = distance_km(origin, (lat, lon))
                shown = float(round(exact)) if confidential and not viewer.can_see_confidential else round(exact, 2)
                if nearest.get(doc) is None or shown < nearest[doc]:
                    nearest[doc] = shown
        return nearest

    def _match(self, connection, text: str, viewer: Viewer) -> tuple[str | None, list[str]]:
        words = terms(text)[:12]
        if not words:
            return None, []
        vocabulary = None
        parts = []
        for i, word in enumerate(words):
            last = i == len(words) - 1
            alternatives = [f'"{word}"' + ("*" if last else "")]
            if len(word) >= 4 and not self._known(connection, word, prefix=last):
                # A typo: also accept words of the index one edit away.
                vocabulary = vocabulary or self._vocabulary_terms(connection)
                alternatives += [f'"{t}"' for t in vocabulary if abs(len(t) - len(word)) <= 1
                                 and within_one_edit(word, t)][:8]
            parts.append(alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})")
        expression = " AND ".join(parts)
        if not viewer.can_see_confidential:
            expression = f"{PUBLIC_COLUMNS} : ({expression})"
        return expression, words

    @staticmethod
    def _known(connection, word: str, prefix: bool) -> bool:
        if prefix:
            row = connection.execute("SELECT 1 FROM docs_vocab WHERE term >= ? AND term < ? LIMIT 1",
                                     (word, word + "\uffff")).fetchone()
        else:
            row = connection.execute("SELECT 1 FROM docs_vocab WHERE term = ?", (word,)).fetchone()
        return row is not None

    def _vocabulary_terms(self, connection) -> list[str]:
        cached = self._vocabulary
        path = self._local.path
        if cached is None or cached[0] != path or time.monotonic() - cached[1] > 60:
            words = [row[0] for row in connection.execute("SELECT term FROM docs_vocab")]
            cached = self._vocabulary = (path, time.monotonic(), words)
        return cached[2]


def _marks(values) -> str:
    return ", ".join("?" * len(values))


def _empty_facets() -> dict[str, Counter]:
    return {"kind": Counter(), "district": Counter(), "language": Counter()}


@contextmanager
def _transaction(connection: sqlite3.Connection):
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _insert(connection: sqlite3.Connection, listing: Listing) -> None:
    service, organization = listing.service, listing.organization
    public_places = " ".join(f"{loc.name} {loc.address.address_1} {loc.address.city}"
                             for loc in listing.locations if not loc.confidential)
    public_places += " " + " ".join(f"{loc.name}" for loc in listing.locations if loc.confidential)
    public_places += " " + " ".join(listing.area_names.get(code, "") for loc in listing.locations
                                    for code in (loc.province_code, loc.district_code) if code)
    secret_places = " ".join(f"{loc.description} {loc.address.address_1} {loc.address.city} "
                             f"{listing.area_names.get(loc.commune_code or '', '')}"
                             for loc in listing.locations if loc.confidential)
    public_places += " " + " ".join(f"{loc.description} {listing.area_names.get(loc.commune_code or '', '')}"
                                    for loc in listing.locations if not loc.confidential)
    timezone = listing.locations[0].timezone if listing.locations else "Asia/Ho_Chi_Minh"
    districts = sorted({loc.district_code for loc in listing.locations if loc.district_code})
    cursor = connection.execute(
        "INSERT INTO docs (service_id, name_sort, kind, status, gender, min_age, max_age, available, always_open, "
        "tz, closed_on, districts, languages, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (service.id, fold(service.name), service.kind, service.status, service.gender, service.minimum_age,
         service.maximum_age, service.capacity.available if service.capacity else None, int(service.always_open),
         timezone, " ".join(d.isoformat() for d in service.closed_on), " ".join(districts),
         " ".join(sorted(set(service.languages))), json.dumps(listing_to_dict(listing), ensure_ascii=False)))
    doc = cursor.lastrowid
    connection.execute(
        "INSERT INTO docs_fts (rowid, name, org_name, description, location_text, secret_location_text) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (doc, fold(service.name), fold(organization.name), fold(service.description), fold(public_places),
         fold(secret_places)))
    connection.execute("INSERT OR IGNORE INTO timezones (tz) VALUES (?)", (timezone,))
    for loc in listing.locations:
        if loc.latitude is None or loc.longitude is None:
            continue
        location_row = connection.execute(
            "INSERT INTO doc_locations (doc, lat, lon, confidential) VALUES (?, ?, ?, ?)",
            (doc, loc.latitude, loc.longitude, int(loc.confidential))).lastrowid
        connection.execute("INSERT INTO doc_geo (id, min_lat, max_lat, min_lon, max_lon) VALUES (?, ?, ?, ?, ?)",
                           (location_row, loc.latitude, loc.latitude, loc.longitude, loc.longitude))
    if not service.always_open:
        connection.executemany("INSERT INTO doc_hours (doc, start, \"end\") VALUES (?, ?, ?)",
                               [(doc, s, e) for s, e in opening.weekly_intervals(service.hours)])
    areas = set()
    for loc in listing.locations:
        for code in (loc.province_code, loc.district_code):
            if code:
                areas.add((code, "L", 0))
        if loc.commune_code:
            areas.add((loc.commune_code, "L", int(loc.confidential)))
    areas |= {(code, "S", 0) for code in service.service_areas}
    areas |= {(code, "U", 0) for code in listing.served_ancestors}
    connection.executemany("INSERT INTO doc_areas (doc, code, how, secret) VALUES (?, ?, ?, ?)",
                           [(doc, code, how, secret) for code, how, secret in areas])
    connection.executemany("INSERT INTO doc_languages (doc, lang) VALUES (?, ?)",
                           [(doc, lang) for lang in set(service.languages)])


def _highlights(listing: Listing, query_terms: list[str]) -> dict[str, str]:
    if not query_terms:
        return {}
    found = {}
    candidates = {"service.name": listing.service.name, "service.description": listing.service.description,
                  "organization.name": listing.organization.name}
    for i, loc in enumerate(listing.locations):
        candidates[f"locations.{i}.name"] = loc.name
        if loc.description:
            candidates[f"locations.{i}.description"] = loc.description
    for field, text in candidates.items():
        marked = highlight(text, query_terms)
        if marked:
            found[field] = marked
    return found
