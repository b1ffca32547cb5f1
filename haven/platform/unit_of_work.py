"""Unit of work: one transaction per use case, and the events it causes written with it.

A use case opens one (`with self.uow() as uow:`), reads and changes aggregates through the
repositories the unit of work carries, and calls `uow.commit()`. Commit first moves the
events the aggregates raised (and any the use case published itself) into the outbox,
then commits, so a change and its events exist together or not at all. Leaving the block
without committing rolls everything back: a refused request leaves nothing behind.

`UnitOfWork` is pure Python: a service's unit tests subclass it with in-memory
repositories (as *Architecture Patterns with Python*'s `FakeUnitOfWork`), and the event
collection they exercise is this very code. `haven.platform.sql_unit_of_work.SqlUnitOfWork`
is the adapter every service's `adapters/unit_of_work.py` builds on.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from .events import CloudEvent


@dataclass(frozen=True)
class Outgoing:
    """An event on its way to the event log: the topic, the key that keeps one aggregate's
    events in order, and the envelope."""

    topic: str
    key: str
    event: "CloudEvent"


# How a service turns one of an aggregate's domain events into what it publishes (its
# `contract`); None: the event stays inside the service.
EventMessages = Callable[[Any, Any], "Outgoing | Iterable[Outgoing] | None"]


def no_messages(aggregate: Any, event: Any) -> None:
    return None


class UnitOfWork(abc.ABC):
    def __init__(self, messages: EventMessages = no_messages):
        self._messages = messages
        self._seen: list[Any] = []
        self._published: list[Outgoing] = []

    def __enter__(self):
        self._seen, self._published = [], []
        return self

    def __exit__(self, *exc) -> None:
        self.rollback()

    def track(self, aggregate):
        """Called by repositories for each aggregate they add or hand out: its new events
        are collected at commit. Returns the aggregate."""
        if aggregate is not None and not any(seen is aggregate for seen in self._seen):
            self._seen.append(aggregate)
        return aggregate

    def publish(self, *outgoing: Outgoing) -> None:
        """An event that is no aggregate's (a delivery outcome, a provider change): it is
        written with this transaction too."""
        self._published.extend(outgoing)

    def commit(self) -> None:
        for outgoing in self._collect():
            self._record(outgoing)
        self._commit()

    def _collect(self) -> list[Outgoing]:
        collected = list(self._published)
        self._published.clear()
        for aggregate in self._seen:
            events = getattr(aggregate, "events", None)
            while events:
                made = self._messages(aggregate, events.pop(0))
                if isinstance(made, Outgoing):
                    collected.append(made)
                elif made is not None:
                    collected.extend(made)
        return collected

    @abc.abstractmethod
    def _record(self, outgoing: Outgoing) -> None:
        """Keep the event with the transaction (the outbox)."""

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


__all__ = ["EventMessages", "Outgoing", "UnitOfWork", "no_messages"]
