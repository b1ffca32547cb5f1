"""The embedded event log: a durable, append-only log in one SQLite file (WAL), shared by
the processes of one machine.

Topics have a fixed number of partitions; a record goes to the partition of its key and
gets the next offset there. A consumer group's members find each other through a members
table with heartbeats and split the partitions between them (a member that stops
heartbeating loses its share after `session_timeout`). Each group's position in each
partition is the committed offset. Consumers wait for new records by re-reading a
one-row-per-partition `heads` table every few milliseconds: no busy loop, and a new record
is seen within `poll_interval`.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager

from . import Consumer, EventLog, MemberFenced, Message, Reader, Record, partition_for

SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heads (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
                                  PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
                                    key TEXT NOT NULL, value BLOB NOT NULL, headers TEXT NOT NULL,
                                    ts REAL NOT NULL, PRIMARY KEY (topic, partition, "offset")) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS committed (grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
                                      next_offset INTEGER NOT NULL,
                                      PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (grp TEXT NOT NULL, member TEXT NOT NULL, heartbeat REAL NOT NULL,
                                    PRIMARY KEY (grp, member)) WITHOUT ROWID;
-- Who reads a partition now. A partition changes hands only when its owner lets go (at its
-- next poll, when what it read before is handled) or is gone: no two members read it at once.
CREATE TABLE IF NOT EXISTS owners (grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
                                   member TEXT NOT NULL, PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;
-- Which process holds a named instance now: the newest consumer under a name fences the older
-- one (as Kafka does with group.instance.id), so two replicas sharing a name never read the
-- same partitions at once.
CREATE TABLE IF NOT EXISTS incarnations (grp TEXT NOT NULL, member TEXT NOT NULL, token TEXT NOT NULL,
                                         PRIMARY KEY (grp, member)) WITHOUT ROWID;
"""

log = logging.getLogger("haven.eventlog.embedded")


