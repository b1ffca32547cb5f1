"""The directory's use cases as bootstrap wires them (`bootstrap.use_cases`): one object per
purpose, on one unit-of-work factory and one search index. Entrypoints take the one they need."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

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

