"""The event-log port: durable, partitioned, keyed topics with consumer groups.

Two adapters implement it — an embedded log in SQLite for one machine, Kafka beyond — and
the same contract suite (tests/contract/test_event_log.py) runs against both. Delivery is
at least once: a consumer commits an offset only after its handler succeeded, so a crash
replays, never skips. Consumers are expected to be idempotent on the event id.
"""
from __future__ import annotations

import abc
import zlib
from dataclasses import dataclass, field

from .health import HealthLimits


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timestamp: float = 0.0  # seconds since the epoch, when it was appended


@dataclass(frozen=True)
class Message:
    """Something to publish."""

    topic: str
    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


def partition_for(key: str, partitions: int) -> int:
    """Same key, same partition: one aggregate's events stay in order."""
    return zlib.crc32(key.encode("utf-8")) % partitions


class Consumer(abc.ABC):
    """One member of a consumer group, reading the partitions the group assigns it."""

    @abc.abstractmethod
    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        """Records after the last committed (or last returned) position, per partition in
        order; waits up to `timeout` seconds for something to arrive. Calling poll again
        says the records it returned before are dealt with (committed, or left to be
        delivered again): only then may the group move a partition to another member."""

    @abc.abstractmethod
    def commit(self, record: Record) -> None:
        """Mark `record` and everything before it in its partition as handled."""

    def commit_all(self, records: list[Record]) -> None:
        """Commit the newest of `records` in each partition (an adapter may do it in one request)."""
        newest: dict[tuple[str, int], Record] = {}
        for record in records:
            key = (record.topic, record.partition)
            if key not in newest or record.offset > newest[key].offset:
                newest[key] = record
        for record in newest.values():
            self.commit(record)

    @abc.abstractmethod
    def assignment(self) -> list[tuple[str, int]]:
        """The (topic, partition) pairs this member holds now."""

    def held(self) -> list[tuple[str, int]]:
        """The partitions this member held at its last poll, without asking the group (so it
        changes nothing and is cheap to ask after every poll)."""
        return self.assignment()

    @abc.abstractmethod
    def close(self) -> None:
        """Leave the group: its partitions go to the other members."""


class Reader(abc.ABC):
    """Reads topics from their oldest retained record without joining any consumer group:
    it holds every partition, commits nothing and leaves no trace in the log (`haven events
    tail`)."""

    @abc.abstractmethod
    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        """The next records, per partition in order; waits up to `timeout` seconds."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""


class EventLogUnavailable(ConnectionError):
    """The log cannot be reached now (a broker down, say); retrying later may succeed."""


class MemberFenced(RuntimeError):
    """Another live member took this member's `instance` name: two worker replicas share one
    name. The newer one keeps the partitions; this one must stop (its records stay
    uncommitted and are delivered to the newer one)."""


class EventLog(abc.ABC):
    # How the consumers of this log judge their own health (see health.py); the factory sets
    # them from configuration.
    health_limits = HealthLimits()

    @abc.abstractmethod
    def publish(self, messages: list[Message]) -> None:
        """Append all messages; they are durable when this returns."""

    @abc.abstractmethod
    def consumer(self, group: str, topics: list[str], instance: str | None = None) -> Consumer:
        """A new member of `group` reading `topics`. `instance` is an optional stable name
        for this member across restarts (one per worker replica, unique among live members,
        never the hostname: see settings.py): a restarted member with the same name takes
        its partitions back at once, instead of the group waiting for the dead member's
        session to expire (Kafka's static membership, `group.instance.id`). A newer member
        under the same name fences this one: its commits raise `MemberFenced`."""

    @abc.abstractmethod
    def ensure_topics(self, topics: list[str]) -> None:
        """Create the topics that do not exist yet (idempotent)."""

    @abc.abstractmethod
    def lag(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        """Records not yet committed by `group`, per (topic, partition)."""

    @abc.abstractmethod
    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        """The offset the next record will get, per (topic, partition) of existing topics."""

    @abc.abstractmethod
    def committed(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        """Where `group` reads next, per (topic, partition) of existing topics: after its last
        commit, or the oldest retained record when it committed nothing there (or what it
        committed was pruned since)."""

    @abc.abstractmethod
    def reader(self, topics: list[str]) -> Reader:
        """A group-less reader of `topics` from their oldest retained records (see `Reader`)."""

    @abc.abstractmethod
    def groups(self) -> list[str]:
        """The consumer groups the log knows (with members or committed offsets), sorted."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise if the log cannot be reached (readiness)."""

    def close(self) -> None:
        """Release connections."""
