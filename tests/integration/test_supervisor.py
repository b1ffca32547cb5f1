"""The supervisor `haven run` uses, on small real programs: a program that exits is started
again and the exit is told; the others keep running; a stop reaches everything a program
forked; nothing outlives the supervisor, even when it is killed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.haven_process import processes_using

# The supervisor installs signal handlers, so it runs as its own process, as under `haven run`.
DRIVER = """
import json, sys
from haven.supervisor import Program, Supervisor
settings = json.loads(sys.argv[1])
programs = [Program(name, (sys.executable, "-c", code)) for name, code in settings.pop("programs").items()]
sys.exit(Supervisor(programs, **settings).run())
"""
SLEEPER = "import time; print('up', flush=True); time.sleep(300)"


class Supervised:
    def __init__(self, tmp_path, programs: dict[str, str], **settings):
        self.marker = str(tmp_path)  # every process started here carries it (see processes_using)
        self.log_path = tmp_path / "supervisor.log"
        self._log = open(self.log_path, "wb")
        settings = {"first_delay": 0.05, "longest_delay": 0.4, "stable_after": 30.0, **settings, "programs": programs}
        self.process = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(settings)],
                                        env={**os.environ, "HAVEN_DATA_DIR": self.marker, "PYTHONUNBUFFERED": "1"},
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def system(self) -> list[str]:
        return [line.split("| ", 1)[1] for line in self.lines() if line[9:].startswith("system ")]

    def wait_for(self, predicate, what: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"never saw {what}:\n" + "\n".join(self.lines()[-40:]))

    def pid_of(self, name: str, nth: int = 0) -> int:
        """The pid of the program's nth start (0: the first)."""
        def started():
            lines = [line for line in self.system() if line.startswith(f"{name} started (pid=")]
            return lines[nth] if len(lines) > nth else None

        return int(self.wait_for(started, f"{name} started").split("pid=", 1)[1].rstrip(")"))

    def starts(self, name: str) -> int:
        return sum(line.startswith(f"{name} started (pid=") for line in self.system())

    def stop(self, sig=signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(30)
        finally:
            self._log.close()

    def leftovers(self) -> list[int]:
        deadline = time.monotonic() + 15
        while processes_using(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        return processes_using(self.marker)

    def kill_everything(self):
        for pid in processes_using(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def supervise(tmp_path):
    started = []

    def start(programs, **settings):
        started.append(Supervised(tmp_path, programs, **settings))
        return started[-1]

    yield start
    for supervised in started:
        if supervised.process.poll() is None:
            supervised.process.kill()
        supervised.kill_everything()


def test_a_program_that_keeps_exiting_is_restarted_reported_and_the_others_keep_running(supervise):
    run = supervise({"flaky": "print('port 8101 is taken', flush=True); raise SystemExit(2)", "steady": SLEEPER})
    run.wait_for(lambda: [line for line in run.system() if "keeps failing at start" in line],
                 "a report that flaky keeps failing")
    exits = [line for line in run.system() if line.startswith("flaky exited")]
    assert len(exits) >= 3 and all("exit code 2" in line for line in exits)
    assert "restarting in" in exits[0]
    report = next(line for line in run.system() if "keeps failing at start" in line)
    assert "its last line: 'port 8101 is taken'" in report and "next try in" in report
    assert run.starts("steady") == 1  # never touched
    assert any(line.endswith("| up") and " steady " in line for line in run.lines())  # its output, prefixed
    assert run.stop() == 0
    assert run.leftovers() == []


def test_a_killed_program_is_reported_with_its_signal_and_started_again(supervise):
    run = supervise({"worker": SLEEPER, "server": SLEEPER})
    first = run.pid_of("worker")
    other = run.pid_of("server")
    os.kill(first, signal.SIGKILL)
    again = run.pid_of("worker", nth=1)
    assert again != first
    exited = next(line for line in run.system() if line.startswith("worker exited"))
    assert f"pid={first}" in exited and "killed by SIGKILL" in exited
    assert run.starts("server") == 1
    os.kill(other, 0)  # still the same process
    assert run.stop() == 0
    assert run.leftovers() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_reaches_what_each_program_forked(supervise, sig):
    forks = "import subprocess, time; subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
    run = supervise({"master": forks, "other": SLEEPER})
    run.wait_for(lambda: len(processes_using(run.marker)) >= 4, "the supervisor, both programs and the fork")
    assert run.stop(sig) == 0
    assert run.leftovers() == []
    assert run.system()[-1] == "every process stopped"


def test_what_an_exited_program_left_behind_is_killed_before_it_starts_again(supervise):
    # like a gunicorn master killed under its workers: they would hold its port
    leaves = ("import signal, subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
              "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)']); "
              "time.sleep(0.3); raise SystemExit(1)")
    run = supervise({"master": leaves})
    run.wait_for(lambda: run.starts("master") >= 5, "five starts")
    # each start killed the previous one's child: at most the newest run's child and its own
    assert len(processes_using(run.marker)) <= 3
    assert run.stop() == 0
    assert run.leftovers() == []


def test_a_program_that_ignores_sigterm_is_killed_after_the_grace_period(supervise):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(300)"
    run = supervise({"stubborn": stubborn}, grace=1.0)
    run.wait_for(lambda: any(line.endswith("| up") for line in run.lines()), "stubborn up")
    assert run.stop() == 0
    assert any(line == "stubborn did not stop within 1 s: killing it" for line in run.system())
    assert run.leftovers() == []


def test_nothing_outlives_a_killed_supervisor(supervise):
    forks = "import subprocess, time; subprocess.Popen(['sleep', '300']); print('up', flush=True); time.sleep(300)"
    run = supervise({"master": forks, "other": SLEEPER})
    run.wait_for(lambda: len(processes_using(run.marker)) >= 4, "the supervisor, both programs and the fork")
    run.process.kill()
    run.process.wait(10)
    # the programs get SIGTERM from the kernel; the fork here has no such request and is
    # only a fork of a fork, like gunicorn's workers, which leave once their master is gone
    run.wait_for(lambda: not [pid for pid in processes_using(run.marker) if _command(pid) != "sleep"],
                 "every program gone")


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""
