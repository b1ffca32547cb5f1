"""In-memory stand-ins for the unit of work, for the fast tests of each service's use cases.

`FakeUnitOfWork` is the platform's own `UnitOfWork` (the event collection under test is the
real one) with the database replaced by lists: what a committed transaction wrote to the
outbox lands in `outbox`; what a rolled-back one wrote is gone. A service's fake adds its
in-memory repositories in `open()`, which runs at the start of each transaction.
"""
from __future__ import annotations

from haven.platform.unit_of_work import EventMessages, Outgoing, UnitOfWork, no_messages


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, messages: EventMessages = no_messages):
        super().__init__(messages)
        self.outbox: list[Outgoing] = []  # what committed transactions published, in order
        self.commits = 0
        self._pending: list[Outgoing] = []

    def __enter__(self):
        super().__enter__()
        self._pending = []
        self.open()
        return self

    def open(self) -> None:
        """Per transaction: nothing here; a service's fake may snapshot its repositories."""

    def _record(self, outgoing: Outgoing) -> None:
        self._pending.append(outgoing)

    def _commit(self) -> None:
        self.outbox.extend(self._pending)
        self._pending = []
        self.commits += 1

    def rollback(self) -> None:
        self._pending = []

    def topics(self) -> list[str]:
        return [o.topic for o in self.outbox]

    def event_types(self) -> list[str]:
        return [o.event.type for o in self.outbox]
