"""The search-index port. The database is the system of record; an index is a projection
of it that can always be rebuilt. Every adapter passes the same contract suite
(tests/contract/test_provider_index.py)."""
from __future__ import annotations

import abc
from contextlib import contextmanager
from datetime import date
from typing import Iterable, Iterator

from ..domain.search import Listing, SearchQuery, SearchResult, Suggestion, Viewer


class IndexUnavailable(RuntimeError):
    """The index cannot answer now; the message says why in words an operator can act on."""


class ProviderIndex(abc.ABC):
    @abc.abstractmethod
    def upsert(self, listings: Iterable[Listing]) -> None:
        """Add or replace listings; searchable when this returns."""

    @abc.abstractmethod
    def delete(self, service_ids: Iterable[str]) -> None: ...

    @abc.abstractmethod
    def search(self, query: SearchQuery, viewer: Viewer, today: date) -> SearchResult: ...

    @abc.abstractmethod
    def matching_ids(self, query: SearchQuery, viewer: Viewer, limit: int) -> list[str]:
        """Ids of the services matching `query` (paging ignored), best first, at most `limit`."""

    @abc.abstractmethod
    def suggest(self, text: str, viewer: Viewer, limit: int) -> list[Suggestion]:
        """Names completing what is being typed (domain.search.suggestions ranks them)."""

    @abc.abstractmethod
    def rebuild(self, listings: Iterable[Listing]) -> int:
        """Build a fresh index aside from `listings` and switch to it atomically; search keeps
        answering from the old one meanwhile. Returns the number of listings indexed."""

    @abc.abstractmethod
    def service_ids(self) -> set[str]: ...

    def warm(self) -> None:
        """Prepare to answer quickly (load caches); optional for an adapter."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise if the index cannot answer (readiness)."""

    def rebuild_reason(self) -> str | None:
        """Why the index must be built from the database before it can answer (none yet, an
        older layout, never built from the database); None when it can answer."""
        return None

    def needs_rebuild(self) -> bool:
        """The directory then builds the index when it starts (bootstrap.IndexKeeper)."""
        return self.rebuild_reason() is not None

    @contextmanager
    def building(self) -> Iterator[bool]:
        """Yields True to the one process that may build the index now, False to others."""
        yield True
