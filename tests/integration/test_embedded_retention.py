"""The embedded event log forgets what it no longer has to keep: records past the retention
age, and beyond the newest N of a partition; a group's position is not disturbed."""
import threading
import time

from haven.platform.eventlog import Message
from haven.platform.eventlog.embedded import EmbeddedEventLog


def test_records_older_than_the_retention_age_are_pruned(tmp_path):
    log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"), partitions=1, retention_seconds=0.5)
    log.publish([Message("t", "k", b"old")])
    time.sleep(0.7)
    log.publish([Message("t", "k", b"new")])
    assert log.prune() == 1
    consumer = log.consumer("g", ["t"])
    assert [r.value for r in consumer.poll(1.0)] == [b"new"]  # offsets go on from where they were
    consumer.close()


def test_a_partition_keeps_only_its_newest_records(tmp_path):
    log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"), partitions=1, retention_records=1000)
    log.publish([Message("t", "k", str(i).encode()) for i in range(1500)])
    consumer = log.consumer("g", ["t"])
    first = consumer.poll(1.0, max_records=10)
    consumer.commit_all(first)  # this group had read 10
    assert log.prune() == 500
    got = []
    while len(got) < 1000:
        batch = consumer.poll(0.5, max_records=500)
        if not batch:
            break
        got += batch
    assert [int(r.value) for r in got] == list(range(500, 1500))  # the pruned ones are gone, the rest come
    assert log.lag("never-read", ["t"]) == {("t", 0): 1000}  # lag counts what is still there
    consumer.close()


def test_the_retention_job_prunes_until_stopped(tmp_path):
    log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"), partitions=1, retention_seconds=0.2)
    log.publish([Message("t", "k", b"x")])
    time.sleep(0.3)
    stop = threading.Event()
    job = threading.Thread(target=log.enforce_retention, args=(stop, 0.05))
    job.start()
    deadline = time.monotonic() + 5
    while log.lag("nobody", ["t"])[("t", 0)] and time.monotonic() < deadline:  # 1 until pruned
        time.sleep(0.05)
    stop.set()
    job.join(5)
    assert not job.is_alive()
    assert log.lag("nobody", ["t"]) == {("t", 0): 0}
    consumer = log.consumer("late", ["t"])
    assert consumer.poll(0.3) == []
