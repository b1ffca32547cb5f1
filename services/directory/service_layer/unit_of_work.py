"""Unit of work: one database transaction per use case, committed explicitly."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from haven.platform.outbox import Outbox

from .. import contract
from ..adapters.orm import outbox
from ..domain.model import Service, now

from ..adapters.repository import (AreaRepository, KindMappingRepository, KindRepository, LocationRepository,
                                   OrganizationRepository, ServiceRepository)


class SqlUnitOfWork:
    organizations: OrganizationRepository
    locations: LocationRepository
    services: ServiceRepository
    areas: AreaRepository
    kinds: KindRepository
    kind_mappings: KindMappingRepository

    def __init__(self, engine: Engine):
        self.engine = engine
        self._outbox = Outbox(outbox)

    def __enter__(self) -> "SqlUnitOfWork":
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.organizations = OrganizationRepository(self.connection)
        self.locations = LocationRepository(self.connection)
        self.services = ServiceRepository(self.connection)
        self.areas = AreaRepository(self.connection)
        self.kinds = KindRepository(self.connection)
        self.kind_mappings = KindMappingRepository(self.connection)
        self._announced: list = []
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()  # a failed use case leaves nothing behind
        finally:
            self.connection.close()

    def announce(self, service: Service, change: str) -> None:
        """A provider event for `service`, written with this transaction (the outbox)."""
        self._announced.append(contract.service_changed(service.id, service.organization_id, change, now()))

    def commit(self) -> None:
        for event in self._announced:
            self._outbox.add(self.connection, contract.TOPIC, event.subject, event)
        self._announced.clear()
        self.transaction.commit()
