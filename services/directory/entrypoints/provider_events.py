"""The consumer that keeps the search index in step with every writer's changes: each
provider event re-reads the service from the database and re-indexes it (or removes it).

`haven_search_index_lag_seconds` says how far behind the index is: the age of the change
the consumer applied last (0 when it has caught up and nothing is waiting)."""
from __future__ import annotations

import socket
import threading
from datetime import datetime, timezone

from prometheus_client import Gauge

from haven.platform import events
from haven.platform.eventlog import EventLog, worker

from .. import contract
from ..service_layer.services import Directory

GROUP = "directory-index"

INDEX_LAG = Gauge("haven_search_index_lag_seconds",
                  "Age of the newest provider change the search index has applied, when applied "
                  "(how far behind the index runs).", multiprocess_mode="max")


def handler(directory: Directory):
    def handle(record) -> None:
        event = events.decode(record.value)  # undecodable: dead-lettered by the worker
        if event.type != contract.SERVICE_CHANGED:
            return
        directory.sync_listing(event.data["service_id"])  # raises if the index is down: retried
        changed = datetime.fromisoformat(event.data["changed_at"])
        INDEX_LAG.set(max(0.0, (datetime.now(timezone.utc) - changed).total_seconds()))

    return handle


def run(event_log: EventLog, directory: Directory, stop: threading.Event) -> None:
    worker.run(event_log, GROUP, [contract.TOPIC], handler(directory), stop,
               retry=worker.Retry(max_attempts=10, first_delay=0.5, max_delay=60),
               instance=f"directory-{socket.gethostname()}")
