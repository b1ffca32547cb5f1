"""Keep a set of processes running on one machine: what `haven run` uses.

A program that exits is started again after a back-off (1 s, doubling to 30 s; back to 1 s
once a run lasted 30 s) and the others are left alone: one crashed worker must not take the
whole installation down. Every start and exit is written as a "system" line, in the same
"HH:MM:SS name | text" layout as the programs' own output, which is prefixed with their name.

Each program runs in its own session, so one signal reaches it and everything it forked (a
gunicorn master and its workers), and Ctrl-C in a terminal reaches only the supervisor, which
then stops them all: SIGTERM to every group, SIGKILL to what is left after a grace period.
The kernel sends each program SIGTERM if the supervisor itself dies (PR_SET_PDEATHSIG), so even
`kill -9` of the supervisor leaves nothing running for long.
"""
from __future__ import annotations

import ctypes
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, TextIO

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# After this many short runs in a row a program is reported as failing at start (its port is
# taken, its configuration is wrong...): still retried, as the cause may go away.
FAILING_AFTER = 3
_COLOURS = ("36", "33", "32", "35", "31", "34", "36;1", "33;1", "32;1", "35;1", "31;1", "34;1")


@dataclass(frozen=True)
class Program:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] | None = None


@dataclass
class Backoff:
    """How long to wait before starting a program again, given how long its last run lasted."""

    first: float = 1.0
    longest: float = 30.0
    stable_after: float = 30.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self):
        self._next = self.first

    def after_exit(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:  # it had been working: this is a new incident
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.longest)
        return delay


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()  # looked up here: the child after fork must not load libraries
_PR_SET_PDEATHSIG = 1


def _dies_with(parent: int):
    """preexec_fn: the child gets SIGTERM when the supervisor's thread that started it dies."""
    sigterm = int(signal.SIGTERM)

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != parent:  # the supervisor died before the request took effect
            os._exit(1)

    return preexec


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Printer:
    """honcho's layout: "HH:MM:SS name   | text", the prefix coloured when writing to a terminal."""

    def __init__(self, output: TextIO, names):
        self.output = output
        self.width = max(len(name) for name in [*names, "system"])
        try:
            self.colour = output.isatty()
        except (AttributeError, ValueError):
            self.colour = False
        self._lock = threading.Lock()

    def write(self, name: str, text: str, colour: str | None = None) -> None:
        prefix = f"{datetime.now():%H:%M:%S} {name.ljust(self.width)} | "
        if self.colour and colour:
            prefix = f"\033[0m\033[{colour}m{prefix}\033[0m"
        line = prefix + text + "\n"
        with self._lock:
            try:
                try:
                    self.output.write(line)
                except UnicodeEncodeError:  # a terminal that cannot show Vietnamese
                    encoding = getattr(self.output, "encoding", None) or "ascii"
                    self.output.write(line.encode(encoding, "replace").decode(encoding))
                self.output.flush()
            except OSError:  # the terminal went away, or a pipe reader left: keep supervising
                pass


class _Child:
    def __init__(self, program: Program, colour: str, backoff: Backoff):
        self.program = program
        self.colour = colour
        self.backoff = backoff
        self.popen: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.leftover_group: int | None = None  # its group after the leader exited (gunicorn workers)
        self.short_runs = 0
        self.last_line = ""


class _Pipe:
    """A program's output; it outlives the program while anything it forked still holds it."""

    def __init__(self, child: _Child, file):
        self.child = child
        self.file = file
        self.fd = file.fileno()
        self.pending = b""


