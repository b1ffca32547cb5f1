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
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Iterable, Iterator

from ..domain import hours as opening
from ..domain.confidential import PUBLIC, Viewer, disclosure
from ..domain.search import (Hit, Listing, SearchQuery, SearchResult, Suggestion, highlights, query_terms,
                             redact_listing, searchable_places, suggestion_key, suggestions)
from ..domain.text import fold
from ..service_layer.ports import ProviderIndex
from .codec import listing_from_dict, listing_to_dict
from .search_columns import Columns, evaluate, payloads, suggested_names

SCHEMA = """
-- AUTOINCREMENT: a rowid is never reused, so a doc replaced by an upsert gets a new one and
-- every worker's in-memory copy can tell the old doc (gone) from the new one.
CREATE TABLE docs (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL UNIQUE,
    name_sort TEXT NOT NULL,
    -- the service's and the organization's suggestion keys (domain.search.suggestion_key)
    name_key TEXT NOT NULL,
    org_key TEXT NOT NULL,
    -- the newest change the listing reflects: an older listing never replaces a newer one
    stamp TEXT NOT NULL,
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
CREATE VIRTUAL TABLE docs_fts USING fts5(
    name, org_name, description, location_text, secret_location_text,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE doc_locations (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, lat REAL NOT NULL,
                            lon REAL NOT NULL, confidential INTEGER NOT NULL);
CREATE INDEX doc_locations_doc ON doc_locations(doc);
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
-- Every doc added or removed, in order: each worker's in-memory columns follow this log.
CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc INTEGER NOT NULL);
-- built_at: set by a rebuild from the database. An index without it was only ever written
-- to piecemeal, so it may miss records: it is rebuilt when the directory starts.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 6;
"""
SCHEMA_VERSION = 6  # 6: suggestion keys
CHANGES_KEPT = 100_000



