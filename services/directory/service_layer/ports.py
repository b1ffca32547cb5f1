"""What the directory's use cases need from outside: the search index and the records.

The database is the system of record; an index is a projection of it that can always be
rebuilt. Every index adapter passes the same contract suite
(tests/contract/test_provider_index.py); every repository is the SQL one of
`adapters/repository.py` or the in-memory one of the unit tests."""
from __future__ import annotations

import abc
from contextlib import contextmanager
from datetime import date, datetime
from typing import Iterable, Iterator, Protocol, TypeVar

from ..domain.kind_mappings import KindMapping, KindMappings
from ..domain.model import Area, Kind, Location, Organization, Service
from ..domain.confidential import Viewer
from ..domain.search import Listing, SearchQuery, SearchResult, Suggestion

Item = TypeVar("Item", Organization, Location, Service)


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
        """The directory then builds the index when it starts (service_layer/indexing.py)."""
        return self.rebuild_reason() is not None

    @contextmanager
    def building(self) -> Iterator[bool]:
        """Yields True to the one process that may build the index now, False to others."""
        yield True


class Records(Protocol[Item]):
    """Versioned records of one kind: compare-and-set on the version for every change."""

    def add(self, item: Item) -> None: ...

    def add_many(self, items: Iterable[Item]) -> None: ...

    def get(self, id: str) -> Item | None: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, Item]: ...

    def save(self, item: Item, previous_version: int) -> bool:
        """False when the stored version is no longer `previous_version` (nothing changed)."""

    def delete(self, id: str, version: int) -> bool: ...

    def list(self, offset: int, limit: int) -> tuple[int, list[Item]]:
        """The total and one page, by name."""

    def all(self) -> Iterator[Item]: ...


class Organizations(Records[Organization], Protocol):
    def is_referenced(self, id: str) -> bool:
        """Services or locations still name it."""


class Locations(Records[Location], Protocol):
    def is_referenced(self, id: str) -> bool:
        """Services are still delivered there."""

    def services_at(self, id: str) -> list[str]: ...


class Services(Records[Service], Protocol):
    def save_capacity(self, service: Service) -> None:
        """The capacity alone, whatever the version (a count is an observation, not an edit)."""

    def changed_since(self, moment: datetime) -> list[Service]:
        """Services whose listing changed after `moment` (their own record, capacity,
        organization or a location)."""

    def ids(self) -> set[str]: ...

    def of_organization(self, organization_id: str) -> list[Service]: ...

    def list(self, offset: int, limit: int, organization_id: str | None = None,  # type: ignore[override]
             modified_after: datetime | None = None, ids: Iterable[str] | None = None,
             kinds: Iterable[str] | None = None) -> tuple[int, list[Service]]: ...

    def at_locations(self, offset: int, limit: int, *, organization_id: str | None = None,
                     modified_after: datetime | None = None, kinds: Iterable[str] | None = None,
                     ids: Iterable[str] | None = None, postcode: str | None = None, public_only: bool = True,
                     near: tuple[float, float, float] | None = None) -> tuple[int, list[tuple[str, str]]]:
        """(service id, location id) pairs, the HSDS service_at_location."""

    def postcode_centroid(self, postcode: str) -> tuple[float, float] | None: ...


class Areas(Protocol):
    def add_many(self, items: Iterable[Area]) -> None:
        """Codes already known are kept as they are."""

    def all(self) -> dict[str, Area]: ...


class Kinds(Protocol):
    def all(self) -> dict[str, Kind]: ...


class KindMappingTable(Protocol):
    def get(self) -> KindMappings: ...

    def replace(self, mappings: Iterable[KindMapping], previous_version: int, moment: datetime) -> bool:
        """Compare-and-set on the table's version: False when another writer got there first."""
