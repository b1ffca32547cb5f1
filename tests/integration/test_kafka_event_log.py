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
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.partitioner.default import murmur2

from haven.platform.config import load
from haven.platform.eventlog import Message, Record
from haven.platform.eventlog.factory import event_log_from
from haven.platform.eventlog.kafka import KafkaEventLog, KafkaUnavailable, PublishFailed
from haven.platform.service_spec import COMMON_SETTINGS
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


def drain(consumer, expected: int, timeout: float = 20.0, commit: bool = False,
          max_records: int = 100) -> list[Record]:
    """Poll until `expected` records arrived (or the time is up)."""
    received: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        for record in consumer.poll(0.5, max_records=max_records):
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
    seen = drain(first, 12, max_records=3)  # several polls
    event_log.publish([Message(topic, f"k{n}", f"v{n}".encode()) for n in range(12, 24)])
    seen += drain(first, 12, max_records=3)  # arrived while it was reading
    first.close()  # its handler never succeeded: nothing committed
    assert len(seen) == 24
    assert event_log.lag(group, [topic]) and sum(event_log.lag(group, [topic]).values()) == 24

    second = event_log.consumer(group, [topic])
    try:
        again = drain(second, 24)
        assert second.poll(0.5) == []
    finally:
        second.close()
    key = lambda r: (r.partition, r.offset)
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


class GroupMember:
    """A consumer polling from a thread of its own and committing each record it handles."""

    def __init__(self, event_log, group: str, topics: list[str]):
        self.consumer = event_log.consumer(group, topics)
        self.received: list[tuple[str, int, int]] = []
        self.assignment: set = set()
        self.assigned = threading.Event()
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop.is_set():
                records = self.consumer.poll(0.2)
                self.assignment = set(self.consumer.assignment())
                if self.assignment:
                    self.assigned.set()
                for record in records:
                    self.received.append((record.topic, record.partition, record.offset))
                    self.consumer.commit(record)
        except Exception as exc:  # surfaced by the test
            self.errors.append(exc)
        finally:
            self.consumer.close()

    def stop(self):
        self._stop.set()
        self._thread.join(20)
        assert not self._thread.is_alive(), "a consumer thread did not stop"
        assert not self.errors, self.errors


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.timeout(90)
def test_two_consumers_in_a_group_split_partitions_and_receive_every_record_once(event_log):
    topic, group = unique("events"), unique("group")
    total = 400
    event_log.ensure_topics([topic])
    first = GroupMember(event_log, group, [topic])
    second = None
    try:
        assert first.assigned.wait(20), "the first member never got partitions"
        second = GroupMember(event_log, group, [topic])
        # The rebalance: both hold a share, together all partitions, none twice.
        wait_for(lambda: first.assignment and second.assignment
                 and len(first.assignment | second.assignment) == PARTITIONS
                 and not first.assignment & second.assignment, 30, "the rebalance")
        for start in range(0, total, 20):
            event_log.publish([Message(topic, f"k{n}", str(n).encode()) for n in range(start, start + 20)])
        wait_for(lambda: len(first.received) + len(second.received) >= total, 30, "every record")
        time.sleep(1.0)  # anything delivered twice would show up now
    finally:
        first.stop()
        if second is not None:
            second.stop()

    everything = first.received + second.received
    assert len(everything) == total, (len(first.received), len(second.received))
    assert len(set(everything)) == total  # nothing twice
    assert first.received and second.received  # both did a share
    assert {p for _, p, _ in first.received}.isdisjoint({p for _, p, _ in second.received})
    assert event_log.lag(group, [topic]) == {(topic, p): 0 for p in range(PARTITIONS)}


