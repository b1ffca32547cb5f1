"""A service's listing: the service with its organization, locations and area names, as
search, the HSDS API and the index show it."""
from __future__ import annotations

from typing import Iterator

from ..domain.model import Area, Service
from ..domain.search import Listing
from .unit_of_work import DirectoryUnitOfWork, UnitOfWorkFactory


def listings(uow: DirectoryUnitOfWork, services: list[Service]) -> list[Listing]:
    if not services:
        return []
    organizations = uow.organizations.get_many(s.organization_id for s in services)
    locations = uow.locations.get_many(loc for s in services for loc in s.location_ids)
    areas = uow.areas.all()
    return [listing(s, organizations, locations, areas) for s in services]


def all_listings(uow_factory: UnitOfWorkFactory) -> Iterator[Listing]:
    """Every service's listing, read in one transaction as it goes (a national directory
    does not fit in memory)."""
    with uow_factory() as uow:
        organizations = {o.id: o for o in uow.organizations.all()}
        locations = {loc.id: loc for loc in uow.locations.all()}
        areas = uow.areas.all()
        for service in uow.services.all():
            yield listing(service, organizations, locations, areas)


def listing(service: Service, organizations: dict, locations: dict, areas: dict[str, Area]) -> Listing:
    places = tuple(locations[loc] for loc in service.location_ids if loc in locations)
    codes = {c for loc in places for c in loc.area_codes} | set(service.service_areas)
    served_ancestors = {a for code in service.service_areas for a in ancestors(areas, code)}
    return Listing(service=service, organization=organizations[service.organization_id], locations=places,
                   area_names={c: areas[c].name for c in codes if c in areas},
                   served_ancestors=tuple(sorted(served_ancestors)))


def ancestors(areas: dict[str, Area], code: str) -> tuple[str, ...]:
    found = []
    parent = areas[code].parent_code if code in areas else None
    while parent and parent in areas and parent not in found:
        found.append(parent)
        parent = areas[parent].parent_code
    return tuple(found)
