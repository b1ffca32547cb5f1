"""The unit of work on a relational database: one transaction, events into the outbox."""
from __future__ import annotations

import abc

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .outbox import Outbox
from .unit_of_work import EventMessages, Outgoing, UnitOfWork, no_messages


class SqlUnitOfWork(UnitOfWork):
    """One database transaction on `engine`; events go into the service's `outbox` table.
    Subclasses build their repositories on `self.connection` in `open`."""

    def __init__(self, engine: Engine, outbox: sa.Table | None = None, messages: EventMessages = no_messages):
        super().__init__(messages)
        self.engine = engine
        self._outbox = None if outbox is None else Outbox(outbox)

    def __enter__(self):
        super().__enter__()
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.open(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.rollback()
        finally:
            self.connection.close()

    @abc.abstractmethod
    def open(self, connection: Connection) -> None:
        """Build the repositories of this transaction."""

    def _record(self, outgoing: Outgoing) -> None:
        if self._outbox is None:
            raise RuntimeError(f"{type(self).__name__} has no outbox, yet an event was published")
        self._outbox.add(self.connection, outgoing.topic, outgoing.key, outgoing.event)

    def _commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()


__all__ = ["SqlUnitOfWork"]
