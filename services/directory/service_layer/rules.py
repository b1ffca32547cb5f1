"""The rules a location or a service must keep with the records it names: they need the
stored kinds, areas, organizations and locations, so they read through the unit of work."""
from __future__ import annotations

from ..domain.errors import InvalidReference
from ..domain.model import AREA_LEVELS, Location, Organization, Service
from .listings import ancestors
from .unit_of_work import DirectoryUnitOfWork


def check_organization(uow: DirectoryUnitOfWork, organization: Organization) -> None:
    """An organization names nothing else."""


def check_location(uow: DirectoryUnitOfWork, location: Location) -> None:
    if uow.organizations.get(location.organization_id) is None:
        raise InvalidReference("organization_id", f"organization {location.organization_id} does not exist")
    areas = uow.areas.all()
    parent = None
    for level, code in zip(AREA_LEVELS, (location.province_code, location.district_code, location.commune_code)):
        field = f"{level}_code"
        if code is None:
            continue
        area = areas.get(code)
        if area is None or area.level != level:
            raise InvalidReference(field, f"no {level} has the code {code!r}")
        if parent is not None and parent not in ancestors(areas, code):
            raise InvalidReference(field, f"{level} {code} is not inside {parent}")
        parent = code


def check_service(uow: DirectoryUnitOfWork, service: Service) -> None:
    kinds = uow.kinds.all()
    if service.kind not in kinds:
        raise InvalidReference("kind", f"unknown kind {service.kind!r}; known: {', '.join(sorted(kinds))}")
    if uow.organizations.get(service.organization_id) is None:
        raise InvalidReference("organization_id", f"organization {service.organization_id} does not exist")
    locations = uow.locations.get_many(service.location_ids)
    for i, location_id in enumerate(service.location_ids):
        location = locations.get(location_id)
        if location is None:
            raise InvalidReference(f"location_ids.{i}", f"location {location_id} does not exist")
        if kinds[service.kind].confidential_by_default and not location.confidential:
            raise InvalidReference(f"location_ids.{i}", f"a {service.kind} may only be at a confidential "
                                                        f"location; location {location_id} is public")
    areas = uow.areas.all()
    hidden = {loc.commune_code for loc in locations.values() if loc.confidential and loc.commune_code}
    for i, code in enumerate(service.service_areas):
        if code not in areas:
            raise InvalidReference(f"service_areas.{i}", f"no area has the code {code!r}")
        if code in hidden:  # the areas a service covers are public: they must not point at a shelter
            raise InvalidReference(f"service_areas.{i}", "this is the commune of the service's confidential "
                                                         "location; give the district or province instead")
