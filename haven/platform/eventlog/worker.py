"""Running a handler over a consumer group: retries, dead letters, graceful shutdown.

At least once: a record is committed only after its handler returned, or after it was
dead-lettered (in one commit per polled batch; a crash in mid-batch redelivers the batch's
handled records, so handlers are idempotent on the event id). A transient failure is retried with exponential backoff; after
`max_attempts`, or at once for a record that can never succeed (not a valid event), the
record goes to the group's dead-letter topic `<group>.dlq` with the error, the attempt
count and where it came from in its headers, and the group moves on: one poison event
never blocks its partition. `replay_dead_letters` sends them back once the cause is fixed.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from . import EventLog, Message, Record, health
from .. import metrics
from ..events import InvalidEvent

log = logging.getLogger("haven.eventlog")


class Permanent(Exception):
    """Raised by a handler for a record that no retry will ever fix."""


def dead_letter_topic(group: str) -> str:
    return f"{group}.dlq"


@dataclass
class Retry:
    max_attempts: int = 5
    first_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** (attempt - 1))


def handle_one(event_log: EventLog, group: str, record: Record, handler: Callable[[Record], None],
               retry: Retry, stop: threading.Event) -> bool:
    """Handle `record` until it succeeds or is dead-lettered: True. False if asked to stop
    before either (the record stays uncommitted and will be delivered again)."""
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            handler(record)
            metrics.EVENT_HANDLER_DURATION.labels(group).observe(time.perf_counter() - started)
            metrics.EVENTS_CONSUMED.labels(record.topic, group).inc()
            return True
        except (InvalidEvent, Permanent) as exc:
            metrics.EVENTS_FAILED.labels(record.topic, group).inc()
            error = exc
            break
        except Exception as exc:  # transient until proven otherwise
            metrics.EVENTS_FAILED.labels(record.topic, group).inc()
            error = exc
            if attempt >= retry.max_attempts:
                break
            log.warning("handler failed, will retry", extra={"group": group, "topic": record.topic,
                                                            "attempt": attempt, "error": type(exc).__name__})
            if stop.wait(retry.delay(attempt)):
                return False
    event_log.publish([Message(
        topic=dead_letter_topic(group), key=record.key, value=record.value,
        headers={**record.headers, "dlq.error": f"{type(error).__name__}: {error}"[:500],
                 "dlq.attempts": str(attempt), "dlq.topic": record.topic, "dlq.partition": str(record.partition),
                 "dlq.offset": str(record.offset), "dlq.time": str(time.time())})])
    metrics.EVENTS_DEAD_LETTERED.labels(record.topic, group).inc()
    log.error("record dead-lettered", extra={"group": group, "topic": record.topic, "partition": record.partition,
                                             "offset": record.offset, "attempts": attempt,
                                             "error": type(error).__name__})
    return True


def run(event_log: EventLog, group: str, topics: list[str], handler: Callable[[Record], None],
        stop: threading.Event, retry: Retry | None = None, poll_timeout: float = 0.5,
        instance: str | None = None) -> None:
    """Consume until `stop` is set; then finish the current record, commit, and leave.
    `instance`: this worker's stable name in the group (see `EventLog.consumer`). While it
    runs, the consumer's health (`health.py`, judged by `event_log.health_limits`) is part
    of the process's /healthz."""
    retry = retry or Retry()
    metrics.prepare_consumer(topics, group)
    consumer = event_log.consumer(group, topics, instance=instance)
    consumer_health = health.ConsumerHealth(group, event_log.health_limits)
    holding = {"now": False}  # what the consuming thread saw at its last poll
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(event_log, group, topics, consumer_health, holding, done),
                               name=f"consumer-health-{group}", daemon=True)
    name = health.register(consumer_health)
    watcher.start()
    try:
        while not stop.is_set():
            handled: list[Record] = []
            try:
                records = consumer.poll(poll_timeout)
                holding["now"] = bool(consumer.held())
                for record in records:
                    if not handle_one(event_log, group, record, handler, retry, stop):
                        return
                    handled.append(record)
                    if stop.is_set():
                        return
            finally:
                # Once per polled batch, not per record: one round trip instead of a hundred.
                # A crash before this line only means the batch's handled records come again.
                if handled:
                    consumer.commit_all(handled)
    finally:
        done.set()
        health.unregister(name)
        consumer.close()


