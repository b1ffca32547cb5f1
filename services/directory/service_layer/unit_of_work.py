"""Unit of work: one database transaction per use case, committed explicitly."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from ..adapters.repository import (AreaRepository, KindRepository, LocationRepository, OrganizationRepository,
                                   ServiceRepository)


class SqlUnitOfWork:
    organizations: OrganizationRepository
    locations: LocationRepository
    services: ServiceRepository
    areas: AreaRepository
    kinds: KindRepository

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> "SqlUnitOfWork":
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.organizations = OrganizationRepository(self.connection)
        self.locations = LocationRepository(self.connection)
        self.services = ServiceRepository(self.connection)
        self.areas = AreaRepository(self.connection)
        self.kinds = KindRepository(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()  # a failed use case leaves nothing behind
        finally:
            self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()
