"""In-memory stand-ins for the unit of work, for the fast tests of each service's use cases.

`FakeUnitOfWork` is the platform's own `UnitOfWork` (the event collection under test is the
real one) with the database replaced by lists: what a committed transaction wrote to the
outbox lands in `outbox`; what a rolled-back one wrote is gone. A service's fake names its
in-memory repositories in `stores()`: each transaction starts from a copy of their state,
put back if it does not commit (a refused use case leaves them as they were, as the
database would). A fake may instead build fresh repositories in `open()`, which runs at the
start of each transaction.
"""
from __future__ import annotations

import copy

from haven.platform.unit_of_work import EventMessages, Outgoing, UnitOfWork, no_messages


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, messages: EventMessages = no_messages):
        super().__init__(messages)
        self.outbox: list[Outgoing] = []  # what committed transactions published, in order
        self.commits = 0
        self._pending: list[Outgoing] = []
        self._before: list[dict] | None = None

    def __enter__(self):
        super().__enter__()
        self._pending = []
        self.open()
        return self

    def stores(self) -> tuple:
        """The in-memory repositories whose state a transaction that fails puts back."""
        return ()

    def open(self) -> None:
        self._before = [copy.deepcopy(self._state(store)) for store in self.stores()]

    @staticmethod
    def _state(store) -> dict:
        return {name: value for name, value in vars(store).items() if not callable(value)}

    def _record(self, outgoing: Outgoing) -> None:
        self._pending.append(outgoing)

    def _commit(self) -> None:
        self.outbox.extend(self._pending)
        self._pending = []
        self._before = None
        self.commits += 1

    def rollback(self) -> None:
        if self._before is not None:
            for store, state in zip(self.stores(), self._before):
                vars(store).update(state)
            self._before = None
        self._pending = []

    def topics(self) -> list[str]:
        return [o.topic for o in self.outbox]

    def event_types(self) -> list[str]:
        return [o.event.type for o in self.outbox]