def _watch(event_log: EventLog, group: str, topics: list[str], consumer_health: health.ConsumerHealth,
           holding: dict, done: threading.Event) -> None:
    """Beside the consuming thread (which a stuck handler may hold up): the lag metric and
    the health samples."""
    while True:
        lag = _lag_by_topic(event_log, group, topics)
        for (topic, _partition), behind in lag.items():
            metrics.CONSUMER_LAG.labels(topic, group).set(behind)
        if lag:
            consumer_health.observe(time.monotonic(), holding["now"], sum(lag.values()))
        if done.wait(event_log.health_limits.sample_every):
            return


def _lag_by_topic(event_log: EventLog, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    totals: dict[tuple[str, int], int] = {}
    try:
        for (topic, _partition), behind in event_log.lag(group, topics).items():
            totals[(topic, 0)] = totals.get((topic, 0), 0) + behind
    except Exception:  # lag is information; the log being unreachable shows elsewhere
        return {}
    return totals


@dataclass
class ReplaySummary:
    """What one replay run did. `left` are dead letters that arrived after it started (a
    replayed record failing again, say): the next run replays them, this one does not."""

    replayed: dict[str, int] = field(default_factory=dict)  # per original topic
    skipped: int = 0  # dead letters that do not say where they came from
    left: int = 0

    @property
    def total(self) -> int:
        return sum(self.replayed.values())


def replay_dead_letters(event_log: EventLog, group: str, timeout: float = 10.0,
                        progress: Callable[[int, int], None] | None = None) -> ReplaySummary:
    """Send the dead letters of `group` back to the topics they came from, up to the end of
    the dead-letter topic as it is when the replay starts, then return.

    Bounded: a replayed record that fails again is dead-lettered behind that end, so it waits
    for the next run instead of going round for ever. Resumable: the replay is a consumer
    group of its own (`<group>.dlq-replay`) that commits each batch once it is published
    again, so a second run starts where the first stopped. A crash between the two only
    replays that batch twice, which consumers, idempotent on the event id, absorb.
    `progress(done, total)` is called after each batch. Stops early (what is left stays for
    the next run) when nothing arrives for `timeout` seconds (records pruned meanwhile)."""
    topic = dead_letter_topic(group)
    event_log.ensure_topics([topic])
    replay_group = f"{group}.dlq-replay"
    ends = event_log.end_offsets([topic])  # the bound: taken first, before anything is replayed
    starts = event_log.committed(replay_group, [topic])
    pending = {tp: end for tp, end in ends.items() if starts.get(tp, end) < end}
    total = sum(end - starts[tp] for tp, end in pending.items())
    summary = ReplaySummary()
    if not pending:
        return summary
    replayer = event_log.consumer(replay_group, [topic])
    done, quiet_since = 0, time.monotonic()
    try:
        while pending and time.monotonic() - quiet_since < timeout:
            batch, handled = [], []
            for record in replayer.poll(min(1.0, timeout)):
                tp = (record.topic, record.partition)
                if tp not in pending or record.offset >= pending[tp]:
                    pending.pop(tp, None)  # past the bound: this partition is done
                    continue
                handled.append(record)
                if record.offset + 1 >= pending[tp]:
                    del pending[tp]
                origin = record.headers.get("dlq.topic")
                if not origin:
                    summary.skipped += 1
                    continue
                headers = {k: v for k, v in record.headers.items() if not k.startswith("dlq.")}
                batch.append(Message(origin, record.key, record.value, {**headers, "replayed": "true"}))
            if not handled:
                continue
            quiet_since = time.monotonic()
            event_log.publish(batch)
            replayer.commit_all(handled)  # only once they are back in their topics
            for message in batch:
                summary.replayed[message.topic] = summary.replayed.get(message.topic, 0) + 1
            done += len(handled)
            if progress:
                progress(done, total)
    finally:
        replayer.close()
    after = event_log.committed(replay_group, [topic])
    summary.left = sum(max(0, end - after.get(tp, end)) for tp, end in event_log.end_offsets([topic]).items())
    log.info("dead letters replayed", extra={"group": group, "replayed": summary.total, "left": summary.left})
    return summary
