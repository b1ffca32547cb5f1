"""In-memory stand-ins for the directory's unit of work and search index, for the fast tests
of its use cases (tests/unit/test_directory_use_cases.py).

Each transaction works on a copy of the committed tables, written back at commit: a refused
use case leaves nothing behind, as on the database. The index fake keeps listings and
answers every search with all of them, shown as the domain's confidentiality rule shows
them to the viewer (what every real index must do; the contract suite holds them to it)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Iterable

from services.directory.domain.kind_mappings import KindMappings
from services.directory.domain.model import BASE_KINDS, Area, Kind, Location, Organization, Service
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import Hit, Listing, SearchQuery, SearchResult, redact_listing
from services.directory.service_layer.ports import ProviderIndex
from services.directory.service_layer.unit_of_work import DirectoryUnitOfWork
from tests.support.fakes import FakeUnitOfWork


@dataclass
class Tables:
    organizations: dict[str, Organization] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=lambda: {code: Kind(code, *names)
                                                            for code, names in BASE_KINDS.items()})
    kind_mappings: KindMappings = field(default_factory=KindMappings)

    def copy(self) -> "Tables":
        return Tables(dict(self.organizations), dict(self.locations), dict(self.services), dict(self.areas),
                      dict(self.kinds), self.kind_mappings)


class FakeRecords:
    def __init__(self, tables: Tables, name: str):
        self.tables = tables
        self.rows = getattr(tables, name)

    def add(self, item) -> None:
        assert item.id not in self.rows, f"{item.id} is stored already"
        self.rows[item.id] = item

    def add_many(self, items: Iterable) -> None:
        for item in items:
            self.add(item)

    def get(self, id: str):
        return self.rows.get(id)

    def get_many(self, ids: Iterable[str]) -> dict:
        return {id: self.rows[id] for id in set(ids) if id in self.rows}

    def save(self, item, previous_version: int) -> bool:
        stored = self.rows.get(item.id)
        if stored is None or stored.version != previous_version:
            return False
        self.rows[item.id] = item
        return True

    def delete(self, id: str, version: int) -> bool:
        if id not in self.rows or self.rows[id].version != version:
            return False
        del self.rows[id]
        return True

    def list(self, offset: int, limit: int) -> tuple[int, list]:
        ordered = sorted(self.rows.values(), key=lambda item: (item.name, item.id))
        return len(ordered), ordered[offset:offset + limit]

    def all(self):
        return iter(sorted(self.rows.values(), key=lambda item: item.id))


class FakeOrganizations(FakeRecords):
    def is_referenced(self, id: str) -> bool:
        return any(r.organization_id == id for r in [*self.tables.services.values(), *self.tables.locations.values()])


class FakeLocations(FakeRecords):
    def services_at(self, id: str) -> list[str]:
        return [s.id for s in self.tables.services.values() if id in s.location_ids]

    def is_referenced(self, id: str) -> bool:
        return bool(self.services_at(id))


class FakeServices(FakeRecords):
    def save(self, service: Service, previous_version: int) -> bool:
        stored = self.rows.get(service.id)  # everything but the capacity, as the SQL repository
        return super().save(replace(service, capacity=stored.capacity) if stored else service, previous_version)

    def save_capacity(self, service: Service) -> None:
        self.rows[service.id] = replace(self.rows[service.id], capacity=service.capacity)

    def changed_since(self, moment: datetime) -> list[Service]:
        return [s for s in self.rows.values() if s.updated_at >= moment]

    def ids(self) -> set[str]:
        return set(self.rows)

    def of_organization(self, organization_id: str) -> list[Service]:
        return [s for s in self.rows.values() if s.organization_id == organization_id]

    def list(self, offset: int, limit: int, organization_id=None, modified_after=None, ids=None, kinds=None):
        found = [s for s in sorted(self.rows.values(), key=lambda s: (s.name, s.id))
                 if (not organization_id or s.organization_id == organization_id)
                 and (modified_after is None or s.updated_at > modified_after)
                 and (ids is None or s.id in set(ids)) and (not kinds or s.kind in kinds)]
        return len(found), found[offset:offset + limit]


class FakeAreas:
    def __init__(self, tables: Tables):
        self.rows = tables.areas

    def add_many(self, items: Iterable[Area]) -> None:
        for area in items:
            self.rows.setdefault(area.code, area)

    def all(self) -> dict[str, Area]:
        return dict(self.rows)


class FakeKinds:
    def __init__(self, tables: Tables):
        self.rows = tables.kinds

    def all(self) -> dict[str, Kind]:
        return dict(sorted(self.rows.items()))


class FakeKindMappingTable:
    def __init__(self, tables: Tables):
        self.tables = tables

    def get(self) -> KindMappings:
        return self.tables.kind_mappings

    def replace(self, mappings, previous_version: int, moment) -> bool:
        if self.tables.kind_mappings.version != previous_version:
            return False
        self.tables.kind_mappings = KindMappings(tuple(mappings), previous_version + 1)
        return True


class FakeDirectoryUnitOfWork(DirectoryUnitOfWork, FakeUnitOfWork):
    def __init__(self, tables: Tables | None = None):
        FakeUnitOfWork.__init__(self)
        self.committed = tables or Tables()

    def open(self) -> None:
        self.working = self.committed.copy()
        self.organizations = FakeOrganizations(self.working, "organizations")
        self.locations = FakeLocations(self.working, "locations")
        self.services = FakeServices(self.working, "services")
        self.areas = FakeAreas(self.working)
        self.kinds = FakeKinds(self.working)
        self.kind_mappings = FakeKindMappingTable(self.working)

    def _commit(self) -> None:
        self.committed = self.working
        self.working = self.committed.copy()
        super()._commit()


class FakeProviderIndex(ProviderIndex):
    def __init__(self):
        self.listings: dict[str, Listing] = {}

    def upsert(self, listings: Iterable[Listing]) -> None:
        self.listings.update((listing.service.id, listing) for listing in listings)

    def delete(self, service_ids: Iterable[str]) -> None:
        for service_id in service_ids:
            self.listings.pop(service_id, None)

    def search(self, query: SearchQuery, viewer: Viewer, today: date) -> SearchResult:
        hits = [Hit(redact_listing(listing, viewer), stale=listing.service.is_stale(today))
                for listing in self.listings.values()]
        return SearchResult(len(hits), hits, {})

    def matching_ids(self, query: SearchQuery, viewer: Viewer, limit: int) -> list[str]:
        return list(self.listings)[:limit]

    def suggest(self, text: str, viewer: Viewer, limit: int):
        return []

    def rebuild(self, listings: Iterable[Listing]) -> int:
        self.listings = {listing.service.id: listing for listing in listings}
        return len(self.listings)

    def service_ids(self) -> set[str]:
        return set(self.listings)

    def check(self) -> None:
        """Always answers."""
