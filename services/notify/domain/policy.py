"""How deliveries are retried, and when an endpoint is left alone for a while.

Backoff: the wait doubles after each failed attempt, up to a ceiling, and is jittered (half
fixed, half random) so that a thousand deliveries that failed together when an agency's
server went down do not all come back in the same second when it returns.

Circuit breaker, one per endpoint (a webhook URL, the SMTP server, the SMS gateway): after
`failures` consecutive failures it opens, and deliveries to that endpoint wait (without
spending an attempt) until `open_for` seconds have passed; then a single trial delivery
goes through (half-open) and its outcome closes the breaker or opens it again. A dead
endpoint then costs one request per period, not one per queued delivery.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Backoff:
    max_attempts: int = 8
    first: float = 2.0
    ceiling: float = 900.0

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Wait after `attempts` failed attempts (1 = after the first)."""
        # the exponent is capped: after many manual retries 2**n would overflow a float
        full = min(self.ceiling, self.first * 2 ** min(max(attempts - 1, 0), 40))
        return full / 2 + rand() * full / 2


class CircuitBreaker:
    """In-memory, per process: the worker is the only sender of its database."""

    def __init__(self, failures: int, open_for: float, clock: Callable[[], float], trial_timeout: float = 60.0):
        self.failures, self.open_for, self.clock = failures, open_for, clock
        # A trial that never reports back (a crash in between, a path that sent nothing)
        # must not keep the endpoint shut for good: after this long another one may go.
        self.trial_timeout = trial_timeout
        self._state: dict[str, tuple[int, float, float]] = {}  # key -> (failures, open until, trial sent at)
        self._lock = threading.Lock()

    def wait_until(self, key: str) -> float | None:
        """None if a delivery to `key` may go now (and, when half-open, it is the trial);
        otherwise the time until which it should wait."""
        with self._lock:
            count, until, trial = self._state.get(key, (0, 0.0, 0.0))
            if count < self.failures:
                return None
            now = self.clock()
            if now < until:
                return until
            if trial and now - trial < self.trial_timeout:  # a trial is on its way: wait for its verdict
                return now + min(1.0, self.open_for)
            self._state[key] = (count, until, now)
            return None

    def release(self, key: str) -> None:
        """The trial (if any) sent nothing after all: let the next delivery be the trial."""
        with self._lock:
            if key in self._state:
                count, until, _trial = self._state[key]
                self._state[key] = (count, until, 0.0)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)

    def failed(self, key: str) -> None:
        with self._lock:
            count, _until, _trial = self._state.get(key, (0, 0.0, 0.0))
            count += 1
            until = self.clock() + self.open_for if count >= self.failures else 0.0
            self._state[key] = (count, until, 0.0)

    def is_open(self, key: str) -> bool:
        with self._lock:
            count, until, _ = self._state.get(key, (0, 0.0, 0.0))
            return count >= self.failures and self.clock() < until