@pytest.mark.timeout(90)
def test_a_member_joining_and_leaving_mid_stream_loses_nothing(event_log):
    """Rebalances while records are being handled: every record reaches the group, and
    duplicates are bounded by what was in flight. (The stand-in rejects the offset commits
    of the members' batches in flight once a rebalance starts — a real broker accepts them
    until the rebalance completes — so here a rebalance redelivers those records.)"""
    topic, group = unique("events"), unique("group")
    total = 600
    event_log.ensure_topics([topic])
    members = [GroupMember(event_log, group, [topic])]
    try:
        assert members[0].assigned.wait(20)
        for start in range(0, total, 20):
            event_log.publish([Message(topic, f"k{n}", str(n).encode()) for n in range(start, start + 20)])
            if start == 200:
                members.append(GroupMember(event_log, group, [topic]))  # joins mid-stream
            if start == 400:
                members[0].stop()  # leaves mid-stream: its partitions go to the other
            time.sleep(0.02)
        everything = lambda: {r for m in members for r in m.received}
        wait_for(lambda: len(everything()) >= total, 45, "every record")
    finally:
        for member in members:
            member._stop.set()
        for member in members:
            member.stop()
    delivered = [r for m in members for r in m.received]
    assert len(set(delivered)) == total
    duplicates = len(delivered) - total
    assert duplicates <= 2 * 100 * PARTITIONS  # at most the batches in flight at the two rebalances
    assert event_log.lag(group, [topic]) == {(topic, p): 0 for p in range(PARTITIONS)}
    print(f"\n[kafka stand-in] rebalances mid-stream: {duplicates} duplicate deliveries of {total}")


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


@pytest.mark.timeout(60)
def test_topics_are_provisioned_idempotently_with_partitions_and_retention(event_log, broker):
    explicit, lazy = unique("provisioned"), unique("lazy")
    event_log.ensure_topics([explicit], partitions=3, replication_factor=1, retention_ms=3_600_000)
    event_log.ensure_topics([explicit], partitions=3, replication_factor=1, retention_ms=3_600_000)  # no error
    event_log.publish([Message(lazy, "k", b"v")])  # provisioned on first use, with the defaults

    assert event_log.partition_counts([explicit, lazy, unique("absent")]) == {explicit: 3, lazy: PARTITIONS}
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=5000)
    try:
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, explicit),
                                          ConfigResource(ConfigResourceType.TOPIC, lazy)])
    finally:
        admin.close()
    assert configs["topic"][explicit]["retention.ms"]["value"] == "3600000"
    assert configs["topic"][lazy]["retention.ms"]["value"] == str(7 * 86400 * 1000)


@pytest.mark.timeout(60)
def test_security_settings_reach_the_clients(broker):
    # SASL/PLAIN: the stand-in accepts the handshake (it checks no credentials).
    # Through the settings an operator sets, and the factory every process uses.
    sasl = event_log_from(load(COMMON_SETTINGS, {
        "EVENT_BACKEND": "kafka", "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "KAFKA_SASL_MECHANISM": "plain",
        "KAFKA_SASL_USERNAME": "haven", "KAFKA_SASL_PASSWORD": "s3cret",
        "EVENT_PARTITIONS": "2", "KAFKA_REPLICATION_FACTOR": "1"}))
    assert isinstance(sasl, KafkaEventLog)
    topic, group = unique("sasl"), unique("group")
    try:
        assert "s3cret" not in repr(sasl)
        sasl.check()
        sasl.publish([Message(topic, "k", b"over sasl")])
        consumer = sasl.consumer(group, [topic])
        try:
            assert [r.value for r in drain(consumer, 1)] == [b"over sasl"]
        finally:
            consumer.close()
    finally:
        sasl.close()

    # TLS: the client really speaks TLS, which the plaintext listener cannot answer.
    tls = KafkaEventLog(broker.bootstrap, security_protocol="SSL", ssl_check_hostname=False,
                        check_timeout=2.0, connect_timeout=2.0)
    try:
        with pytest.raises(KafkaUnavailable):
            tls.check()
    finally:
        tls.close()
    with pytest.raises(ValueError):
        KafkaEventLog(broker.bootstrap, security_protocol="SASL_SSL")  # no mechanism


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
            values += [r.value for r in drain(consumer, 1, timeout=3)]
        finally:
            consumer.close()
        # The publish that raised while the broker was down may still arrive (a duplicate of
        # what the caller publishes again), but never after a newer record.
        assert values[0] == b"before" and values[-1] == b"after"
        assert len(values) <= 3 and set(values) <= {b"before", b"while down", b"after"}


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


