"""The Kafka adapter of the event-log port, on kafka-python 3.x.

- Producer: idempotent (`enable_idempotence=True`), `acks=all`, at most 5 requests in
  flight per connection, so retries neither duplicate nor reorder a partition's records.
  `publish` returns only once every message is acknowledged; otherwise it raises
  `PublishFailed` (some of the batch may still have been written: delivery is at least
  once, consumers are idempotent on the event id).
- Partitioning: Kafka's own default partitioner — murmur2 of the key's UTF-8 bytes, made
  positive, modulo the partition count — the same as the Java client and every other
  client that follows it, so a key's records share a partition whichever client wrote
  them. (`partition_for` is the embedded log's rule; it is not used here.)
- Consumers: the classic group protocol through `subscribe`, so the members of a group
  split the partitions and rebalance when one joins or leaves. Offsets are committed only
  by `commit(record)` (offset + 1 for that partition; never backwards), a new group starts
  at the earliest retained record. A member's first `poll` first waits (up to
  `join_timeout`) until the group has given it its partitions — a broker delays a new
  group's first rebalance (`group.initial.rebalance.delay.ms`, 3 s by default) — and only
  then counts its own timeout, so an empty first poll means "nothing to read", not "not
  joined yet". Rebalances after that happen inside `poll`, within its timeout.
  A member that keeps its records longer than `max_poll_interval` between polls is
  removed from the group by the broker; `session_timeout` bounds how long a crashed
  member holds its partitions.
- Topics: provisioned by `ensure_topics` (idempotent) with partitions, replication factor
  and retention; by default each topic is provisioned the first time this instance
  publishes to it or consumes it (`auto_provision`), with the configured defaults.
- Security: `security_protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), `ssl_cafile`,
  `ssl_certfile`, `ssl_keyfile`, `ssl_password`, `ssl_check_hostname`, `sasl_mechanism`
  (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), `sasl_plain_username`, `sasl_plain_password`:
  passed unchanged to every client (producer, consumers, admin).

Clients are created lazily: constructing a `KafkaEventLog` never touches the network, so a
service starts while the broker is down and `check()` reports it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import OffsetSpec
from kafka.structs import MemberState, OffsetAndMetadata

from . import Consumer, EventLog, EventLogUnavailable, MemberFenced, Message, Reader, Record

log = logging.getLogger("haven.eventlog.kafka")

TOPIC_ALREADY_EXISTS = kafka_errors.TopicAlreadyExistsError.errno
UNKNOWN_TOPIC = kafka_errors.UnknownTopicOrPartitionError.errno
_UNREACHABLE = (kafka_errors.KafkaTimeoutError, kafka_errors.KafkaConnectionError,
                kafka_errors.NodeNotReadyError, kafka_errors.RequestTimedOutError)
# A commit that fails with these only means the partition has moved to another member, which
# will deliver the record again: at least once still holds, so it is logged, not raised.
_LOST_OWNERSHIP = (kafka_errors.CommitFailedError, kafka_errors.RebalanceInProgressError,
                   kafka_errors.IllegalGenerationError, kafka_errors.UnknownMemberIdError)


class KafkaEventLogError(RuntimeError):
    """Something the Kafka adapter could not do; `str()` says what and where."""


class KafkaUnavailable(KafkaEventLogError, EventLogUnavailable):
    """The brokers cannot be reached (or refuse us) within the timeout."""


class PublishFailed(KafkaEventLogError):
    """Not every message of a `publish` call was acknowledged; some may have been written.
    Raised for every failure of `publish`, an unreachable broker included (see `__cause__`)."""


def _servers(bootstrap_servers: str | Iterable[str]) -> list[str]:
    if isinstance(bootstrap_servers, str):
        servers = [s.strip() for s in bootstrap_servers.split(",")]
    else:
        servers = [str(s).strip() for s in bootstrap_servers]
    servers = [s for s in servers if s]
    if not servers:
        raise ValueError("no Kafka bootstrap servers given")
    return servers


class KafkaEventLog(EventLog):
    def __init__(self, bootstrap_servers: str | Iterable[str], *,
                 security_protocol: str = "PLAINTEXT",
                 ssl_cafile: str | None = None,
                 ssl_certfile: str | None = None,
                 ssl_keyfile: str | None = None,
                 ssl_password: str | None = None,
                 ssl_check_hostname: bool = True,
                 sasl_mechanism: str | None = None,
                 sasl_plain_username: str | None = None,
                 sasl_plain_password: str | None = None,
                 client_id: str = "haven",
                 partitions: int = 8,
                 replication_factor: int = 3,
                 retention_ms: int | None = 7 * 86400 * 1000,
                 auto_provision: bool = True,
                 publish_timeout: float = 30.0,
                 connect_timeout: float = 10.0,
                 request_timeout: float = 15.0,
                 check_timeout: float = 3.0,
                 session_timeout: float = 10.0,
                 heartbeat_interval: float | None = None,
                 max_poll_interval: float = 300.0,
                 join_timeout: float = 10.0,
                 client_options: dict[str, Any] | None = None):
        self.servers = _servers(bootstrap_servers)
        self.client_id = client_id
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.retention_ms = retention_ms
        self.auto_provision = auto_provision
        self.publish_timeout = publish_timeout
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.check_timeout = check_timeout
        self.session_timeout = session_timeout
        # A member that misses heartbeats for `session_timeout` is dead: beat a few times
        # within it, so one lost heartbeat is not a rebalance.
        self.heartbeat_interval = session_timeout / 4 if heartbeat_interval is None else heartbeat_interval
        if not 0 < self.heartbeat_interval < session_timeout:
            raise ValueError(f"the heartbeat interval ({self.heartbeat_interval:g}s) must be shorter than the "
                             f"session timeout ({session_timeout:g}s)")
        self.max_poll_interval = max_poll_interval
        self.join_timeout = join_timeout
        security = {"security_protocol": (security_protocol or "PLAINTEXT").upper(),
                    "ssl_cafile": ssl_cafile, "ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile,
                    "ssl_password": ssl_password, "ssl_check_hostname": ssl_check_hostname,
                    "sasl_mechanism": sasl_mechanism, "sasl_plain_username": sasl_plain_username,
                    "sasl_plain_password": sasl_plain_password}
        if security["security_protocol"] not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError(f"unknown Kafka security protocol {security_protocol!r}")
        if security["security_protocol"].startswith("SASL") and not sasl_mechanism:
            raise ValueError(f"security protocol {security['security_protocol']} needs a SASL mechanism")
        # Options left unset keep kafka-python's defaults.
        self._common = {"bootstrap_servers": self.servers, "client_id": client_id,
                        "bootstrap_timeout_ms": int(connect_timeout * 1000),
                        **{k: v for k, v in security.items() if v is not None},
                        **(client_options or {})}
        self._lock = threading.RLock()
        self._closing: threading.Thread | None = None  # a failed producer, still closing
        self._producer: KafkaProducer | None = None
        self._admin: KafkaAdminClient | None = None
        self._provisioned: set[str] = set()
        self._closed = False

    def __repr__(self) -> str:  # never shows credentials
        return f"KafkaEventLog({','.join(self.servers)}, {self._common['security_protocol']})"

    # --- clients --------------------------------------------------------------------------

    def _where(self) -> str:
        return ",".join(self.servers)

    def _admin_client(self) -> KafkaAdminClient:
        with self._lock:
            self._ensure_open()
            if self._admin is None:
                try:
                    self._admin = KafkaAdminClient(request_timeout_ms=int(self.request_timeout * 1000),
                                                   **self._admin_options())
                except kafka_errors.KafkaError as exc:
                    raise KafkaUnavailable(f"Kafka at {self._where()} is unreachable: {_describe(exc)}") from exc
            return self._admin

    def _admin_options(self) -> dict[str, Any]:
        allowed = set(KafkaAdminClient.DEFAULT_CONFIG)
        return {k: v for k, v in self._common.items() if k in allowed}

    def _producer_client(self) -> KafkaProducer:
        closing = self._closing
        if closing is not None:
            # A failed producer may still deliver what it held until its delivery timeout;
            # publishing anything newer before it is gone could put records out of order.
            closing.join(self.publish_timeout + self.request_timeout + 1)
        with self._lock:
            self._ensure_open()
            if self._producer is None:
                request_ms = int(self.request_timeout * 1000)
                try:
                    self._producer = KafkaProducer(
                        enable_idempotence=True, acks="all", max_in_flight_requests_per_connection=5,
                        linger_ms=5, allow_auto_create_topics=not self.auto_provision,
                        request_timeout_ms=request_ms,
                        delivery_timeout_ms=max(int(self.publish_timeout * 1000), request_ms + 5),
                        max_block_ms=int(self.publish_timeout * 1000),
                        **self._common)
                except kafka_errors.KafkaError as exc:
                    raise KafkaUnavailable(f"Kafka at {self._where()} is unreachable: {_describe(exc)}") from exc
            return self._producer

    def _admin_call(self, doing: str, call):
        """Run `call(admin)`. A connection broken since the last call (a broker restarted,
        say) costs one retry on a fresh admin client, not an error."""
        for attempt in (1, 2):
            admin = self._admin_client()
            try:
                return call(admin)
            except kafka_errors.KafkaError as exc:
                error = _unavailable_or_error(f"{doing} on {self._where()}", exc)
                if not isinstance(error, KafkaUnavailable):
                    raise error from exc
                self._drop_admin(admin)
                if attempt == 2:
                    raise error from exc
                log.info("Kafka admin connection broken, reconnecting", extra={"error": _describe(exc)})

    def _drop_admin(self, admin: KafkaAdminClient) -> None:
        with self._lock:
            if self._admin is admin:
                self._admin = None
        try:
            admin.close()
        except Exception:
            log.debug("closing the Kafka admin client failed", exc_info=True)

    def _drop_producer(self) -> None:
        """After a failed publish: forget the producer so the next publish starts afresh.

        Its records still pending are not sent later behind the caller's back for longer
        than `publish_timeout` (their delivery timeout); they may still arrive within it,
        which, with the caller publishing them again, is a duplicate, never a loss.
        kafka-python's `close` cannot discard pending records (it flushes first and raises
        if that times out), so the old producer is closed in the background once they
        have expired; the next publish waits for that, so nothing old arrives after it."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            self._closing = threading.Thread(target=_close_quietly,
                                             args=(producer, self.publish_timeout + self.request_timeout),
                                             name="haven-kafka-producer-close", daemon=True)
            self._closing.start()

    def _ensure_open(self) -> None:
        if self._closed:
            raise KafkaEventLogError("the Kafka event log is closed")

    # --- topics ---------------------------------------------------------------------------

    def ensure_topics(self, topics: Iterable[str], partitions: int | None = None,
                      replication_factor: int | None = None, retention_ms: int | None = None) -> None:
        """Create the topics that do not exist yet; existing ones are left as they are."""
        topics = [t for t in dict.fromkeys(topics)]
        if not topics:
            return
        configs = {}
        retention = self.retention_ms if retention_ms is None else retention_ms
        if retention is not None:
            configs["retention.ms"] = str(int(retention))
        spec = {"num_partitions": partitions or self.partitions,
                "replication_factor": replication_factor or self.replication_factor,
                "configs": configs}
        timeout_ms = int(self.request_timeout * 1000)
        response = self._admin_call(f"creating topics {topics}", lambda admin: admin.create_topics(
            {topic: dict(spec) for topic in topics}, timeout_ms=timeout_ms, raise_errors=False))
        failures = [f"{t['name']}: {t.get('error_message') or kafka_errors.for_code(t['error_code']).__name__}"
                    for t in response["topics"] if t["error_code"] not in (0, TOPIC_ALREADY_EXISTS)]
        if failures:
            raise KafkaEventLogError(f"could not create topics on {self._where()}: {'; '.join(failures)}")
        self._admin_call(f"waiting for topics {topics}", lambda admin: admin.wait_for_topics(topics, timeout_ms))
        with self._lock:
            self._provisioned.update(topics)

    def _provision(self, topics: Iterable[str]) -> None:
        if not self.auto_provision:
            return
        missing = [t for t in dict.fromkeys(topics) if t not in self._provisioned]
        if missing:
            self.ensure_topics(missing)

    def partition_counts(self, topics: Iterable[str]) -> dict[str, int]:
        """How many partitions each existing topic has (unknown topics are left out)."""
        wanted = list(dict.fromkeys(topics))
        described = self._admin_call("describing topics", lambda admin: admin.describe_topics(wanted))
        counts = {}
        for topic in described:
            if topic["error_code"] == UNKNOWN_TOPIC:
                continue
            if topic["error_code"]:
                error = kafka_errors.for_code(topic["error_code"])
                raise KafkaEventLogError(f"describing topic {topic['name']}: {error.__name__}")
            counts[topic["name"]] = len(topic["partitions"])
        return counts

    # --- EventLog -------------------------------------------------------------------------

    def publish(self, messages: list[Message]) -> None:
        if not messages:
            return
        try:
            self._provision(m.topic for m in messages)
            producer = self._producer_client()
        except KafkaEventLogError as exc:
            raise PublishFailed(f"publishing {len(messages)} message(s) failed: {exc}") from exc
        futures = []
        try:
            for message in messages:
                futures.append(producer.send(
                    message.topic, value=message.value, key=message.key.encode("utf-8"),
                    headers=[(name, value.encode("utf-8")) for name, value in message.headers.items()]))
            producer.flush(timeout=self.publish_timeout)
        except kafka_errors.KafkaError as exc:
            self._drop_producer()
            raise PublishFailed(f"publishing {len(messages)} message(s) to {self._where()} failed: "
                                f"{_describe(exc)}") from exc
        failed = [f for f in futures if not f.succeeded()]
        if failed:
            self._drop_producer()
            first = failed[0].exception if failed[0].is_done else "not acknowledged in time"
            raise PublishFailed(f"{len(failed)} of {len(messages)} message(s) were not acknowledged by "
                                f"{self._where()}: {_describe(first)}")

    def consumer(self, group: str, topics: list[str], instance: str | None = None) -> KafkaEventConsumer:
        self._ensure_open()
        self._provision(topics)
        return KafkaEventConsumer(self, group, topics, instance)

    def _consumer_client(self, group: str, instance: str | None) -> KafkaConsumer:
        # `instance` is Kafka's static membership (group.instance.id, KIP-345).
        static = {"group_instance_id": instance} if instance else {}
        try:
            return KafkaConsumer(
                group_id=group, enable_auto_commit=False, auto_offset_reset="earliest", **static,
                allow_auto_create_topics=not self.auto_provision,
                session_timeout_ms=int(self.session_timeout * 1000),
                heartbeat_interval_ms=max(100, int(self.heartbeat_interval * 1000)),
                max_poll_interval_ms=int(self.max_poll_interval * 1000),
                request_timeout_ms=max(int(self.request_timeout * 1000), 1000),
                fetch_max_wait_ms=100,
                **self._common)
        except kafka_errors.KafkaError as exc:
            raise KafkaUnavailable(f"Kafka at {self._where()} is unreachable: {_describe(exc)}") from exc

    def lag(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        """Per (topic, partition) of the existing topics: records after the group's committed
        offset (after the earliest retained record if the group never committed there)."""
        return {tp: max(0, end - next_read) for tp, (next_read, end) in self._positions(group, topics).items()}

    def committed(self, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
        return {tp: next_read for tp, (next_read, _end) in self._positions(group, topics).items()}

    def _positions(self, group: str, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(where `group` reads next, end offset) per partition of the existing topics."""
        partitions = self._topic_partitions(topics)
        if not partitions:
            return {}
        doing = f"reading the position of group {group!r}"
        committed = self._admin_call(doing, lambda admin: admin.list_group_offsets({group: partitions})).get(group, {})
        ends = self._offsets(partitions, OffsetSpec.LATEST, doing)
        starts = self._offsets(partitions, OffsetSpec.EARLIEST, doing)
        result = {}
        for tp in partitions:
            start, end = starts[tp], ends[tp]
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else start
            result[(tp.topic, tp.partition)] = (min(end, max(position, start)), end)
        return result

    def _topic_partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        topics = list(dict.fromkeys(topics))
        counts = self.partition_counts(topics)
        return [TopicPartition(t, p) for t in topics if t in counts for p in range(counts[t])]

    def _offsets(self, partitions: list[TopicPartition], spec, doing: str) -> dict[TopicPartition, int]:
        answer = self._admin_call(doing, lambda admin: admin.list_partition_offsets({tp: spec for tp in partitions}))
        return {tp: answer[tp].offset for tp in partitions}

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        partitions = self._topic_partitions(topics)
        if not partitions:
            return {}
        ends = self._offsets(partitions, OffsetSpec.LATEST, f"reading the end offsets of {list(topics)}")
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    def reader(self, topics: list[str]) -> KafkaEventReader:
        self._ensure_open()
        self._provision(topics)
        return KafkaEventReader(self, self._topic_partitions(topics))

    def groups(self) -> list[str]:
        listed = self._admin_call("listing consumer groups", lambda admin: admin.list_groups())
        return sorted({group["group_id"] for group in listed})

    def check(self) -> None:
        """Raise `KafkaUnavailable` unless a broker answers within `check_timeout` seconds.

        Uses a short-lived admin connection of its own, so a slow or broken shared client
        can neither delay nor fake the answer."""
        self._ensure_open()
        options = self._admin_options()
        options["bootstrap_timeout_ms"] = int(self.check_timeout * 1000)
        started = time.monotonic()
        admin = None
        try:
            admin = KafkaAdminClient(request_timeout_ms=int(self.check_timeout * 1000),
                                     reconnect_backoff_max_ms=1000, **options)
            admin.describe_topics([])  # a Metadata request for no topic: the brokers answer
        except (kafka_errors.KafkaError, OSError) as exc:
            raise KafkaUnavailable(
                f"Kafka at {self._where()} did not answer within {self.check_timeout:g}s "
                f"({time.monotonic() - started:.1f}s spent): {_describe(exc)}") from exc
        except Exception as exc:
            raise KafkaEventLogError(f"checking Kafka at {self._where()} failed: {_describe(exc)}") from exc
        finally:
            if admin is not None:
                try:
                    admin.close()
                except Exception:
                    log.debug("closing the check's admin client failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            producer, self._producer = self._producer, None
            admin, self._admin = self._admin, None
        if producer is not None:
            try:
                producer.close(timeout=self.publish_timeout)
            except Exception:
                log.warning("closing the Kafka producer failed", exc_info=True)
        if admin is not None:
            try:
                admin.close()
            except Exception:
                log.warning("closing the Kafka admin client failed", exc_info=True)


class KafkaEventConsumer(Consumer):
    """One member of a consumer group. Not thread-safe: use it from one thread."""

    def __init__(self, log_: KafkaEventLog, group: str, topics: list[str], instance: str | None = None):
        self.log = log_
        self.group = group
        self.topics = list(dict.fromkeys(topics))
        self._consumer = log_._consumer_client(group, instance)
        self._consumer.subscribe(self.topics)
        self._committed: dict[TopicPartition, int] = {}
        self._joined = False
        self._closed = False

    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        """Records in offset order per partition, waiting up to `timeout` seconds — after, on
        this member's first poll, waiting up to `join_timeout` for the group to give it its
        partitions. Later rebalances happen inside poll, within `timeout`."""
        if self._closed:
            raise KafkaEventLogError("the consumer is closed")
        if not self._joined:
            batches = self._await_join(max_records)
            if batches:
                return self._records(batches)
        return self._records(self._poll(timeout, max_records))

    def _await_join(self, max_records: int) -> dict:
        deadline = time.monotonic() + self.log.join_timeout
        while True:
            batches = self._poll(min(0.1, max(0.0, deadline - time.monotonic())), max_records)
            if self._consumer.group_metadata().state == MemberState.STABLE:
                self._joined = True
            if batches or self._joined or time.monotonic() >= deadline:
                return batches

    def _poll(self, timeout: float, max_records: int) -> dict:
        try:
            return self._consumer.poll(timeout_ms=max(0, int(timeout * 1000)), max_records=max_records)
        except kafka_errors.KafkaError as exc:
            raise _unavailable_or_error(f"polling group {self.group!r} on {self.log._where()}", exc) from exc

    @staticmethod
    def _records(batches: dict) -> list[Record]:
        records = []
        for tp in sorted(batches):
            for r in batches[tp]:
                records.append(Record(
                    topic=r.topic, partition=r.partition, offset=r.offset,
                    key=r.key.decode("utf-8", errors="replace") if r.key is not None else "",
                    value=r.value if r.value is not None else b"",
                    headers={name: (value or b"").decode("utf-8", errors="replace") for name, value in r.headers or []},
                    timestamp=r.timestamp / 1000.0 if r.timestamp is not None and r.timestamp >= 0 else 0.0))
        return records

    def commit(self, record: Record) -> None:
        self.commit_all([record])

    def commit_all(self, records: list[Record]) -> None:
        """One OffsetCommit request for the newest of `records` in each partition."""
        offsets: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            offsets[tp] = max(offsets.get(tp, -1), record.offset + 1)
        assigned = self._consumer.assignment()
        wanted = {}
        for tp, offset in offsets.items():
            if self._committed.get(tp, -1) >= offset:
                continue  # never move a partition's committed offset backwards
            if tp not in assigned:
                # Taken away by a rebalance: its new owner reads from the last commit and may
                # be past these records already, so committing them could move the offset back.
                log.warning("commit skipped: the partition moved to another member, which will deliver again",
                            extra={"group": self.group, "topic": tp.topic, "partition": tp.partition})
                continue
            wanted[tp] = offset
        if not wanted:
            return
        try:
            self._consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in wanted.items()},
                                  timeout_ms=int(self.log.request_timeout * 1000))
        except kafka_errors.FencedInstanceIdError as exc:
            raise MemberFenced(f"group {self.group!r}: another consumer took this one's instance name") from exc
        except _LOST_OWNERSHIP as exc:
            log.warning("commit skipped: the partition moved to another member, which will deliver again",
                        extra={"group": self.group, "partitions": sorted(str(tp) for tp in wanted),
                               "error": type(exc).__name__})
            return
        except kafka_errors.KafkaError as exc:
            where = ", ".join(f"{tp.topic}[{tp.partition}]@{offset - 1}" for tp, offset in sorted(wanted.items()))
            raise _unavailable_or_error(f"committing {where} for group {self.group!r}", exc) from exc
        self._committed.update(wanted)

    def assignment(self) -> list[tuple[str, int]]:
        """The partitions this member holds now."""
        return sorted((tp.topic, tp.partition) for tp in self._consumer.assignment())

    def seek_to_committed(self) -> None:
        """Forget positions read but not committed (after a failed handler, say)."""
        for tp in self._consumer.assignment():
            committed = self._consumer.committed(tp)
            if committed is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)

    def close(self) -> None:
        """Leave the group without committing anything not committed already."""
        if self._closed:
            return
        self._closed = True
        try:
            self._consumer.close(autocommit=False, timeout_ms=int(self.log.request_timeout * 1000))
        except Exception:
            log.warning("closing a Kafka consumer failed", exc_info=True)


class KafkaEventReader(Reader):
    """Every partition of its topics by manual assignment (`assign`, no `group_id`): no group
    is joined, nothing is committed, and the broker keeps no trace of it."""

    def __init__(self, log_: KafkaEventLog, partitions: list[TopicPartition]):
        self.log = log_
        try:
            self._consumer = KafkaConsumer(
                group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                request_timeout_ms=max(int(log_.request_timeout * 1000), 1000), fetch_max_wait_ms=100,
                **log_._common)
        except kafka_errors.KafkaError as exc:
            raise KafkaUnavailable(f"Kafka at {log_._where()} is unreachable: {_describe(exc)}") from exc
        self._partitions = partitions
        if partitions:
            self._consumer.assign(partitions)
            self._consumer.seek_to_beginning(*partitions)

    def poll(self, timeout: float, max_records: int = 100) -> list[Record]:
        if not self._partitions:  # kafka-python refuses to poll nothing
            time.sleep(timeout)
            return []
        try:
            batches = self._consumer.poll(timeout_ms=max(0, int(timeout * 1000)), max_records=max_records)
        except kafka_errors.KafkaError as exc:
            raise _unavailable_or_error(f"reading on {self.log._where()}", exc) from exc
        return KafkaEventConsumer._records(batches)

    def close(self) -> None:
        try:
            self._consumer.close(autocommit=False, timeout_ms=int(self.log.request_timeout * 1000))
        except Exception:
            log.warning("closing a Kafka reader failed", exc_info=True)


def _close_quietly(producer: KafkaProducer, timeout: float) -> None:
    try:
        producer.close(timeout=timeout)
    except Exception:
        log.warning("a dropped Kafka producer did not close within %.0fs", timeout, exc_info=True)


def _describe(error: Any) -> str:
    if isinstance(error, BaseException):
        name, text = type(error).__name__, str(error)
        return text if text.startswith(name) else f"{name}: {text}" if text else name
    return str(error)


def _unavailable_or_error(doing: str, exc: BaseException) -> KafkaEventLogError:
    if isinstance(exc, _UNREACHABLE):
        return KafkaUnavailable(f"{doing}: Kafka unreachable ({_describe(exc)})")
    return KafkaEventLogError(f"{doing}: {_describe(exc)}")
