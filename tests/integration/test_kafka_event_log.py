"""The Kafka adapter of the event-log port against the Kafka-protocol stand-in (noida-db).

Every test uses topics and groups of its own on one stand-in for the module; the broker
outage test starts a stand-in of its own. Consumers that must run side by side each poll
from a thread of their own, as they would in separate processes.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict

import pytest
from kafka.partitioner.default import murmur2

from haven.platform.eventlog import Message, Record
from haven.platform.eventlog.kafka import KafkaEventLog, KafkaUnavailable, PublishFailed
from tests.contract.kafka_eventlog import TEST_OPTIONS, kafka_stand_in_and_event_log
from tests.support.noida import NoidaKafka

PARTITIONS = 4


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with NoidaKafka(tmp_path_factory.mktemp("noida")) as stand_in:
        yield stand_in


@pytest.fixture
def event_log(broker):
    log = KafkaEventLog(broker.bootstrap, **{**TEST_OPTIONS, "partitions": PARTITIONS})
    yield log
    log.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def drain(consumer, expected: int, timeout: float = 20.0, commit: bool = False) -> list[Record]:
    """Poll until `expected` records arrived (or the time is up)."""
    received: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        for record in consumer.poll(0.5):
            received.append(record)
            if commit:
                consumer.commit(record)
    return received


def kafka_partition(key: str, partitions: int = PARTITIONS) -> int:
    """Kafka's default partitioner (the Java client's): murmur2 of the key bytes, positive."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


@pytest.mark.timeout(60)
def test_publish_then_consume_in_order_per_key(event_log):
    topic, group = unique("orders"), unique("group")
    keys = [f"case-{n}" for n in range(10)]
    messages = [Message(topic, key, f"{key}:{seq}".encode(), {"seq": str(seq), "kind": "tést"})
                for seq in range(20) for key in keys]
    event_log.publish(messages[:100])
    event_log.publish(messages[100:])

    consumer = event_log.consumer(group, [topic])
    try:
        received = drain(consumer, len(messages))
    finally:
        consumer.close()

    assert len(received) == len(messages)
    by_key: dict[str, list[Record]] = defaultdict(list)
    for record in received:
        by_key[record.key].append(record)
    assert sorted(by_key) == sorted(keys)
    for key, records in by_key.items():
        assert [int(r.headers["seq"]) for r in records] == list(range(20)), key
        assert [r.value for r in records] == [f"{key}:{seq}".encode() for seq in range(20)]
        assert {r.partition for r in records} == {kafka_partition(key)}
        offsets = [r.offset for r in records]
        assert offsets == sorted(offsets)
        assert all(r.topic == topic and r.headers["kind"] == "tést" for r in records)
        assert all(abs(r.timestamp - time.time()) < 120 for r in records)
    assert len({r.partition for r in received}) > 1  # the keys really were spread


@pytest.mark.timeout(60)
def test_records_read_but_not_committed_are_delivered_again(event_log):
    topic, group = unique("referrals"), unique("group")
    event_log.publish([Message(topic, f"k{n}", f"v{n}".encode()) for n in range(12)])

    first = event_log.consumer(group, [topic])
    seen = drain(first, 12)
    first.close()  # crashed handler: nothing committed
    assert len(seen) == 12

    second = event_log.consumer(group, [topic])
    try:
        again = drain(second, 12)
    finally:
        second.close()
    key = lambda r: (r.partition, r.offset)  # noqa: E731
    assert sorted(map(key, again)) == sorted(map(key, seen))
    assert sorted(r.value for r in again) == sorted(r.value for r in seen)


@pytest.mark.timeout(60)
def test_committed_records_are_not_delivered_again(event_log):
    topic, group = unique("referrals"), unique("group")
    event_log.publish([Message(topic, "one-key", f"v{n}".encode()) for n in range(10)])

    first = event_log.consumer(group, [topic])
    records = drain(first, 10)
    assert [r.value for r in records] == [f"v{n}".encode() for n in range(10)]
    first.commit(records[5])
    first.commit(records[2])  # an older record: the committed position never moves back
    first.close()

    second = event_log.consumer(group, [topic])
    rest = drain(second, 4)
    assert [r.value for r in rest] == [f"v{n}".encode() for n in range(6, 10)]
    assert second.poll(1.0) == []
    second.commit(rest[-1])
    second.close()

    third = event_log.consumer(group, [topic])
    try:
        assert third.poll(2.0) == []
    finally:
        third.close()


