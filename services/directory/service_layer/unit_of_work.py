"""The unit of work the directory's use cases see: one transaction, the repositories it
carries, and the provider events it writes with the change (the outbox)."""
from __future__ import annotations

from typing import Callable

from haven.platform.unit_of_work import Outgoing, UnitOfWork

from ..contract import TOPIC, service_changed
from ..domain.model import Service, now
from .ports import Areas, KindMappingTable, Kinds, Locations, Organizations, Services


class DirectoryUnitOfWork(UnitOfWork):
    organizations: Organizations
    locations: Locations
    services: Services
    areas: Areas
    kinds: Kinds
    kind_mappings: KindMappingTable

    def announce(self, service: Service, change: str) -> None:
        """A provider event for `service` (contract.CHANGES), written with this transaction."""
        event = service_changed(service.id, service.organization_id, change, now())
        self.publish(Outgoing(TOPIC, event.subject, event))


UnitOfWorkFactory = Callable[[], DirectoryUnitOfWork]