class SqliteProviderIndex(ProviderIndex):
    def __init__(self, directory: str, name: str = "directory-search"):
        self.directory = directory
        self.name = name
        self.pointer = os.path.join(directory, f"{name}.current")
        self._local = threading.local()
        self._columns_lock = threading.Lock()
        self._listing_cache = _Recent(self.LISTINGS_CACHED)  # (file, rowid, private) -> (Listing, dict)
        self._highlight_cache = _Recent(self.HIGHLIGHTS_CACHED)  # (file, rowid, private, words) -> dict
        self._columns_by_path: dict[str, Columns] = {}
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

    def rebuild_reason(self) -> str | None:
        try:
            with open(self.pointer) as fh:
                path = os.path.join(self.directory, fh.read().strip())
        except FileNotFoundError:
            return "no search index yet"
        if not os.path.exists(path):
            return "the search index file is missing"
        connection = sqlite3.connect(path)
        try:
            if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                return "the search index has an older layout"
            if connection.execute("SELECT 1 FROM meta WHERE key = 'built_at'").fetchone() is None:
                return "the search index was never built from the database"
            return None
        finally:
            connection.close()

    @contextmanager
    def building(self) -> Iterator[bool]:
        """Yields True to the one process that may build the index now, False to others."""
        with open(os.path.join(self.directory, f"{self.name}.build.lock"), "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

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
        # Searches read only the page's payloads from SQL (the rest is in memory), so a
        # small page cache per connection (one per thread) is enough.
        connection.execute("PRAGMA cache_size=-4000")
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
                stored = connection.execute("SELECT stamp, payload FROM docs WHERE service_id = ?",
                                            (listing.service.id,)).fetchone()
                if stored is not None and stored[0] > _stamp(listing):
                    continue  # two writers raced to the index: the newer listing is already in
                if stored is not None and stored[0] == _stamp(listing) and stored[1] == json.dumps(
                        listing_to_dict(listing), ensure_ascii=False):
                    # This very listing is in already (the API wrote it, then its provider event
                    # came): rewriting it would only churn rowids under concurrent readers.
                    continue
                self._remove(connection, listing.service.id)
                doc = _insert(connection, listing)
                connection.execute("INSERT INTO changes (doc) VALUES (?)", (doc,))
            # Workers that fall further behind than this reload everything instead.
            connection.execute("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?",
                                (CHANGES_KEPT,))

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
        for table in ("doc_locations", "doc_hours", "doc_areas", "doc_languages"):
            connection.execute(f"DELETE FROM {table} WHERE doc = ?", (doc,))
        connection.execute("DELETE FROM docs_fts WHERE rowid = ?", (doc,))
        connection.execute("DELETE FROM docs WHERE rowid = ?", (doc,))
        connection.execute("INSERT INTO changes (doc) VALUES (?)", (doc,))

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
            connection.execute("INSERT INTO meta (key, value) VALUES ('built_at', datetime('now'))")
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

    # --- searching ------------------------------------------------------------------

    def _columns(self, connection: sqlite3.Connection) -> Columns:
        """This process's columnar copy of the index file in use, with every change that
        any process logged since the last search applied."""
        path = self._local.path
        columns = self._columns_by_path.get(path)
        latest = connection.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
        if columns is not None and columns.last_change == latest:
            return columns
        if columns is not None:
            oldest = connection.execute("SELECT coalesce(min(seq), 0) FROM changes").fetchone()[0]
            if oldest > columns.last_change + 1:
                columns = None  # the log was pruned past what we have: load everything again
        if columns is None:
            columns = Columns()
            columns.last_change = latest  # changes logged while loading are applied next time
            columns.load(connection)
            columns.prepare()
            self._columns_by_path = {path: columns}
            return columns
        changed = sorted({doc for (doc,) in connection.execute(
            "SELECT doc FROM changes WHERE seq > ? AND seq <= ?", (columns.last_change, latest))})
        stored = {rowid for (rowid,) in connection.execute(
            f"SELECT rowid FROM docs WHERE rowid IN ({_marks(changed)})", changed)} if changed else set()
        columns.unload([doc for doc in changed if doc not in stored])
        added = [doc for doc in changed if doc in stored and not columns.is_live(doc)]
        columns.load(connection, added)
        columns.prepare(added)
        columns.last_change = latest
        return columns

    def warm(self) -> None:
        """Load this process's in-memory columns now rather than on the first search."""
        if not os.path.exists(self.pointer):
            return  # nothing built yet; do not create an empty index that looks complete
        if self.rebuild_reason() in ("the search index has an older layout", "the search index file is missing"):
            return  # its tables may lack columns this version reads: it is rebuilt before use
        connection = self._connection()
        with self._columns_lock:
            self._columns(connection)

    def search(self, query: SearchQuery, viewer: Viewer, today: date) -> SearchResult:
        connection = self._connection()
        for attempt in (1, 2):
            with self._columns_lock:
                columns = self._columns(connection)
                found = evaluate(columns, query, viewer)
            page = self._listings(connection, found.page, viewer)
            # Another process may replace a listing (new rowid) between catching up with the
            # change log and reading the page: catch up again and search once more.
            if all(item is not None for item in page):
                break
        path, private, words = self._local.path, not disclosure(viewer, True).guarded, tuple(found.words)
        hits = []
        for rowid, item in zip(found.page, page):
            if item is None:
                continue  # replaced twice in a row meanwhile: the next search has it
            listing, document = item
            distance = found.distances.get(int(rowid))
            hits.append(Hit(listing=listing, distance_km=distance, document=document,
                            highlights=self._highlights((path, rowid, private, words), listing),
                            stale=listing.service.is_stale(today)))
        return SearchResult(total=found.total, hits=hits, facets=found.facets)

    def matching_ids(self, query: SearchQuery, viewer: Viewer, limit: int) -> list[str]:
        connection = self._connection()
        with self._columns_lock:
            found = evaluate(self._columns(connection), replace(query, page=1, per_page=limit), viewer)
        ids: dict[int, str] = {}
        for start in range(0, len(found.page), 900):
            chunk = found.page[start:start + 900]
            ids.update(connection.execute(f"SELECT rowid, service_id FROM docs WHERE rowid IN ({_marks(chunk)})",
                                          chunk).fetchall())
        return [ids[rowid] for rowid in found.page if rowid in ids]

    def suggest(self, text: str, viewer: Viewer, limit: int) -> list[Suggestion]:
        """Names are public, also a confidential provider's: nothing to redact for `viewer`."""
        words = query_terms(text)
        if not words:
            return []
        connection = self._connection()
        with self._columns_lock:
            names = suggested_names(self._columns(connection), words, limit)
        return suggestions(names, text, limit)

    LISTINGS_CACHED = 10_000  # keys; a listing without a confidential place is one value under two
    # The same words find the same services near the same places again and again: their
    # marked fields are kept rather than folded and matched anew (a tenth of a search's time).
    # Only searches that found something are kept, so their words are the index's own.
    HIGHLIGHTS_CACHED = 10_000

    def _highlights(self, key: tuple, listing: Listing) -> dict[str, str]:
        """domain.search.highlights of the listing stored under `key`'s file and rowid, as
        its viewer sees it, for `key`'s words (the listing under a rowid never changes)."""
        found = self._highlight_cache.get(key)
        if found is None:
            found = highlights(listing, list(key[3]))
            self._highlight_cache.put(key, found)
        return found

    def _listings(self, connection, rowids: list[int], viewer: Viewer) -> list[tuple[Listing, dict]]:
        """The page's listings, redacted for the viewer. A rowid's content never changes (a
        change gets a new rowid), so decoded listings are cached without invalidation, each as
        stored (for those told all of every place) and as the public is shown it."""
        private = not disclosure(viewer, True).guarded
        path = self._local.path  # rowids are numbered per index file: a rebuild starts again
        found = {r: self._listing_cache.get((path, r, private)) for r in rowids}
        missing = [r for r, listing in found.items() if listing is None]
        for rowid, payload in payloads(connection, missing).items():
            listing = listing_from_dict(payload)
            public = redact_listing(listing, PUBLIC)
            whole = (listing, payload)
            # Most services have no confidential place: the public view is the listing itself,
            # and one entry serves both (no second encoding, no second copy in memory).
            redacted = whole if public is listing else (public, listing_to_dict(public))
            found[rowid] = whole if private else redacted
            self._listing_cache.put((path, rowid, True), whole)
            self._listing_cache.put((path, rowid, False), redacted)
        return [found[r] for r in rowids]

    def service_ids(self) -> set[str]:
        return {row[0] for row in self._connection().execute("SELECT service_id FROM docs")}

    def check(self) -> None:
        self._connection().execute("SELECT count(*) FROM docs").fetchone()


class _Recent:
    """A cache of the `size` entries put in last (the oldest is forgotten first), shared by a
    worker's threads."""

    def __init__(self, size: int):
        self.size = size
        self._entries: dict = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            return self._entries.get(key)

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]


