"""Use cases of the directory. Entrypoints call these; these call the domain and the UoW."""
from __future__ import annotations

from typing import Callable

from ..domain.model import NotFound, Organization, VersionConflict, new_id
from .unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]


def register_organization(uow_factory: UnitOfWorkFactory, *, name: str, description: str = "",
                          email: str | None = None, website: str | None = None) -> Organization:
    organization = Organization(id=new_id(), name=name, description=description, email=email, website=website)
    with uow_factory() as uow:
        uow.organizations.add(organization)
        uow.commit()
    return organization


def get_organization(uow_factory: UnitOfWorkFactory, id: str) -> Organization:
    with uow_factory() as uow:
        organization = uow.organizations.get(id)
    if organization is None:
        raise NotFound("organization", id)
    return organization


def list_organizations(uow_factory: UnitOfWorkFactory, page: int, per_page: int) -> tuple[int, list[Organization]]:
    with uow_factory() as uow:
        return uow.organizations.list((page - 1) * per_page, per_page)


def revise_organization(uow_factory: UnitOfWorkFactory, id: str, expected_version: int, **changes) -> Organization:
    with uow_factory() as uow:
        current = uow.organizations.get(id)
        if current is None:
            raise NotFound("organization", id)
        revised = current.revise(expected_version, **changes)
        if not uow.organizations.save(revised, previous_version=current.version):
            latest = uow.organizations.get(id)
            raise VersionConflict("organization", id, expected_version, latest.version if latest else -1)
        uow.commit()
    return revised


def remove_organization(uow_factory: UnitOfWorkFactory, id: str, expected_version: int) -> None:
    with uow_factory() as uow:
        current = uow.organizations.get(id)
        if current is None:
            raise NotFound("organization", id)
        if current.version != expected_version or not uow.organizations.delete(id, expected_version):
            raise VersionConflict("organization", id, expected_version, current.version)
        uow.commit()
