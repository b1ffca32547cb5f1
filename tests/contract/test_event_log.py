"""The event-log contract: every EventLog adapter must behave like this."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from haven.platform.eventlog import MemberFenced, Message, worker
from tests.support.eventlog_adapters import open_event_log


@pytest.fixture(params=["embedded", "kafka"])
def log_spec(request, tmp_path):
    if request.param == "embedded":
        yield {"adapter": "embedded", "path": str(tmp_path / "events.sqlite3"), "partitions": 4,
               "session_timeout": 2.0}
    else:
        from tests.support.noida import NoidaKafka

        with NoidaKafka(tmp_path / "broker") as broker:  # the stand-in for Kafka (see the README)
            yield {"adapter": "kafka", "bootstrap": broker.bootstrap}


@pytest.fixture
def event_log(log_spec):
    opened = open_event_log(log_spec)
    yield opened
    opened.close()


def drain(consumer, expected: int, timeout: float = 15) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        for record in consumer.poll(0.2):
            got.append(record)
            consumer.commit(record)
    return got


def take(consumer, expected: int, timeout: float = 15) -> list:
    """Poll (a consumer or a reader) until `expected` records arrived; commit nothing."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        got += consumer.poll(0.2)
    return got


def test_order_is_kept_per_key(event_log):
    consumer = event_log.consumer("g", ["referral-events"])
    messages = [Message("referral-events", f"r{i % 3}", f"{i}".encode()) for i in range(30)]
    event_log.publish(messages)
    got = drain(consumer, 30)
    for key in ("r0", "r1", "r2"):
        values = [int(r.value) for r in got if r.key == key]
        assert values == sorted(values) and len(values) == 10
    consumer.close()


