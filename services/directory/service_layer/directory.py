"""The directory's use cases as bootstrap wires them (`bootstrap.use_cases`): one object per
purpose, on one unit-of-work factory and one search index. Entrypoints take the one they need."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable

from ..domain.model import Area, Location, Organization, Service
from .hsds_queries import HsdsQueries
from .imports import Imports
from .indexing import Indexing
from .kind_mappings import KindMappingTable
from .ports import ProviderIndex
from .reference import Reference
from .registry import Registry
from .search import Search
from .unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Directory:
    uow: UnitOfWorkFactory
    index: ProviderIndex
    today: Callable[[], date]
    registry: Registry
    reference: Reference
    search: Search
    hsds: HsdsQueries
    kind_mappings: KindMappingTable
    indexing: Indexing
    imports: Imports

    # What the operators' commands ask of the whole directory (`haven reindex`, demo data).

    def add_areas(self, areas: Iterable[Area]) -> list[Area]:
        return self.reference.add_areas(areas)

    def load_trusted(self, providers: Iterable[tuple[Organization, list[Location], list[Service]]]) -> int:
        return self.imports.load_trusted(providers)

    def rebuild_index(self) -> int:
        return self.indexing.rebuild()
