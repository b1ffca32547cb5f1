"""The three kinds of record the registry keeps, and what sets them apart: the rules each
must keep, which listings show it, and why one cannot be removed while in use. Everything
else (register, read, revise, remove, import) is one path for all three."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..domain.errors import NotFound
from ..domain.model import Location, Organization, Service
from .commands import Record
from .ports import Records
from .rules import check_location, check_organization, check_service
from .unit_of_work import DirectoryUnitOfWork


@dataclass(frozen=True)
class RecordKind:
    name: str
    repository: str  # the unit of work's attribute
    check: Callable[[DirectoryUnitOfWork, Record], None]
    # The services whose listing shows the record: re-announced and re-indexed when it changes.
    listed_in: Callable[[DirectoryUnitOfWork, Record], list[Service]]
    # Why it cannot be removed while other records name it (None: nothing names it).
    in_use: str | None = None
    # Whether a change can break a rule of the services listed at it: a shelter's location
    # must stay confidential.
    listings_rechecked: bool = False

    def records(self, uow: DirectoryUnitOfWork) -> Records:
        return getattr(uow, self.repository)

    def found(self, uow: DirectoryUnitOfWork, id: str):
        item = self.records(uow).get(id)
        if item is None:
            raise NotFound(self.name, id)
        return item


KINDS: dict[type, RecordKind] = {
    Organization: RecordKind("organization", "organizations", check_organization,
                             lambda uow, o: uow.services.of_organization(o.id),
                             in_use="organization {id} still has services or locations; remove them first"),
    Location: RecordKind("location", "locations", check_location,
                         lambda uow, loc: list(uow.services.get_many(uow.locations.services_at(loc.id)).values()),
                         in_use="location {id} is still where services are delivered; unlink them first",
                         listings_rechecked=True),
    Service: RecordKind("service", "services", check_service, lambda uow, s: [s]),
}


def kind_of(record_type: type) -> RecordKind:
    return KINDS[record_type]


def recheck_listed(uow: DirectoryUnitOfWork, kind: RecordKind, listed: list[Service]) -> None:
    """After a change is written: the services that show it still keep their rules."""
    if kind.listings_rechecked:
        for service in listed:
            check_service(uow, service)