def _consumer_process(bootstrap: str, group: str, topic: str, out, hostname: str, *member):
    """A worker-like consumer process on a pod called `hostname`."""
    import json
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "tests.support.eventlog_consumer",
               json.dumps({"adapter": "kafka", "bootstrap": bootstrap}), group, topic, str(out), *member]
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "HOSTNAME": hostname}
    env.pop("EVENT_CONSUMER_INSTANCE", None)
    return subprocess.Popen(command, env=env)


def _handled(out) -> list[str]:
    return [line.split()[1] for line in out.read_text().splitlines()] if out.exists() else []


@pytest.mark.timeout(120)
def test_a_worker_restarted_under_a_new_hostname_resumes_within_the_session_timeout(broker, event_log, tmp_path):
    """A rollout: the worker's pod is killed and a new one, with a new name, starts. Its
    member name is the replica's, so it takes the partitions back, and nothing is lost."""
    import signal

    topic, group, out, total = unique("rollout"), unique("referral-delivery-status"), tmp_path / "handled.txt", 300
    event_log.publish([Message(topic, f"k{i % 7}", str(i).encode()) for i in range(total)])
    old_pod = _consumer_process(broker.bootstrap, group, topic, out, "referral-worker-7d9f8-abcde",
                                "--as-worker", "referral")
    wait_for(lambda: len(_handled(out)) >= 60, 60, "the first pod to consume")
    old_pod.send_signal(signal.SIGKILL)  # no chance to commit or leave
    old_pod.wait(10)
    assert len(set(_handled(out))) < total
    killed = time.monotonic()
    new_pod = _consumer_process(broker.bootstrap, group, topic, out, "referral-worker-5c4b2-xyzzy",
                                "--as-worker", "referral")
    try:
        wait_for(lambda: set(_handled(out)) == {str(i) for i in range(total)}, 60, "the new pod to finish")
        resumed = time.monotonic() - killed
        wait_for(lambda: sum(event_log.lag(group, [topic]).values()) == 0, 30, "the last commit")
    finally:
        new_pod.send_signal(signal.SIGTERM)
        new_pod.wait(20)
    handled = _handled(out)
    assert set(handled) == {str(i) for i in range(total)}  # nothing lost; the killed batch may repeat
    print(f"\n[kafka stand-in] restart under a new hostname: every record handled {resumed:.1f}s after the kill "
          f"(session timeout {TEST_OPTIONS['session_timeout']:g}s), {len(handled) - total} handled twice")


@pytest.mark.timeout(120)
def test_a_consumer_locked_out_by_a_dead_member_fails_its_health(broker, event_log, tmp_path):
    """Members named after the hostname (as before): the killed pod's member led the group,
    and the stand-in never expires it, so the new pod's member gets no partition. Its
    health must say so, for the orchestrator to act."""
    import signal

    from haven.platform.eventlog import health, worker
    from haven.platform.eventlog.health import HealthLimits

    topic, group, out = unique("locked-out"), unique("referral-delivery-status"), tmp_path / "handled.txt"
    event_log.publish([Message(topic, f"k{i}", str(i).encode()) for i in range(20)])
    old_pod = _consumer_process(broker.bootstrap, group, topic, out, "pod-a", "referral-pod-a")
    wait_for(lambda: len(_handled(out)) >= 20, 60, "the first pod to consume")
    old_pod.send_signal(signal.SIGKILL)
    old_pod.wait(10)
    event_log.publish([Message(topic, f"k{i}", str(i).encode()) for i in range(20, 40)])  # waiting now
    event_log.health_limits = HealthLimits(stalled_after=2.0, growing_after=600.0)
    stop = threading.Event()
    new_pod = threading.Thread(target=worker.run, args=(event_log, group, [topic], lambda r: None, stop),
                               kwargs={"instance": "referral-pod-b"}, daemon=True)
    new_pod.start()
    try:
        problem = lambda: (health.consumers().get(group) and health.consumers()[group].problem()) or ""
        wait_for(lambda: problem().startswith(f"holds no partitions of group {group}"), 60, "the stall to show")
    finally:
        stop.set()
        new_pod.join(30)
