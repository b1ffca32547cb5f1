"""The directory's unit of work on its database: the repositories of one transaction, and
the provider events written to the outbox in it."""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from haven.platform.sql_unit_of_work import SqlUnitOfWork

from ..service_layer.unit_of_work import DirectoryUnitOfWork
from .orm import outbox
from .repository import (AreaRepository, KindMappingRepository, KindRepository, LocationRepository,
                         OrganizationRepository, ServiceRepository)


class SqlDirectoryUnitOfWork(DirectoryUnitOfWork, SqlUnitOfWork):
    def __init__(self, engine: Engine):
        super().__init__(engine, outbox)

    def open(self, connection: Connection) -> None:
        self.organizations = OrganizationRepository(connection)
        self.locations = LocationRepository(connection)
        self.services = ServiceRepository(connection)
        self.areas = AreaRepository(connection)
        self.kinds = KindRepository(connection)
        self.kind_mappings = KindMappingRepository(connection)
