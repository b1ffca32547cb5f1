"""The Kafka-protocol stand-in for the tests: `noida-db` (PyPI, pinned to 0.2.3) on a free
port of 127.0.0.1, with its data in a directory of the test's own.

    with NoidaKafka(tmp_path) as kafka:
        log = KafkaEventLog(kafka.bootstrap)
        ...
        kafka.restart()   # same data directory, same port (broker-outage tests)

What the stand-in is and is not (noida-db 0.2.3, checked with kafka-python 3.0.12): one
broker (node 1) speaking the Kafka binary protocol. CreateTopics (with configs), Metadata,
DescribeConfigs, idempotent Produce, Fetch, ListOffsets, the classic consumer-group
protocol with rebalances, OffsetCommit/OffsetFetch, DescribeGroups and SASL/PLAIN (any
credentials accepted) work. Where it differs from a real broker:
- it keeps everything in memory and writes `<data dir>/kafka.json` only on a clean
  shutdown (SIGTERM, which `stop()` sends): killed with SIGKILL, it loses every record and commit it
  acknowledged since it was started; and a record it acknowledges while that save is
  under way can be missing from the saved data (seen once in 8 runs of the broker-outage
  test on a loaded machine: the producer's next send then fails with
  OutOfOrderSequenceNumber, and the record is gone);
- once a rebalance starts it rejects the offset commits of the existing members
  (ILLEGAL_GENERATION) — a real broker accepts them until the rebalance completes — so
  records in flight at a rebalance are delivered again;
- a member re-sending JoinGroup with unchanged metadata starts a new rebalance (a real
  broker answers a follower's re-join in a stable group with the current generation);
- a member that dies without leaving (SIGKILL) is never expired once a rebalance has
  made it the group's leader: the survivors' SyncGroup keeps failing with
  REBALANCE_IN_PROGRESS and the group stalls (a real broker removes it when its session
  times out). A restarted member with the same static instance id (`group.instance.id`,
  the `instance` of `EventLog.consumer`) replaces it at once, which is what the crash
  tests use;
- Fetch ignores `max_wait_ms` (an empty fetch is answered at once), so an idle consumer
  polls in a busy loop, about one core each;
- no TLS, no SCRAM, replication factor 1 only; DescribeCluster only at v0, which
  kafka-python 3.0.12's `describe_cluster()` fails to parse (KeyError 'endpoint_type').

The `noida-db` console script is a small Python wrapper that runs the real binary as a
child without forwarding signals, so the wrapper is started in a session of its own and
stopped by signalling that process group (which holds only the wrapper and the server).
"""
from __future__ import annotations

import abc
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from .network import free_port

HOST = "127.0.0.1"


def noida_executable() -> str:
    """The `noida-db` console script of the interpreter running the tests (the venv's bin)."""
    path = Path(sys.executable).parent / ("noida-db.exe" if os.name == "nt" else "noida-db")
    if not path.exists():
        raise RuntimeError(f"{path} not found: install the test dependencies "
                           "(`.venv/bin/pip install noida-db==0.2.3`)")
    return str(path)


def metadata_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a Kafka broker at host:port answers a Metadata (v0) request."""
    correlation_id = 0x4856_4E01
    client_id = b"haven-tests"
    body = (struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id
            + struct.pack(">i", 0))  # v0: an empty topic list asks for every topic
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(struct.pack(">i", len(body)) + body)
            header = _read_exactly(connection, 8)
            size, answered_id = struct.unpack(">ii", header)
            return answered_id == correlation_id and size >= 4
    except (OSError, ValueError):
        return False


def _read_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data


class NoidaStandIn(abc.ABC):
    """One noida-db process serving one protocol (`protocol`) on 127.0.0.1:<free port>, in a
    session of its own, its data under `tmp_dir`. Subclasses say how to tell it answers."""

    protocol = ""

    def __init__(self, tmp_dir: str | os.PathLike, port: int | None = None, start_timeout: float = 30.0,
                 stop_timeout: float = 10.0):
        self.root = Path(tmp_dir)
        self.data_dir = self.root / "noida-data"
        self.log_path = self.root / "noida.log"
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None

    @abc.abstractmethod
    def answers(self) -> bool:
        """Whether the stand-in answers its protocol yet."""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self):
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [noida_executable(), "start", "--data-dir", str(self.data_dir), "--host", HOST,
                   "--only", self.protocol, f"--{self.protocol}-port", str(self.port)]
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._reap_group(self.process.pid)
                self.process = None
                raise RuntimeError(f"noida-db exited during start-up:\n{self.log_tail()}")
            if self.answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"noida-db did not answer as {self.protocol} on port {self.port} within "
                           f"{self.start_timeout:.0f}s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and _group_alive(self.process.pid)

    def stop(self) -> None:
        """Clean shutdown (SIGTERM: the stand-in saves its data), SIGKILL if it lingers."""
        self._signal_and_reap(signal.SIGTERM)

    def kill(self) -> None:
        """Crash it (SIGKILL). The stand-in loses whatever it received since its last clean start."""
        self._signal_and_reap(signal.SIGKILL)

    def restart(self):
        """Stop, then start again on the same data directory and port."""
        self.stop()
        return self.start()

    def _signal_and_reap(self, first: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid  # a session of its own: its id is the process group's id
        try:
            os.killpg(group, first)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and _group_alive(group):
            process.poll()  # reap the wrapper as soon as it exits
            time.sleep(0.05)
        if _group_alive(group):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=self.stop_timeout)
        self._reap_group(group)

    def _reap_group(self, group: int) -> None:
        deadline = time.monotonic() + self.stop_timeout
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(group):
            raise RuntimeError(f"noida-db (process group {group}) did not stop")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class NoidaKafka(NoidaStandIn):
    """The Kafka protocol: `bootstrap` is what a client connects to."""

    protocol = "kafka"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def answers(self) -> bool:
        return metadata_answers(HOST, self.port, timeout=0.5)


def _group_alive(group: int) -> bool:
    """Whether any process of `group` still runs (zombies waiting to be reaped do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may contain spaces or parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