@pytest.mark.timeout(90)
def test_two_consumers_in_a_group_split_partitions_and_receive_every_record_once(event_log):
    topic, group = unique("events"), unique("group")
    total = 400
    event_log.ensure_topics([topic])
    received: dict[str, list[tuple[int, int]]] = {"a": [], "b": []}
    assignments: dict[str, set] = {"a": set(), "b": set()}
    stop = threading.Event()
    errors: list[BaseException] = []

    def member(name: str, ready: threading.Event):
        consumer = event_log.consumer(group, [topic])
        try:
            while not stop.is_set():
                records = consumer.poll(0.2)
                assignment = consumer.assignment()
                if assignment:
                    assignments[name] = set(assignment)
                    ready.set()
                for record in records:
                    received[name].append((record.partition, record.offset))
                    consumer.commit(record)
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)
            ready.set()
        finally:
            consumer.close()

    ready_a, ready_b = threading.Event(), threading.Event()
    a = threading.Thread(target=member, args=("a", ready_a), daemon=True)
    b = threading.Thread(target=member, args=("b", ready_b), daemon=True)
    try:
        a.start()
        assert ready_a.wait(20), "the first member never got partitions"
        event_log.publish([Message(topic, f"k{n}", str(n).encode()) for n in range(total // 2)])
        b.start()  # joins while the first one is busy: a rebalance
        for start in range(total // 2, total, 20):
            event_log.publish([Message(topic, f"k{n}", str(n).encode()) for n in range(start, start + 20)])
            time.sleep(0.05)
        assert ready_b.wait(30), "the second member never got partitions"
        deadline = time.monotonic() + 30
        while len(received["a"]) + len(received["b"]) < total and time.monotonic() < deadline and not errors:
            time.sleep(0.1)
        time.sleep(1.0)  # anything delivered twice would show up now
    finally:
        stop.set()
        a.join(20)
        b.join(20)
    assert not errors, errors
    assert not a.is_alive() and not b.is_alive()

    everything = received["a"] + received["b"]
    assert len(everything) == total, (len(received["a"]), len(received["b"]))
    assert len(set(everything)) == total  # nothing twice
    assert received["a"] and received["b"]  # both did a share
    assert assignments["a"] and assignments["b"]
    assert not assignments["a"] & assignments["b"]  # split, never shared
    assert assignments["a"] | assignments["b"] == {(topic, p) for p in range(PARTITIONS)}
    assert event_log.lag(group, [topic]) == {(topic, p): 0 for p in range(PARTITIONS)}


@pytest.mark.timeout(60)
def test_lag_counts_records_not_yet_committed(event_log):
    topic, group = unique("lagging"), unique("group")
    keys = [f"k{n}" for n in range(30)]
    event_log.publish([Message(topic, key, b"x") for key in keys])
    expected = {(topic, p): 0 for p in range(PARTITIONS)}
    for key in keys:
        expected[(topic, kafka_partition(key))] += 1

    assert event_log.lag(group, [topic]) == expected  # a group that never committed
    assert event_log.lag(group, [unique("no-such-topic")]) == {}

    consumer = event_log.consumer(group, [topic])
    try:
        records = drain(consumer, len(keys))
        assert len(records) == len(keys)
        busiest = max(expected, key=expected.get)
        in_busiest = [r for r in records if (r.topic, r.partition) == busiest]
        consumer.commit(in_busiest[1])  # two of that partition handled
        expected[busiest] -= 2
        assert event_log.lag(group, [topic]) == expected
        for record in records:
            consumer.commit(record)
        assert event_log.lag(group, [topic]) == {tp: 0 for tp in expected}
        event_log.publish([Message(topic, keys[0], b"late")])
        lag = event_log.lag(group, [topic])
        assert sum(lag.values()) == 1 and lag[(topic, kafka_partition(keys[0]))] == 1
    finally:
        consumer.close()


@pytest.mark.timeout(120)
def test_check_raises_while_the_broker_is_down_and_recovers_after_restart(tmp_path):
    with kafka_stand_in_and_event_log(tmp_path, check_timeout=2.0, publish_timeout=5.0,
                                      connect_timeout=3.0) as (stand_in, log):
        topic, group = unique("outage"), unique("group")
        log.check()
        log.publish([Message(topic, "k", b"before")])

        stand_in.restart()  # a clean restart keeps topics, records and offsets
        log.check()
        assert sum(log.lag(group, [topic]).values()) == 1

        stand_in.stop()
        started = time.monotonic()
        with pytest.raises(KafkaUnavailable) as raised:
            log.check()
        assert time.monotonic() - started < 2.0 + 3.0
        assert stand_in.bootstrap in str(raised.value)
        with pytest.raises(PublishFailed):
            log.publish([Message(topic, "k", b"while down")])

        stand_in.start()
        log.check()
        log.publish([Message(topic, "k", b"after")])
        consumer = log.consumer(group, [topic])
        try:
            values = [r.value for r in drain(consumer, 2)]
        finally:
            consumer.close()
        assert values[0] == b"before" and values[-1] == b"after"


@pytest.mark.timeout(120)
def test_publish_and_consume_a_thousand_messages(event_log, capsys):
    topic, group = unique("bulk"), unique("group")
    count = 1000
    event_log.ensure_topics([topic])

    started = time.perf_counter()
    event_log.publish([Message(topic, f"case-{n % 50}", f"{n:06d}".encode() * 20) for n in range(count)])
    published = time.perf_counter() - started

    one_by_one_count = 200
    started = time.perf_counter()
    for n in range(one_by_one_count):
        event_log.publish([Message(topic, f"case-{n % 50}", b"single")])
    one_by_one = time.perf_counter() - started

    consumer = event_log.consumer(group, [topic])
    try:
        started = time.perf_counter()
        received = drain(consumer, count + one_by_one_count, timeout=60, commit=True)
        consumed = time.perf_counter() - started
    finally:
        consumer.close()

    assert len(received) == count + one_by_one_count
    assert len({(r.partition, r.offset) for r in received}) == len(received)
    with capsys.disabled():
        print(f"\n[kafka stand-in] publish {count} msgs in one call: {published:.3f}s "
              f"({count / published:.0f} msg/s); {one_by_one_count} single-message publishes: "
              f"{one_by_one:.3f}s ({one_by_one / one_by_one_count * 1000:.1f} ms each); "
              f"consume+commit each of {len(received)}: {consumed:.3f}s "
              f"({len(received) / consumed:.0f} msg/s, first poll joins the group)")
