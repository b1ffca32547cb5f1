"""Spreading kept-alive connections over a service's workers.

Every gunicorn worker waits on the same listening socket, and whichever wakes first takes
the connection. Under load that is the worker already running (its event loop is awake),
so a handful of long-lived keep-alive connections (the portal's pool to the directory, a
load balancer's) can all land on one worker: it runs one core flat out while the others
idle, and throughput halves. Here each worker publishes how many connections it holds in
a small table in shared memory, created by the master before it forks, and a worker
accepts only while it holds no more than any other worker that is accepting. The
connections then split evenly (2 over 2 workers: 1 and 1), whatever the timing.

Two guards keep a rule of politeness from becoming an outage: a worker that stops
(recycled, reloaded, shutting down) leaves the table at once, so nobody waits for it; and
a connection nobody has accepted for `STARVED_SECONDS` (the least busy worker is stuck)
is taken by whoever sees it.
"""
from __future__ import annotations

import multiprocessing
import os
import select
import time

# How long a waiting connection may sit unaccepted before any worker takes it.
STARVED_SECONDS = 0.05
# How often a worker that holds back looks again (its own loop may otherwise sleep 1 s).
RECHECK_SECONDS = 0.02
_EMPTY, _STOPPED = 0, -1


class ConnectionTable:
    """Open connections per worker, in shared memory: [pid, connections] per slot. Each
    worker writes only its own slot; slots are claimed and freed under a lock."""

    def __init__(self, slots: int):
        context = multiprocessing.get_context("fork")
        self._cells = context.RawArray("q", 2 * slots)
        self._lock = context.Lock()
        self.slots = slots

    def join(self, pid: int) -> int | None:
        """Claim a slot for this worker (None when the table is full: it then accepts freely)."""
        with self._lock:
            for slot in range(self.slots):
                if self._cells[2 * slot] == _EMPTY:
                    self._cells[2 * slot] = pid
                    self._cells[2 * slot + 1] = 0
                    return slot
        return None

    def leave(self, pid: int) -> None:
        """Free a dead worker's slot (the master calls this when a worker exits)."""
        with self._lock:
            for slot in range(self.slots):
                if self._cells[2 * slot] == pid:
                    self._cells[2 * slot] = _EMPTY
                    self._cells[2 * slot + 1] = 0

    def publish(self, slot: int, connections: int) -> None:
        self._cells[2 * slot + 1] = connections

    def stop(self, slot: int) -> None:
        """This worker accepts no more: others must not hold back for it."""
        self._cells[2 * slot + 1] = _STOPPED

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections any other accepting worker holds (None: no such worker)."""
        cells = self._cells
        fewest = None
        for other in range(self.slots):
            if other == slot or cells[2 * other] == _EMPTY:
                continue
            held = cells[2 * other + 1]
            if held != _STOPPED and (fewest is None or held < fewest):
                fewest = held
        return fewest


class FairShare:
    """One worker's side of the table: whether it may accept now."""

    def __init__(self, table: ConnectionTable | None):
        self.table = table
        self.slot: int | None = None
        self._waiting_since: float | None = None  # when a connection was first seen waiting
        self._last_shed = 0.0

    def start(self) -> None:
        if self.table is not None:
            self.slot = self.table.join(os.getpid())

    def stop(self) -> None:
        if self.slot is not None:
            self.table.stop(self.slot)

    def over_share(self, connections: int) -> bool:
        """Whether to close one of this worker's connections after its next answer: it holds
        two or more than another accepting worker (one that started late, or replaced
        another), so the client's reconnection goes there. At most one every RECHECK_SECONDS,
        so a backlog is handed over a connection at a time."""
        if self.slot is None:
            return False
        fewest = self.table.fewest_elsewhere(self.slot)
        if fewest is None or connections <= fewest + 1:
            return False
        now = time.monotonic()
        if now - self._last_shed < RECHECK_SECONDS:
            return False
        self._last_shed = now
        return True

    def publish(self, connections: int) -> None:
        if self.slot is not None:
            self.table.publish(self.slot, connections)

    @property
    def balanced(self) -> bool:
        return self.slot is not None

    def may_accept(self, connections: int, listeners) -> bool:
        """Publish `connections` and say whether to accept: yes while no other accepting
        worker holds fewer, or when a connection has waited STARVED_SECONDS for anyone."""
        if self.slot is None:
            return True
        self.table.publish(self.slot, connections)
        fewest = self.table.fewest_elsewhere(self.slot)
        if fewest is None or connections <= fewest:
            self._waiting_since = None
            return True
        try:
            waiting = bool(select.select(listeners, [], [], 0)[0])
        except (OSError, ValueError):
            waiting = False
        if not waiting:
            self._waiting_since = None
            return False
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        if now - self._waiting_since < STARVED_SECONDS:
            return False
        # One connection per starved interval: a burst of them must not all follow it here
        # while the worker they were waiting for catches up.
        self._waiting_since = now
        return True
