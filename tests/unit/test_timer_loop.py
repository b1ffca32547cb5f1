"""The loop every timer job runs (`haven.platform.background.every`)."""
from __future__ import annotations

import threading

import pytest

from haven.platform.background import every


def test_a_timer_ticks_at_once_then_every_interval_until_stopped():
    stop, ticks = threading.Event(), []

    def tick():
        ticks.append(len(ticks))
        if len(ticks) == 3:
            stop.set()

    every(0.001, tick, stop)
    assert ticks == [0, 1, 2]
    every(0.001, tick, stop)  # already stopped: no tick
    assert len(ticks) == 3


def test_a_failing_tick_ends_the_loop_for_the_supervisor_to_restart():
    with pytest.raises(ZeroDivisionError):
        every(0.001, lambda: 1 / 0, threading.Event())
