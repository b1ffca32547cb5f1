"""The SQL unit of work: the change and its outbox rows commit together or not at all."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from haven.platform import db
from haven.platform.events import CloudEvent
from haven.platform.outbox import outbox_table
from haven.platform.sql_unit_of_work import SqlUnitOfWork
from haven.platform.unit_of_work import Outgoing

metadata = sa.MetaData()
accounts = sa.Table("accounts", metadata, sa.Column("id", sa.String(10), primary_key=True))
outbox = outbox_table(metadata)


@dataclass
class Account:
    id: str
    events: list = field(default_factory=list)


class Accounts:
    def __init__(self, uow: "AccountsUnitOfWork"):
        self.uow = uow

    def add(self, account: Account) -> None:
        self.uow.connection.execute(accounts.insert().values(id=account.id))
        self.uow.track(account)


class AccountsUnitOfWork(SqlUnitOfWork):
    def open(self, connection) -> None:
        self.accounts = Accounts(self)


def opened(aggregate, event) -> Outgoing:
    return Outgoing("accounts", aggregate.id, CloudEvent("org.haven.test.opened.v1", "/test", {}, subject=aggregate.id))


@pytest.fixture
def engine(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'uow.sqlite3'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def rows(engine):
    with engine.connect() as connection:
        return (connection.execute(sa.select(accounts.c.id)).scalars().all(),
                connection.execute(sa.select(outbox.c.key, outbox.c.topic)).all())


def test_commit_writes_the_change_and_its_events(engine):
    with AccountsUnitOfWork(engine, outbox, opened) as uow:
        account = Account("a1", events=["opened"])
        uow.accounts.add(account)
        uow.commit()
    assert rows(engine) == (["a1"], [("a1", "accounts")])


def test_a_failure_before_commit_leaves_neither(engine):
    with pytest.raises(ValueError):
        with AccountsUnitOfWork(engine, outbox, opened) as uow:
            uow.accounts.add(Account("a2", events=["opened"]))
            raise ValueError("refused")
    assert rows(engine) == ([], [])


def test_an_event_without_an_outbox_is_refused_not_dropped(engine):
    with pytest.raises(RuntimeError, match="no outbox"):
        with AccountsUnitOfWork(engine, None, opened) as uow:
            uow.accounts.add(Account("a3", events=["opened"]))
            uow.commit()
    assert rows(engine) == ([], [])
