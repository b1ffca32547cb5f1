"""The dispatcher's loop: until `stop`, start every delivery that is due, then sleep until
the next one is (or the consumer wakes it). Sends run on a thread pool of the dispatch's
`slots`; leaving the loop waits for those in flight (each bounded by the send timeout)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..service_layer.dispatch import Dispatch

MEASURE_EVERY = 5.0  # seconds between two counts of the dead letters and open breakers (gauges)


def dispatcher(dispatch: Dispatch, stop: threading.Event) -> None:
    dispatch.recover()
    measured = 0.0
    with ThreadPoolExecutor(dispatch.slots, thread_name_prefix="notify-send") as pool:
        while not stop.is_set():
            if time.monotonic() - measured > MEASURE_EVERY:
                dispatch.count_dead_letters()
                dispatch.count_open_breakers()
                measured = time.monotonic()
            dispatch.wake.clear()
            if not dispatch.dispatch_due(pool):
                dispatch.wake.wait(dispatch.until_next_due())
