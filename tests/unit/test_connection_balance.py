"""The rule that spreads kept-alive connections over workers (haven/serving/balance.py)."""
from __future__ import annotations

import socket

import pytest

from haven.serving import balance
from haven.serving.balance import ConnectionTable, FairShare


@pytest.fixture
def listener():
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def worker(table: ConnectionTable, pid: int) -> FairShare:
    share = FairShare(table)
    share.slot = table.join(pid)
    return share


def test_a_worker_accepts_while_no_other_holds_fewer_connections(listener):
    table = ConnectionTable(slots=4)
    first, second = worker(table, 101), worker(table, 102)
    assert first.may_accept(0, [listener]) and second.may_accept(0, [listener])
    first.publish(1)
    assert not first.may_accept(1, [listener])  # the other holds none
    assert second.may_accept(0, [listener])
    second.publish(1)
    assert first.may_accept(1, [listener])  # level again: either may take the next


def test_a_stopping_or_dead_worker_is_not_waited_for(listener):
    table = ConnectionTable(slots=4)
    first, second = worker(table, 101), worker(table, 102)
    first.publish(3)
    assert not first.may_accept(3, [listener])
    second.stop()  # recycled: it accepts no more
    assert first.may_accept(3, [listener])
    third = worker(table, 103)  # its replacement
    assert not first.may_accept(3, [listener])
    table.leave(103)
    table.leave(102)
    assert first.may_accept(3, [listener])
    assert table.join(104) is not None  # freed slots are used again


def test_a_connection_nobody_accepts_is_taken_after_a_moment(listener, monkeypatch):
    table = ConnectionTable(slots=4)
    busy, _stuck = worker(table, 101), worker(table, 102)
    busy.publish(5)
    now = [100.0]
    monkeypatch.setattr(balance.time, "monotonic", lambda: now[0])
    client = socket.create_connection(listener.getsockname())  # waits in the backlog
    try:
        assert not busy.may_accept(5, [listener])
        now[0] += balance.STARVED_SECONDS / 2
        assert not busy.may_accept(5, [listener])
        now[0] += balance.STARVED_SECONDS
        assert busy.may_accept(5, [listener])  # the less busy worker is stuck: take it
        assert not busy.may_accept(6, [listener])  # one a starved interval, not the whole backlog
        now[0] += balance.STARVED_SECONDS * 1.5
        assert busy.may_accept(6, [listener])
    finally:
        client.close()


def test_a_full_table_leaves_a_worker_free_to_accept(listener):
    table = ConnectionTable(slots=1)
    worker(table, 101).publish(0)
    late = worker(table, 102)
    assert late.slot is None and late.may_accept(50, [listener])


def test_a_worker_holding_two_more_than_another_hands_one_connection_over_at_a_time(monkeypatch):
    table = ConnectionTable(slots=4)
    busy, late = worker(table, 101), worker(table, 102)
    now = [100.0]
    monkeypatch.setattr(balance.time, "monotonic", lambda: now[0])
    late.publish(0)
    assert not busy.over_share(1)  # one more than the other: even enough
    assert busy.over_share(2)
    assert not busy.over_share(2)  # one at a time
    now[0] += balance.RECHECK_SECONDS * 1.5
    assert busy.over_share(2)
    late.stop()  # the other stops accepting: nothing to hand over to
    now[0] += 1
    assert not busy.over_share(5)