def test_two_consumers_of_a_group_split_the_work_and_see_each_record_once(event_log):
    """Each member polls from its own thread, as a worker process does."""
    seen = {"first": [], "second": []}
    members = {name: event_log.consumer("notify", ["referral-events"]) for name in seen}
    ready, stop = threading.Barrier(3), threading.Event()

    def member(name):
        consumer = members[name]
        consumer.poll(0.1)
        ready.wait(30)
        while not stop.is_set():
            for record in consumer.poll(0.1):
                seen[name].append(record.value)
                consumer.commit(record)

    threads = [threading.Thread(target=member, args=(name,)) for name in seen]
    for thread in threads:
        thread.start()
    ready.wait(30)
    deadline = time.monotonic() + 30  # let the group settle on its split before publishing
    while not all(_holds_partitions(c) for c in members.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    event_log.publish([Message("referral-events", f"r{i}", str(i).encode()) for i in range(200)])
    deadline = time.monotonic() + 30
    while len(seen["first"]) + len(seen["second"]) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # nothing more should arrive
    stop.set()
    for thread in threads:
        thread.join(10)
    for consumer in members.values():
        consumer.close()
    values = seen["first"] + seen["second"]
    assert sorted(values) == sorted(str(i).encode() for i in range(200))  # each exactly once
    assert seen["first"] and seen["second"]  # the work was shared


def _holds_partitions(consumer) -> bool:
    return bool(consumer.assignment())


def test_what_was_not_committed_is_delivered_again(event_log):
    event_log.publish([Message("t", "k", str(i).encode()) for i in range(10)])
    consumer = event_log.consumer("g", ["t"])
    got = drain(consumer, 0)  # nothing yet
    records = []
    while len(records) < 10:
        records += consumer.poll(0.5)
    for record in records[:4]:
        consumer.commit(record)
    consumer.close()
    again = event_log.consumer("g", ["t"])
    got = drain(again, 6)
    assert [int(r.value) for r in got] == [4, 5, 6, 7, 8, 9]
    assert drain(again, 1, timeout=0.5) == []
    assert event_log.lag("g", ["t"]) and sum(event_log.lag("g", ["t"]).values()) == 0
    again.close()


def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_group_goes_on(event_log):
    handled, stop = [], threading.Event()

    def handler(record):
        if record.value == b"poison":
            raise RuntimeError("cannot handle this")
        handled.append(record.value)

    thread = threading.Thread(target=worker.run, args=(event_log, "notify", ["t"], handler, stop,
                                                       worker.Retry(max_attempts=3, first_delay=0.01)))
    thread.start()
    event_log.publish([Message("t", "same-key", v) for v in (b"one", b"poison", b"two")])
    deadline = time.monotonic() + 15
    while len(handled) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert handled == [b"one", b"two"]
    dead = drain(event_log.consumer("inspect", [worker.dead_letter_topic("notify")]), 1)
    assert [r.value for r in dead] == [b"poison"]
    assert dead[0].headers["dlq.attempts"] == "3" and dead[0].headers["dlq.topic"] == "t"
    assert "RuntimeError" in dead[0].headers["dlq.error"]
    assert sum(event_log.lag("notify", ["t"]).values()) == 0

    # the cause is fixed: replay re-delivers it to the group
    assert worker.replay_dead_letters(event_log, "notify", timeout=5).replayed == {"t": 1}
    fixed, stop = [], threading.Event()
    thread = threading.Thread(target=worker.run, args=(event_log, "notify", ["t"], lambda r: fixed.append(r.value),
                                                       stop))
    thread.start()
    deadline = time.monotonic() + 15
    while not fixed and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert fixed == [b"poison"]


def test_a_consumer_killed_mid_batch_loses_nothing_when_it_restarts(log_spec, event_log, tmp_path):
    """The worker restarts under its instance name (as a supervisor restarts a worker
    slot), so it takes its partitions back at once."""
    import json

    out = tmp_path / "handled.txt"
    total = 300
    event_log.publish([Message("t", f"k{i % 7}", str(i).encode()) for i in range(total)])
    command = [sys.executable, "-m", "tests.support.eventlog_consumer", json.dumps(log_spec), "g", "t", str(out),
               "worker-1"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    first = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while (not out.exists() or len(out.read_text().splitlines()) < 60) and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # mid-batch: no chance to commit or leave
    first.wait(10)
    halfway = len(out.read_text().splitlines())
    assert 0 < halfway < total
    second = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while len({line.split()[1] for line in out.read_text().splitlines()}) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    second.send_signal(signal.SIGTERM)
    second.wait(10)
    handled = [line.split()[1] for line in out.read_text().splitlines()]
    assert set(handled) == {str(i) for i in range(total)}  # nothing lost; a few may repeat
    assert len(handled) - total <= 100  # only the killed batch is redelivered


def test_end_offsets_and_committed_positions(event_log):
    event_log.publish([Message("t", "one-key", str(i).encode()) for i in range(5)])
    ends = event_log.end_offsets(["t"])
    (busy,) = [tp for tp, end in ends.items() if end]
    assert ends[busy] == 5 and sum(ends.values()) == 5
    assert event_log.committed("g", ["t"])[busy] == 0  # never committed: from the oldest record
    consumer = event_log.consumer("g", ["t"])
    records = take(consumer, 5)
    consumer.commit(records[2])
    consumer.close()
    assert event_log.committed("g", ["t"])[busy] == 3
    assert event_log.end_offsets(["no-such-topic"]) == {}


def test_a_reader_sees_every_partition_and_leaves_no_group_behind(event_log):
    event_log.publish([Message("t", f"k{i}", str(i).encode()) for i in range(20)])
    consumer = event_log.consumer("workers", ["t"])
    while not consumer.poll(0.2):  # a member of a real group, which the reader must not disturb
        pass
    reader = event_log.reader(["t"])
    got = take(reader, 20)
    event_log.publish([Message("t", "late", b"late")])
    got += take(reader, 1)
    reader.close()
    consumer.close()
    assert sorted(r.value for r in got) == sorted([str(i).encode() for i in range(20)] + [b"late"])
    groups = event_log.groups()
    assert groups == [g for g in groups if g == "workers"]  # the reader left nothing; `workers` may be gone
    assert sum(event_log.lag("workers", ["t"]).values()) == 21  # and moved no group's offsets


def test_groups_lists_the_groups_that_committed(event_log):
    event_log.publish([Message("t", "k", b"v")])
    consumer = event_log.consumer("notify", ["t"])
    consumer.commit_all(drain(consumer, 1))
    consumer.close()
    assert "notify" in event_log.groups()


def test_replay_stops_at_the_end_of_the_dead_letters_it_found(event_log):
    """A dead letter that fails again during the replay is dead-lettered again, and waits
    for the next run: the replay ends, however fast the poison comes round."""
    dlq = worker.dead_letter_topic("notify")
    event_log.publish([Message(dlq, f"k{i}", f"dead-{i}".encode(), {"dlq.topic": "t", "dlq.attempts": "5"})
                       for i in range(4)] + [Message(dlq, "x", b"no origin")])
    stop, runs = threading.Event(), []

    def always_poison(record):
        raise worker.Permanent("still broken")

    looping = threading.Thread(target=worker.run, args=(event_log, "notify", ["t"], always_poison, stop,
                                                        worker.Retry(max_attempts=1)))
    looping.start()  # every replayed record comes straight back to the dead-letter topic
    try:
        progress = []
        first = worker.replay_dead_letters(event_log, "notify", timeout=10,
                                           progress=lambda done, total: progress.append((done, total)))
        assert first.replayed == {"t": 4} and first.skipped == 1
        assert progress and progress[-1] == (5, 5)
        # the four come back as dead letters; the next run replays those, once each
        deadline = time.monotonic() + 20
        while sum(event_log.end_offsets([dlq]).values()) < 9 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = worker.replay_dead_letters(event_log, "notify", timeout=10)
        assert second.replayed == {"t": 4} and second.skipped == 0
    finally:
        stop.set()
        looping.join(15)
    reader = event_log.reader(["t"])
    seen = take(reader, 8)
    reader.close()
    replayed = [r for r in seen if r.headers.get("replayed") == "true"]
    assert len(replayed) == 8 and all(not k.startswith("dlq.") for r in replayed for k in r.headers)


def test_a_second_consumer_under_the_same_instance_name_fences_the_first(event_log):
    event_log.publish([Message("t", "k", str(i).encode()) for i in range(3)])
    first = event_log.consumer("g", ["t"], instance="worker-0")
    records = take(first, 3)
    second = event_log.consumer("g", ["t"], instance="worker-0")  # a replica started with the same name
    again = take(second, 3)
    assert [r.value for r in again] == [r.value for r in records]  # the newer one has the partitions
    with pytest.raises(MemberFenced):
        first.commit_all(records)  # the older one can no longer move the group on
    first.close()  # and its leaving does not take the newer one's partitions away
    second.commit_all(again)
    assert sum(event_log.lag("g", ["t"]).values()) == 0
    second.close()
