"""The platform's unit of work: an aggregate's events leave with the commit, and only then."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from haven.platform.events import CloudEvent
from haven.platform.unit_of_work import Outgoing
from tests.support.fakes import FakeUnitOfWork


@dataclass
class Account:  # an aggregate: raises events as it changes
    id: str
    events: list = field(default_factory=list)

    def close(self) -> None:
        self.events.append(("closed", self.id))


def message(aggregate, event) -> Outgoing | None:
    kind, subject = event
    if kind == "internal":
        return None
    return Outgoing("accounts", subject, CloudEvent(f"org.haven.test.{kind}.v1", "/test", {}, subject=subject))


def test_a_committed_aggregate_publishes_its_events_once():
    uow = FakeUnitOfWork(message)
    account = Account("a1")
    with uow:
        uow.track(account)
        uow.track(account)  # handed out twice: its events still leave once
        account.close()
        uow.commit()
    assert uow.event_types() == ["org.haven.test.closed.v1"]
    assert [o.key for o in uow.outbox] == ["a1"]
    assert account.events == []  # moved out, so a second commit cannot repeat them
    with uow:
        uow.track(account)
        uow.commit()
    assert len(uow.outbox) == 1 and uow.commits == 2


def test_leaving_without_commit_publishes_nothing():
    uow = FakeUnitOfWork(message)
    with pytest.raises(RuntimeError):
        with uow:
            account = uow.track(Account("a2"))
            account.close()
            uow.publish(message(None, ("opened", "a2")))
            raise RuntimeError("the use case failed")
    assert uow.outbox == [] and uow.commits == 0


def test_published_events_come_before_the_aggregates_and_internal_ones_stay():
    uow = FakeUnitOfWork(message)
    with uow:
        account = uow.track(Account("a3"))
        account.events.append(("internal", "a3"))
        account.close()
        uow.publish(message(None, ("audited", "a3")))
        uow.commit()
    assert uow.event_types() == ["org.haven.test.audited.v1", "org.haven.test.closed.v1"]


def test_without_a_contract_nothing_is_published():
    uow = FakeUnitOfWork()
    with uow:
        uow.track(Account("a4")).close()
        uow.commit()
    assert uow.outbox == []


class Shelves:  # an in-memory repository
    def __init__(self):
        self.rows: dict[str, int] = {}


class ShelvesUnitOfWork(FakeUnitOfWork):
    def __init__(self):
        super().__init__()
        self.shelves = Shelves()

    def stores(self) -> tuple:
        return (self.shelves,)


def test_the_fake_puts_its_stores_back_when_a_use_case_fails():
    # else a "nothing was stored" test of a refused use case would prove nothing
    uow = ShelvesUnitOfWork()
    with uow:
        uow.shelves.rows["a"] = 1
        uow.commit()
    with pytest.raises(RuntimeError):
        with uow:
            uow.shelves.rows["a"] = 2
            uow.shelves.rows["b"] = 3
            raise RuntimeError("refused")
    assert uow.shelves.rows == {"a": 1}