def _marks(values) -> str:
    return ", ".join("?" * len(values))


@contextmanager
def _transaction(connection: sqlite3.Connection):
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _insert(connection: sqlite3.Connection, listing: Listing) -> int:
    service, organization = listing.service, listing.organization
    public_places, secret_places = searchable_places(listing)
    zone = listing.locations[0].timezone if listing.locations else "Asia/Ho_Chi_Minh"
    districts = sorted({loc.district_code for loc in listing.locations if loc.district_code})
    cursor = connection.execute(
        "INSERT INTO docs (service_id, name_sort, name_key, org_key, stamp, kind, status, gender, min_age, max_age, "
        "available, always_open, tz, closed_on, districts, languages, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (service.id, fold(service.name), suggestion_key(service.name), suggestion_key(organization.name),
         _stamp(listing), service.kind, service.status, service.gender, service.minimum_age, service.maximum_age,
         service.capacity.available if service.capacity else None, int(service.always_open), zone,
         " ".join(d.isoformat() for d in service.closed_on), " ".join(districts),
         " ".join(sorted(set(service.languages))), json.dumps(listing_to_dict(listing), ensure_ascii=False)))
    doc = cursor.lastrowid
    connection.execute(
        "INSERT INTO docs_fts (rowid, name, org_name, description, location_text, secret_location_text) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (doc, fold(service.name), fold(organization.name), fold(service.description), fold(public_places),
         fold(secret_places)))
    for loc in listing.locations:
        if loc.latitude is None or loc.longitude is None:
            continue
        connection.execute("INSERT INTO doc_locations (doc, lat, lon, confidential) VALUES (?, ?, ?, ?)",
                           (doc, loc.latitude, loc.longitude, int(loc.confidential)))
    if not service.always_open:
        connection.executemany("INSERT INTO doc_hours (doc, start, \"end\") VALUES (?, ?, ?)",
                               [(doc, s, e) for s, e in opening.weekly_intervals(service.hours)])
    areas = set()
    for loc in listing.locations:  # secret: an area of its own the rule keeps from the public
        told = disclosure(PUBLIC, loc.confidential).areas(loc)
        areas |= {(code, "L", int(code not in told)) for code in loc.area_codes}
    areas |= {(code, "S", 0) for code in service.service_areas}
    areas |= {(code, "U", 0) for code in listing.served_ancestors}
    connection.executemany("INSERT INTO doc_areas (doc, code, how, secret) VALUES (?, ?, ?, ?)",
                           [(doc, code, how, secret) for code, how, secret in areas])
    connection.executemany("INSERT INTO doc_languages (doc, lang) VALUES (?, ?)",
                           [(doc, lang) for lang in set(service.languages)])
    return doc


def _stamp(listing: Listing) -> str:
    """The newest change a listing reflects, as a sortable UTC timestamp."""
    return listing.changed_at.isoformat()
