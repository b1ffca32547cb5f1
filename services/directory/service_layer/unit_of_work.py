"""Unit of work: one database transaction per use case, committed explicitly."""
from __future__ import annotations

import abc

from sqlalchemy.engine import Engine

from ..adapters.repository import OrganizationRepository, SqlOrganizationRepository


class UnitOfWork(abc.ABC):
    organizations: OrganizationRepository

    def __enter__(self) -> "UnitOfWork":
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()  # a no-op after commit; undoes everything a failed use case wrote

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> "SqlUnitOfWork":
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.organizations = SqlOrganizationRepository(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
