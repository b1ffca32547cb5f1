"""Keeping the search index a true projection of the database: right after each change,
from a provider event, and whole (a rebuild), when the index is missing or outdated."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable, Iterable

from ..domain.search import Listing
from .listings import all_listings, listings
from .ports import IndexUnavailable, ProviderIndex
from .unit_of_work import UnitOfWorkFactory

log = logging.getLogger("haven.directory")


def reindex_now(index: ProviderIndex, found: Iterable[Listing] = (), deleted: Iterable[str] = ()) -> None:
    """After the change is committed: make it searchable before the caller hears back.
    If the index cannot take it now (Elasticsearch down), the change stands anyway — the
    database is the record — and its provider event brings the index up to date later
    (`Indexing.sync_listing`), so the caller gets no error for a change that was made."""
    found, deleted = list(found), list(deleted)
    try:
        if found:
            index.upsert(found)
        if deleted:
            index.delete(deleted)
    except Exception as exc:  # noqa: BLE001 — see above
        log.warning("search index not updated now; the provider event will bring it up to date",
                    extra={"error": type(exc).__name__})


class Indexing:
    def __init__(self, uow: UnitOfWorkFactory, index: ProviderIndex):
        self.uow = uow
        self.index = index

    def sync_listing(self, service_id: str) -> str:
        """Bring one service's listing in the index up to date with the database (a provider
        event's consumer calls this): 'upserted' or 'deleted'. Raises if the index cannot
        take it, so the event is retried."""
        with self.uow() as uow:
            service = uow.services.get(service_id)
            found = listings(uow, [service]) if service is not None else []
        if found:
            self.index.upsert(found)
            return "upserted"
        self.index.delete([service_id])
        return "deleted"

    def rebuild(self) -> int:
        """Rebuild the search index from the database while search keeps answering, then
        catch up with the writes that landed during the build."""
        started = datetime.now(timezone.utc)
        count = self.index.rebuild(all_listings(self.uow))
        with self.uow() as uow:
            changed = listings(uow, uow.services.changed_since(started))
            stored = uow.services.ids()
        self.index.upsert(changed)
        self.index.delete(self.index.service_ids() - stored)
        return count

    def build_if_needed(self, database_ready: Callable[[], object]) -> bool:
        """Build the search index from the database when this data dir has none (a new
        machine, a new pod), has one from an older version, or one that was never built from
        the database — once the database is migrated. Only one process builds at a time.
        True when the index can answer."""
        try:
            if not self.index.needs_rebuild():
                return True
        except IndexUnavailable:
            return False  # the search cluster is down: readiness says so, and why
        try:
            database_ready()
        except Exception:  # noqa: BLE001 — `haven migrate` has not run yet: readiness says so
            return False
        with self.index.building() as mine:
            if mine and self.index.needs_rebuild():
                self.rebuild()
                log.info("search index built from the database")
        return not self.index.needs_rebuild()
