"""The consumer of `referral-events` (group `notify`): every referral event becomes the
deliveries and inbox items it causes, then the dispatcher is woken to send them."""
from __future__ import annotations

import threading
from typing import Callable

from haven.platform import events as cloud_events
from haven.platform.eventlog import EventLog, Record, worker
from services.referral import contract as referral_contract

from ..service_layer.fanout import Fanout

GROUP = "notify"


REFERRAL_TYPES = frozenset(referral_contract.event_type(kind) for kind in referral_contract.KINDS)


def handler(fanout: Fanout, wake: threading.Event) -> Callable[[Record], None]:
    def handle(record: Record) -> None:
        event = cloud_events.decode(record.value)  # InvalidEvent: dead-lettered at once by the worker
        if event.type not in REFERRAL_TYPES:
            # a valid event of another stream, published here by mistake: no retry will help
            raise worker.Permanent(f"not a referral event: {event.type}")
        if fanout.handle(event):
            wake.set()

    return handle


def referral_events(event_log: EventLog, fanout: Fanout, wake: threading.Event, stop: threading.Event,
                    retry: worker.Retry | None = None, instance: str | None = None) -> None:
    """The job: consume until `stop`. `instance`: the replica's stable member name, so a
    restarted worker (whatever its hostname) takes its partitions back at once."""
    worker.run(event_log, GROUP, [referral_contract.TOPIC], handler(fanout, wake), stop,
               retry=retry or worker.Retry(max_attempts=10, first_delay=0.2, max_delay=10.0),
               poll_timeout=0.5, instance=instance)
