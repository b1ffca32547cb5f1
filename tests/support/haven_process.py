"""Start Haven the way a person does (`haven run`), on free ports, in a temporary folder."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import requests

from .network import free_port

SERVICES = ("directory", "referral", "notify")
PROCESSES = ("portal", *SERVICES)  # what `haven run` starts: the portal and the three services


def processes_using(data_dir: str) -> list[int]:
    """PIDs of every process started with this data dir in its environment."""
    marker = f"HAVEN_DATA_DIR={data_dir}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if marker in fh.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])  # the name may hold spaces
    except (OSError, IndexError, ValueError):
        return None


def _command_line(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [part.decode(errors="replace") for part in fh.read().split(b"\0") if part]
    except OSError:
        return []


class RunningHaven:
    def __init__(self, data_dir, **environ):
        self.data_dir = str(data_dir)
        self.ports = {name: free_port() for name in PROCESSES}
        self.worker_ports = {name: free_port() for name in SERVICES}
        self.env = {**os.environ, "HAVEN_DATA_DIR": self.data_dir, "PYTHONUNBUFFERED": "1",
                    **{f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
                    **{f"{name.upper()}_WORKER_PORT": str(port) for name, port in self.worker_ports.items()},
                    **environ}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log_path = os.path.join(self.data_dir, "haven-run.log")
        self.process: subprocess.Popen | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def worker_url(self, service: str) -> str:
        """The service's background worker: /metrics and /healthz."""
        return f"http://127.0.0.1:{self.worker_ports[service]}"

    def metrics(self, service: str, *patterns: str, timeout: float = 10) -> str:
        """The worker's /metrics once every regex in `patterns` matches it. A counter moves just
        after the change it counts is committed, so a scrape right after seeing the change
        through the API may come a moment early."""
        deadline, missing = time.monotonic() + timeout, list(patterns)
        while True:
            text = requests.get(self.worker_url(service) + "/metrics", timeout=5).text
            missing = [pattern for pattern in patterns if not re.search(pattern, text)]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not missing, (service, missing, [line for line in text.splitlines() if any(
            line.startswith(re.split(r"[\\{ ]", pattern, maxsplit=1)[0]) for pattern in missing)])
        return text

    def start(self, timeout: float = 60) -> "RunningHaven":
        os.makedirs(self.data_dir, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "haven", "run"], env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        for service in PROCESSES:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"haven run exited early:\n{self.why_it_stopped()}")
                if any("keeps failing at start" in line for line in self.system_lines()):
                    raise RuntimeError(f"a process of haven run keeps failing at start:\n{self.why_it_stopped()}")
                answer = "no answer"
                try:
                    ready = requests.get(f"{self.url(service)}/readyz", timeout=1)
                    if ready.status_code == 200:
                        break
                    answer = ready.text[:500]
                except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} not ready in {timeout}s ({answer}):\n{self.why_it_stopped()}")
                time.sleep(0.2)
        return self

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()[-5000:]

    def system_lines(self) -> list[str]:
        """What `haven run`'s supervisor said: starts, exits, restarts, stops."""
        return [text for name, text in self._lines() if name == "system"]

    def _lines(self) -> list[tuple[str, str]]:
        """(process name, text) of each line: the supervisor writes "HH:MM:SS name | text"."""
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
        return [(line.split("| ", 1)[0].split(" ", 1)[-1].strip(), line.split("| ", 1)[1]) if "| " in line
                else ("", line) for line in lines]

    def why_it_stopped(self) -> str:
        """The process that stopped first and its last words (the rest of the log is the
        others' start and, under `haven run`, that process being started again)."""
        lines = self._lines()
        exits = [n for n, (who, text) in enumerate(lines) if who == "system" and " exited (pid=" in text]
        if not exits:
            return self.log()
        first = lines[exits[0]][1]
        name = first.split(" exited (", 1)[0]
        own = [f"{name} | {text}" for who, text in lines[:exits[0]] if who == name]
        return "\n".join([f"{name} stopped first; its last lines:", *own[-40:], first])

    def processes(self) -> dict[str, int]:
        """The processes `haven run` keeps running, by the names it gives them: "directory"
        (its gunicorn master), "directory-worker" (`haven worker directory`), ..."""
        found = {}
        for pid in processes_using(self.data_dir):
            argv = _command_line(pid)
            if argv[-2:-1] in (["serve"], ["worker"]) and self._started_by_run(pid, argv):
                found[argv[-1] + ("-worker" if argv[-2] == "worker" else "")] = pid
        return found

    def _started_by_run(self, pid: int, argv: list[str]) -> bool:
        """Started by `haven run` (or by a helper of it), not forked by its gunicorn master,
        nor a gunicorn worker whose master is gone."""
        ancestor = _parent_of(pid)
        while ancestor and ancestor > 1:
            if ancestor == self.process.pid:
                return True
            if _command_line(ancestor) == argv:
                return False
            ancestor = _parent_of(ancestor)
        return False

    def gunicorn_workers(self, service: str) -> list[int]:
        """The pids of the workers of SERVICE's gunicorn master."""
        master = self.processes().get(service)
        return [pid for pid in processes_using(self.data_dir) if master and _parent_of(pid) == master]

    def kill_everything(self) -> None:
        for pid in processes_using(self.data_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
