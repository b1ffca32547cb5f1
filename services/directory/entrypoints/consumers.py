"""The consumer that keeps the search index in step with every writer's changes: each
provider event re-reads the service from the database and re-indexes it (or removes it).

`haven_search_index_lag_seconds` says how far behind the index is: 0 when nothing waits;
while changes wait, the age of the change applied last, or — if none could be applied for a
while (the search engine down) — the time since the last one was, so it grows through an
outage instead of freezing at its last small value."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from prometheus_client import Gauge

from haven.platform import events
from haven.platform.eventlog import EventLog, worker

from .. import contract
from ..service_layer.directory import Directory

GROUP = "directory-index"

INDEX_LAG = Gauge("haven_search_index_lag_seconds",
                  "Age of the newest provider change the search index has applied, when applied "
                  "(how far behind the index runs).", multiprocess_mode="max")


class _Progress:
    def __init__(self):
        self.applied_at = time.monotonic()  # when a change was last applied
        self.age = 0.0  # how old that change was then


def handler(directory: Directory, progress: _Progress | None = None):
    progress = progress or _Progress()

    def handle(record) -> None:
        event = events.decode(record.value)  # undecodable: dead-lettered by the worker
        if event.type != contract.SERVICE_CHANGED:
            raise worker.Permanent(f"not a provider event: {event.type}")
        directory.indexing.sync_listing(event.data["service_id"])  # raises if the index is down: retried
        changed = datetime.fromisoformat(event.data["changed_at"])
        progress.age = max(0.0, (datetime.now(timezone.utc) - changed).total_seconds())
        progress.applied_at = time.monotonic()
        INDEX_LAG.set(progress.age)

    return handle


def _watch(event_log: EventLog, progress: _Progress, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            waiting = sum(event_log.lag(GROUP, [contract.TOPIC]).values())
        except Exception:  # noqa: BLE001 — the log being down shows in readiness and the worker's lag
            continue
        if not waiting:
            INDEX_LAG.set(0.0)
        else:
            INDEX_LAG.set(max(progress.age, time.monotonic() - progress.applied_at))


def run(event_log: EventLog, directory: Directory, stop: threading.Event, watch_every: float = 5.0,
        instance: str | None = None) -> None:
    """`instance`: the worker replica's stable member name in the group."""
    progress = _Progress()
    watcher = threading.Thread(target=_watch, args=(event_log, progress, stop, watch_every), daemon=True,
                               name="index-lag")
    watcher.start()
    worker.run(event_log, GROUP, [contract.TOPIC], handler(directory, progress), stop,
               retry=worker.Retry(max_attempts=10, first_delay=0.5, max_delay=60),
               instance=instance)