class Supervisor:
    def __init__(self, programs, output: TextIO | None = None, *, first_delay: float = 1.0,
                 longest_delay: float = 30.0, stable_after: float = 30.0, grace: float = 12.0):
        programs = list(programs)
        self.printer = Printer(output or sys.stdout, [p.name for p in programs])
        self.children = [_Child(p, _COLOURS[n % len(_COLOURS)], Backoff(first_delay, longest_delay, stable_after))
                         for n, p in enumerate(programs)]
        self.stable_after = stable_after
        self.grace = grace
        self.stopping = threading.Event()  # set once a stop began: other threads may read it
        self._signals: list[int] = []
        self._stop_deadline: float | None = None
        self._selector = selectors.DefaultSelector()

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> int:
        """Start every program and keep them running until a stop signal; 0 once all stopped."""
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        self._selector.register(wake_read, selectors.EVENT_READ, None)
        self._wake_read = wake_read

        def on_signal(number, _frame):
            if number != signal.SIGCHLD:
                self._signals.append(number)
            try:
                os.write(wake_write, b"\0")
            except OSError:  # the pipe is full: the loop is awake anyway
                pass

        previous = {number: signal.signal(number, on_signal) for number in (*STOP_SIGNALS, signal.SIGCHLD)}
        try:
            for child in self.children:
                self._start(child)
            while not (self.stopping.is_set() and self._all_exited()):
                self._wait_for_something()
                while self._signals:
                    self._on_stop_signal(self._signals.pop(0))
                self._reap()
                self._restart_due()
                self._kill_if_grace_over()
            self._finish()
            return 0
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._selector.close()
            os.close(wake_read)
            os.close(wake_write)

    def _wait_for_something(self, longest: float = 0.5) -> None:
        # 0.5 s is also the longest a child's exit goes unnoticed should its SIGCHLD be lost
        due = [c.restart_at for c in self.children if c.restart_at is not None]
        timeout = max(0.0, min([longest, *(at - time.monotonic() for at in due)]))
        for key, _ in self._selector.select(timeout):
            if key.data is None:
                try:
                    os.read(self._wake_read, 4096)
                except BlockingIOError:
                    pass
            else:
                self._read(key.data)

    # --- starting and output -----------------------------------------------------------

    def _start(self, child: _Child) -> None:
        child.restart_at = None
        if child.leftover_group is not None:  # what the last run left behind must not hold its port
            _signal_group(child.leftover_group, signal.SIGKILL)
            child.leftover_group = None
        try:
            popen = subprocess.Popen(child.program.argv, env=child.program.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_dies_with(os.getpid()))
        except OSError as exc:
            self._system(f"{child.program.name} could not be started: {exc}")
            self._schedule_restart(child, ran_for=0.0)
            return
        child.popen, child.started_at = popen, time.monotonic()
        os.set_blocking(popen.stdout.fileno(), False)
        self._selector.register(popen.stdout.fileno(), selectors.EVENT_READ, _Pipe(child, popen.stdout))
        self._system(f"{child.program.name} started (pid={popen.pid})")

    def _read(self, pipe: _Pipe) -> None:
        try:
            chunk = os.read(pipe.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        lines = (pipe.pending + chunk).split(b"\n")
        pipe.pending = lines.pop() if chunk else b""
        if not chunk and lines and lines[-1] == b"":
            lines.pop()
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            pipe.child.last_line = text or pipe.child.last_line
            self.printer.write(pipe.child.program.name, text, pipe.child.colour)
        if not chunk:  # every process holding the pipe is gone
            self._selector.unregister(pipe.fd)
            pipe.file.close()

    def _system(self, text: str) -> None:
        self.printer.write("system", text)

    # --- exits and restarts ------------------------------------------------------------

    def _reap(self) -> None:
        for child in self.children:
            if child.popen is None or child.popen.poll() is None:
                continue
            popen, ran_for = child.popen, time.monotonic() - child.started_at
            child.popen = None
            # The leader is gone, its group may not be (a gunicorn master's workers): they are
            # asked to stop now and killed before the next start.
            child.leftover_group = popen.pid
            _signal_group(popen.pid, signal.SIGTERM)
            how = describe_exit(popen.returncode)
            if self.stopping.is_set():
                self._system(f"{child.program.name} stopped (pid={popen.pid}, {how})")
                continue
            self._schedule_restart(child, ran_for, f"{child.program.name} exited (pid={popen.pid}, {how}) "
                                                   f"after {ran_for:.1f} s")

    def _schedule_restart(self, child: _Child, ran_for: float, what: str = "") -> None:
        delay = child.backoff.after_exit(ran_for)
        child.short_runs = child.short_runs + 1 if ran_for < self.stable_after else 0
        child.restart_at = time.monotonic() + delay
        if child.short_runs >= FAILING_AFTER:
            said = f"; its last line: {child.last_line!r}" if child.last_line else ""
            self._system(f"{what}: it keeps failing at start ({child.short_runs} times in a row "
                         f"within {self.stable_after:.0f} s of starting){said}; next try in {delay:g} s")
        elif what:
            self._system(f"{what}; restarting in {delay:g} s")

    def _restart_due(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None and child.restart_at <= now and not self.stopping.is_set():
                self._start(child)

    # --- stopping ----------------------------------------------------------------------

    def _on_stop_signal(self, number: int) -> None:
        name = signal.Signals(number).name
        if self.stopping.is_set():  # asked twice: no more waiting
            self._system(f"{name} again: killing every process")
            self._signal_all(signal.SIGKILL)
            return
        self.stopping.set()
        self._stop_deadline = time.monotonic() + self.grace
        for child in self.children:
            child.restart_at = None
        self._system(f"{name} received: stopping every process")
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, sig: int) -> None:
        for child in self.children:
            group = child.popen.pid if child.popen is not None else child.leftover_group
            if group is not None:
                _signal_group(group, sig)

    def _all_exited(self) -> bool:
        return all(child.popen is None for child in self.children)

    def _kill_if_grace_over(self) -> None:
        if self._stop_deadline is None or time.monotonic() < self._stop_deadline:
            return
        for child in self.children:
            if child.popen is not None:
                self._system(f"{child.program.name} did not stop within {self.grace:.0f} s: killing it")
        self._signal_all(signal.SIGKILL)
        self._stop_deadline = time.monotonic() + self.grace  # and again, should one still hang on

    def _finish(self) -> None:
        """Every leader has exited: kill what they left, and print the last lines they wrote."""
        self._signal_all(signal.SIGKILL)
        deadline = time.monotonic() + 2
        while len(self._selector.get_map()) > 1 and time.monotonic() < deadline:
            self._wait_for_something(0.1)
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                key.data.file.close()
        self._system("every process stopped")
