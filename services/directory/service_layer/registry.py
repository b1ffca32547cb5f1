"""The registry of organizations, locations and services: one path for each change of any
of the three (records.py says what sets them apart), and the capacity fast path. Every
change reaches the search index before the use case returns, so the administrator who just
saved a record finds it in search at once."""
from __future__ import annotations

from datetime import date
from typing import Callable

from ..domain.errors import InUse, VersionConflict
from ..domain.model import Service
from ..domain.search import Listing
from .commands import ListServices, Record, Register, Remove, Revise, UpdateCapacity
from .indexing import reindex_now
from .listings import listings
from .ports import ProviderIndex
from .records import kind_of, recheck_listed
from .unit_of_work import DirectoryUnitOfWork, UnitOfWorkFactory


def _editable(record: Record) -> dict:
    return {name: getattr(record, name) for name in record.EDITABLE}


def _announce(uow: DirectoryUnitOfWork, services: list[Service], change: str) -> list[Service]:
    """Announce the `change` of each service's listing (contract.CHANGES); the services."""
    for service in services:
        uow.announce(service, change)
    return services


def _changed(uow: DirectoryUnitOfWork, services: list[Service], change: str) -> list[Listing]:
    """Announce the change, and read the services' listings for the index once it is committed."""
    return listings(uow, _announce(uow, services, change))


class Registry:
    def __init__(self, uow: UnitOfWorkFactory, index: ProviderIndex, today: Callable[[], date] = date.today):
        self.uow = uow
        self.index = index
        self.today = today

    def register(self, command: Register) -> Record:
        record, kind = command.record, kind_of(type(command.record))
        with self.uow() as uow:
            kind.check(uow, record)
            kind.records(uow).add(record)
            # a new service's own listing; nothing else shows a new record yet
            found = _changed(uow, kind.listed_in(uow, record), "created")
            uow.commit()
        reindex_now(self.index, found)
        return record

    def get(self, record_type: type, id: str) -> Record:
        with self.uow() as uow:
            return kind_of(record_type).found(uow, id)

    def list(self, record_type: type, page: int, per_page: int) -> tuple[int, list[Record]]:
        with self.uow() as uow:
            return kind_of(record_type).records(uow).list((page - 1) * per_page, per_page)

    def revise(self, command: Revise) -> Record:
        """A change of a record changes every listing that shows it (an organization's name is
        part of each of its services' listings): those are announced and re-indexed."""
        kind, id = kind_of(type(command.record)), command.record.id
        with self.uow() as uow:
            records = kind.records(uow)
            current = kind.found(uow, id)
            expected = current.version if command.expected_version is None else command.expected_version
            revised = current.revise(expected, **_editable(command.record))
            kind.check(uow, revised)
            if not records.save(revised, previous_version=current.version):
                latest = records.get(id)
                raise VersionConflict(kind.name, id, expected, latest.version if latest else -1)
            listed = kind.listed_in(uow, revised)
            recheck_listed(uow, kind, listed)
            found = _changed(uow, listed, "updated")
            uow.commit()
        reindex_now(self.index, found)
        return revised

    def remove(self, command: Remove) -> None:
        """A record goes only when no other record names it, so the one listing that can leave
        search with it is its own (a service's)."""
        kind, id = kind_of(command.kind), command.id
        with self.uow() as uow:
            records = kind.records(uow)
            current = kind.found(uow, id)
            if kind.in_use is not None and records.is_referenced(id):
                raise InUse(kind.in_use.format(id=id))
            expected = current.version if command.expected_version is None else command.expected_version
            if current.version != expected or not records.delete(id, expected):
                raise VersionConflict(kind.name, id, expected, current.version)
            retired = _announce(uow, kind.listed_in(uow, current), "retired")  # gone: no listing to read
            uow.commit()
        reindex_now(self.index, deleted=[service.id for service in retired])

    def update_capacity(self, command: UpdateCapacity) -> Service:
        with self.uow() as uow:
            service = kind_of(Service).found(uow, command.service_id)
            service.check_capacity_reporter(command.organization_id, command.any_organization)
            service = service.with_capacity(command.available, command.maximum)
            uow.services.save_capacity(service)
            found = _changed(uow, [service], "capacity_changed")
            uow.commit()
        reindex_now(self.index, found)
        return service

    def listing(self, service_id: str) -> Listing:
        with self.uow() as uow:
            return listings(uow, [kind_of(Service).found(uow, service_id)])[0]

    def services(self, command: ListServices) -> tuple[int, list[Listing]]:
        with self.uow() as uow:
            total, items = uow.services.list((command.page - 1) * command.per_page, command.per_page,
                                             command.organization_id, command.modified_after)
            return total, listings(uow, items)
