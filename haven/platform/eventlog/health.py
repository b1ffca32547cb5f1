"""Whether a consumer is doing its share: the worker's /healthz asks every consumer running
in the process, so an orchestrator replaces a worker stuck outside its group.

Two signs, judged from samples of (holds partitions?, group lag) a few times a minute:
- stalled: it has held no partition for `stalled_after` seconds while the group's lag did
  not shrink. A spare member of a busy group is fine (the lag shrinks: someone consumes);
  one whose group is frozen by a dead member holding the partitions is not.
- lag growing: the lag has not gone down once in `growing_after` seconds and is higher
  than when it last did. A consumer that keeps up shows dips; a stuck one only climbs.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class HealthLimits:
    stalled_after: float = 120.0
    growing_after: float = 600.0

    @property
    def sample_every(self) -> float:
        """Often enough to see either sign in time, never more than every 10 s is needed."""
        return max(0.2, min(10.0, self.stalled_after / 4, self.growing_after / 4))


class ConsumerHealth:
    def __init__(self, group: str, limits: HealthLimits):
        self.group = group
        self.limits = limits
        self.holds_partitions: bool | None = None
        self.lag: int | None = None
        self._unassigned_since: float | None = None
        self._went_down_at: float | None = None  # last time the lag went down (or first sample)
        self._lag_then = 0
        self._lock = threading.Lock()

    def observe(self, now: float, holds_partitions: bool, lag: int) -> None:
        with self._lock:
            if self.lag is None or lag < self.lag:
                self._went_down_at, self._lag_then = now, lag
            if holds_partitions:
                self._unassigned_since = None
            elif self._unassigned_since is None:
                self._unassigned_since = now
            self.holds_partitions, self.lag, self._now = holds_partitions, lag, now

    def problem(self) -> str | None:
        """Why this consumer is not doing its share, or None."""
        with self._lock:
            if self.lag is None:
                return None
            now, lag = self._now, self.lag
            still = now - self._went_down_at
            if self._unassigned_since is not None and lag > 0:
                stalled = now - max(self._unassigned_since, self._went_down_at)
                if stalled >= self.limits.stalled_after:
                    return (f"holds no partitions of group {self.group} while its lag ({lag}) has not "
                            f"shrunk for {stalled:.0f} s")
            if lag > self._lag_then and still >= self.limits.growing_after:
                return f"lag of group {self.group} grew from {self._lag_then} to {lag} in {still:.0f} s"
            return None

    def report(self) -> dict:
        return {"holds_partitions": self.holds_partitions, "lag": self.lag, "problem": self.problem()}


_running: dict[str, ConsumerHealth] = {}
_lock = threading.Lock()


def register(health: ConsumerHealth) -> str:
    """Make `health` part of this process's /healthz until `unregister`; returns its name."""
    with _lock:
        name, n = health.group, 1
        while name in _running:
            n += 1
            name = f"{health.group}#{n}"
        _running[name] = health
        return name


def unregister(name: str) -> None:
    with _lock:
        _running.pop(name, None)


def consumers() -> dict[str, ConsumerHealth]:
    with _lock:
        return dict(_running)
