"""Repositories of the directory: the only code that turns rows into domain objects."""
from __future__ import annotations

import abc
from datetime import timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.model import Organization
from .orm import organizations


class OrganizationRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, organization: Organization) -> None: ...

    @abc.abstractmethod
    def get(self, id: str) -> Organization | None: ...

    @abc.abstractmethod
    def save(self, organization: Organization, previous_version: int) -> bool:
        """Store a revised organization if the stored one is still at previous_version."""

    @abc.abstractmethod
    def delete(self, id: str, version: int) -> bool: ...

    @abc.abstractmethod
    def list(self, offset: int, limit: int) -> tuple[int, list[Organization]]: ...


def _aware(value):
    # SQLite hands back naive datetimes; everything Haven stores is UTC.
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


class SqlOrganizationRepository(OrganizationRepository):
    def __init__(self, connection: Connection):
        self.connection = connection

    @staticmethod
    def _from_row(row) -> Organization:
        return Organization(id=row.id, name=row.name, description=row.description, email=row.email,
                            website=row.website, version=row.version,
                            created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))

    @staticmethod
    def _values(organization: Organization) -> dict:
        return {"name": organization.name, "description": organization.description,
                "email": organization.email, "website": organization.website,
                "version": organization.version, "created_at": organization.created_at,
                "updated_at": organization.updated_at}

    def add(self, organization: Organization) -> None:
        self.connection.execute(organizations.insert().values(id=organization.id, **self._values(organization)))

    def get(self, id: str) -> Organization | None:
        row = self.connection.execute(organizations.select().where(organizations.c.id == id)).first()
        return self._from_row(row) if row else None

    def save(self, organization: Organization, previous_version: int) -> bool:
        # Compare-and-set on the version: a concurrent writer makes this update match no
        # row, even if both read the same version before either wrote.
        result = self.connection.execute(
            organizations.update()
            .where(organizations.c.id == organization.id, organizations.c.version == previous_version)
            .values(**self._values(organization))
        )
        return result.rowcount == 1

    def delete(self, id: str, version: int) -> bool:
        result = self.connection.execute(
            organizations.delete().where(organizations.c.id == id, organizations.c.version == version))
        return result.rowcount == 1

    def list(self, offset: int, limit: int) -> tuple[int, list[Organization]]:
        total = self.connection.execute(sa.select(sa.func.count()).select_from(organizations)).scalar_one()
        rows = self.connection.execute(
            organizations.select().order_by(organizations.c.name, organizations.c.id).offset(offset).limit(limit))
        return total, [self._from_row(row) for row in rows]