class EmbeddedEventLog(EventLog):
    def __init__(self, path: str, partitions: int = 8, retention_seconds: float = 7 * 86400,
                 retention_records: int = 1_000_000, session_timeout: float = 10.0, poll_interval: float = 0.01):
        self.path = path
        self.partitions = partitions
        self.retention_seconds = retention_seconds
        self.retention_records = retention_records
        self.session_timeout = session_timeout
        self.poll_interval = poll_interval
        self._local = threading.local()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._connection().executescript(SCHEMA)

    # --- connections --------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection, self._local.pid = connection, os.getpid()
            self._local.synchronous = None
        return connection

    @contextmanager
    def _transaction(self, durable: bool = False):
        """`durable`: fsync before returning (appends: durable when publish returns, power
        loss included). Bookkeeping (offsets, membership) needs no fsync: losing the last
        commit to a power cut only means a record is delivered again."""
        connection = self._connection()
        wanted = "FULL" if durable else "NORMAL"
        if self._local.synchronous != wanted:
            connection.execute(f"PRAGMA synchronous={wanted}")
            self._local.synchronous = wanted
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _partitions(self, connection, topic: str) -> int:
        row = connection.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
        if row:
            return row[0]
        connection.execute("INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", (topic, self.partitions))
        connection.executemany("INSERT OR IGNORE INTO heads (topic, partition, next_offset) VALUES (?, ?, 0)",
                               [(topic, p) for p in range(self.partitions)])
        return self.partitions

    # --- EventLog -----------------------------------------------------------------------

    def ensure_topics(self, topics: list[str]) -> None:
        with self._transaction() as connection:
            for topic in topics:
                self._partitions(connection, topic)

    def publish(self, messages: list[Message]) -> None:
        if not messages:
            return
        now = time.time()
        with self._transaction(durable=True) as connection:
            for message in messages:
                partition = partition_for(message.key, self._partitions(connection, message.topic))
                offset = connection.execute(
                    "UPDATE heads SET next_offset = next_offset + 1 WHERE topic = ? AND partition = ? "
                    "RETURNING next_offset - 1", (message.topic, partition)).fetchone()[0]
                connection.execute(
                    'INSERT INTO records (topic, partition, "offset", key, value, headers, ts) '
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (message.topic, partition, offset, message.key, message.value,
                     json.dumps(message.headers, ensure_ascii=False), now))

    def consumer(self, group: str, topics: list[str], instance: str | None = None) -> "EmbeddedConsumer":
        self.ensure_topics(topics)
        return EmbeddedConsumer(self, group, topics, instance)

    def lag(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        return {tp: max(0, head - next_read) for tp, (next_read, head) in self._positions(group, topics).items()}

    def committed(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        return {tp: next_read for tp, (next_read, _head) in self._positions(group, topics).items()}

    def _positions(self, group: str, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(where `group` reads next, head) per partition, in one snapshot."""
        connection = self._connection()
        result = {}
        connection.execute("BEGIN")  # one read snapshot: heads and commits of the same moment
        try:
            for topic in topics:
                for partition, head, done, oldest in connection.execute(
                        "SELECT h.partition, h.next_offset, coalesce(c.next_offset, 0), "
                        '(SELECT min("offset") FROM records r WHERE r.topic = h.topic AND r.partition = h.partition) '
                        "FROM heads h "
                        "LEFT JOIN committed c ON c.grp = ? AND c.topic = h.topic AND c.partition = h.partition "
                        "WHERE h.topic = ? ORDER BY h.partition", (group, topic)):
                    # records pruned by retention are no longer there to be handled
                    start = head if oldest is None else oldest
                    result[(topic, partition)] = (min(head, max(done, start)), head)
        finally:
            connection.execute("COMMIT")
        return result

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        connection = self._connection()
        return {(topic, partition): head for topic in topics for partition, head in connection.execute(
            "SELECT partition, next_offset FROM heads WHERE topic = ? ORDER BY partition", (topic,))}

    def reader(self, topics: list[str]) -> "EmbeddedReader":
        return EmbeddedReader(self, topics)

    def groups(self) -> list[str]:
        return [g for (g,) in self._connection().execute(
            "SELECT grp FROM members UNION SELECT grp FROM committed UNION SELECT grp FROM owners ORDER BY 1")]

    def check(self) -> None:
        self._connection().execute("SELECT count(*) FROM topics").fetchone()

    def prune(self) -> int:
        """Drop records older than the retention age, or beyond the newest
        `retention_records` of a partition. Returns how many went."""
        cutoff = time.time() - self.retention_seconds
        with self._transaction() as connection:
            removed = connection.execute("DELETE FROM records WHERE ts < ?", (cutoff,)).rowcount
            for topic, partition, head in connection.execute("SELECT topic, partition, next_offset FROM heads").fetchall():
                removed += connection.execute(
                    'DELETE FROM records WHERE topic = ? AND partition = ? AND "offset" < ?',
                    (topic, partition, head - self.retention_records)).rowcount
        return removed

    def enforce_retention(self, stop, every: float = 600.0) -> None:
        """A worker job: prune now, then every `every` seconds until `stop`."""
        while not stop.is_set():
            removed = self.prune()
            if removed:
                log.info("event log pruned", extra={"removed": removed})
            stop.wait(every)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class EmbeddedConsumer(Consumer):
    def __init__(self, log: EmbeddedEventLog, group: str, topics: list[str], instance: str | None = None):
        self.log = log
        self.group = group
        self.topics = list(topics)
        # A named instance is the same member after a restart: it takes its partitions back
        # at once, where an anonymous one waits for its predecessor's session to expire.
        self.member = f"instance:{instance}" if instance else uuid.uuid4().hex
        self.token = uuid.uuid4().hex
        self.positions: dict[tuple[str, int], int] = {}
        self._last_heartbeat = 0.0
        with self.log._transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO incarnations (grp, member, token) VALUES (?, ?, ?)",
                               (self.group, self.member, self.token))
        self._heartbeat()

    def _ensure_not_fenced(self, connection) -> None:
        row = connection.execute("SELECT token FROM incarnations WHERE grp = ? AND member = ?",
                                 (self.group, self.member)).fetchone()
        if row is not None and row[0] != self.token:
            raise MemberFenced(f"another consumer of group {self.group!r} took this one's instance name")

    def _heartbeat(self) -> None:
        now = time.time()
        with self.log._transaction() as connection:
            self._ensure_not_fenced(connection)
            connection.execute("INSERT OR REPLACE INTO members (grp, member, heartbeat) VALUES (?, ?, ?)",
                               (self.group, self.member, now))
            connection.execute("DELETE FROM members WHERE grp = ? AND heartbeat < ?",
                               (self.group, now - self.log.session_timeout))
        self._last_heartbeat = now

    def assignment(self) -> list[tuple[str, int]]:
        """This member's share: partitions dealt round-robin over the live members, each
        taken over only once its previous owner has let go of it or is gone."""
        now = time.time()
        with self.log._transaction() as connection:
            self._ensure_not_fenced(connection)
            live = [m for (m,) in connection.execute(
                "SELECT member FROM members WHERE grp = ? AND heartbeat >= ? ORDER BY member",
                (self.group, now - self.log.session_timeout))]
            if self.member not in live:
                live = sorted(live + [self.member])
            partitions = [(t, p) for t in sorted(self.topics) for (p,) in connection.execute(
                "SELECT partition FROM heads WHERE topic = ? ORDER BY partition", (t,))]
            target = {tp for i, tp in enumerate(partitions) if i % len(live) == live.index(self.member)}
            owners = {(t, p): m for t, p, m in connection.execute(
                "SELECT topic, partition, member FROM owners WHERE grp = ?", (self.group,))}
            mine = []
            for tp in partitions:
                owner = owners.get(tp)
                if owner == self.member and tp not in target:
                    connection.execute("DELETE FROM owners WHERE grp = ? AND topic = ? AND partition = ?",
                                       (self.group, *tp))  # let go: what we read from it is handled
                elif tp in target and (owner is None or owner == self.member or owner not in live):
                    connection.execute("INSERT OR REPLACE INTO owners (grp, topic, partition, member) "
                                       "VALUES (?, ?, ?, ?)", (self.group, *tp, self.member))
                    mine.append(tp)
        return mine

    def held(self) -> list[tuple[str, int]]:
        return sorted(self.positions)

    def _refresh_positions(self, assigned: list[tuple[str, int]]) -> None:
        connection = self.log._connection()
        for tp in list(self.positions):
            if tp not in assigned:
                del self.positions[tp]  # another member has it now
        for topic, partition in assigned:
            if (topic, partition) not in self.positions:
                row = connection.execute("SELECT next_offset FROM committed WHERE grp = ? AND topic = ? "
                                         "AND partition = ?", (self.group, topic, partition)).fetchone()
                self.positions[(topic, partition)] = row[0] if row else 0

    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            if time.time() - self._last_heartbeat > self.log.session_timeout / 3:
                self._heartbeat()
            self._refresh_positions(self.assignment())
            found = _read(self.log._connection(), self.positions, max_records)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(self.log.poll_interval)

    def commit(self, record: Record) -> None:
        self.commit_all([record])

    def commit_all(self, records: list[Record]) -> None:
        """One transaction for the whole batch; offsets never move backwards."""
        with self.log._transaction() as connection:
            self._ensure_not_fenced(connection)
            connection.executemany(
                "INSERT INTO committed (grp, topic, partition, next_offset) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (grp, topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                [(self.group, r.topic, r.partition, r.offset + 1) for r in records])

    def seek_to_committed(self) -> None:
        """Forget positions read but not committed (after a failed handler, say)."""
        self.positions.clear()

    def close(self) -> None:
        with self.log._transaction() as connection:
            try:
                self._ensure_not_fenced(connection)
            except MemberFenced:
                return  # the rows under this name are the newer consumer's now
            connection.execute("DELETE FROM members WHERE grp = ? AND member = ?", (self.group, self.member))
            connection.execute("DELETE FROM owners WHERE grp = ? AND member = ?", (self.group, self.member))
            connection.execute("DELETE FROM incarnations WHERE grp = ? AND member = ?", (self.group, self.member))


class EmbeddedReader(Reader):
    """Reads every partition of its topics from the oldest retained record; it writes nothing
    to the log (no member, no owner, no commit)."""

    def __init__(self, log: EmbeddedEventLog, topics: list[str]):
        self.log = log
        log.ensure_topics(topics)
        connection = log._connection()
        self.positions = {(topic, partition): 0 for topic in dict.fromkeys(topics) for (partition,) in
                          connection.execute("SELECT partition FROM heads WHERE topic = ? ORDER BY partition",
                                             (topic,))}

    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            found = _read(self.log._connection(), self.positions, max_records)
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(self.log.poll_interval)

    def close(self) -> None:
        pass


def _read(connection, positions: dict[tuple[str, int], int], max_records: int) -> list[Record]:
    """Up to `max_records` records from `positions` on, moving each position past what it returns."""
    found: list[Record] = []
    for (topic, partition), position in sorted(positions.items()):
        if len(found) >= max_records:
            break
        rows = connection.execute(
            'SELECT "offset", key, value, headers, ts FROM records WHERE topic = ? AND partition = ? '
            'AND "offset" >= ? ORDER BY "offset" LIMIT ?',
            (topic, partition, position, max_records - len(found))).fetchall()
        for offset, key, value, headers, ts in rows:
            found.append(Record(topic, partition, offset, key, bytes(value), json.loads(headers), ts))
        if rows:
            positions[(topic, partition)] = rows[-1][0] + 1
    return found
