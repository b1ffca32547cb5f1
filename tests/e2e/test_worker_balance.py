"""Every worker serves: kept-alive connections are spread over a service's gunicorn workers,
and recycling or reloading workers under load costs a client nothing (`haven serve
directory`, two workers, talking HTTP)."""
from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from collections import Counter

import pytest
import requests

from tests.benchmarks.bench_search import children_of
from tests.support.served_service import ServedService


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def _server_side_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection from `client_port` (/proc/net/tcp)."""
    with open("/proc/net/tcp") as fh:
        next(fh)
        for line in fh:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
                return inode
    return None


def holders(served: ServedService, connections: list[http.client.HTTPConnection]) -> Counter:
    """How many of `connections` each worker holds, by worker pid."""
    workers = {pid: _socket_inodes(pid) for pid in children_of(served.process.pid)}
    held = Counter({pid: 0 for pid in workers})
    for connection in connections:
        inode = _server_side_inode(served.port, connection.sock.getsockname()[1])
        owner = [pid for pid, inodes in workers.items() if inode in inodes]
        assert len(owner) == 1, f"no single worker holds the connection: {owner}"
        held[owner[0]] += 1
    return held


def settle(connections: list[http.client.HTTPConnection], rounds: int = 20) -> None:
    """Requests on every connection for a moment, as busy clients send them: a worker holding
    too many closes one after an answer (`Connection: close`) and http.client reconnects by
    itself; then every connection is open again."""
    for _ in range(rounds):
        for connection in connections:
            connection.request("GET", "/healthz")
            assert connection.getresponse().read()
        time.sleep(0.03)
    for _ in range(10):
        closed = [c for c in connections if c.sock is None]
        if not closed:
            return
        for connection in closed:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
    raise AssertionError("connections kept being closed")


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    served = ServedService("directory", tmp_path_factory.mktemp("balance"), HAVEN_WORKERS="2").start()
    yield served
    served.stop()


@pytest.mark.parametrize("count", [2, 8])
def test_kept_alive_connections_are_spread_evenly_over_the_workers(directory, count):
    connections = []
    try:
        for _ in range(count):
            connection = http.client.HTTPConnection(directory.host, directory.port, timeout=10)
            connection.request("GET", "/healthz")  # answered: the connection is now held by a worker
            assert connection.getresponse().read()
            connections.append(connection)
        settle(connections)
        held = holders(directory, connections)
        assert len(held) == 2 and sorted(held.values()) == [count // 2, count // 2], held
        # and each one is served where it is held
        for connection in connections:
            connection.request("GET", "/v1/search?q=nha+tam+lanh")
            assert connection.getresponse().read()
    finally:
        for connection in connections:
            connection.close()


def test_connections_made_while_a_worker_could_not_accept_are_handed_over_to_it(directory):
    """A worker that is stuck (here: stopped), starting or replacing another misses the
    connections made meanwhile; once it serves, the busier worker closes one connection after
    an answer and the client's reconnection lands on it."""
    later = sorted(children_of(directory.process.pid))[-1]
    connections = []
    os.kill(later, signal.SIGSTOP)
    try:
        for _ in range(2):
            connection = http.client.HTTPConnection(directory.host, directory.port, timeout=10)
            connection.request("GET", "/healthz")
            assert connection.getresponse().read()
            connections.append(connection)  # both on the other worker: the stopped one took none
    finally:
        os.kill(later, signal.SIGCONT)
    try:
        settle(connections)
        held = holders(directory, connections)
        assert sorted(held.values()) == [1, 1], held
    finally:
        for connection in connections:
            connection.close()


def test_recycling_and_reloading_workers_under_load_fail_no_request(tmp_path):
    """Workers are replaced every ~40 requests while 6 clients keep pooled connections busy,
    and the master reloads them all once (SIGHUP): no client sees an error."""
    served = ServedService("directory", tmp_path / "data", HAVEN_WORKERS="2", HAVEN_MAX_REQUESTS="40").start()
    stop = threading.Event()
    outcomes: Counter = Counter()
    lock = threading.Lock()
    workers_seen: set[int] = set()

    def client(number: int) -> None:
        session = requests.Session()  # urllib3's pool: the connection is reused, as the portal does
        paths = ["/healthz", "/v1/search?q=tam+lanh", "/v1/kinds"]
        n = number
        while not stop.is_set():
            n += 1
            try:
                answer = session.get(served.url + paths[n % len(paths)], timeout=10)
                outcome = "ok" if answer.status_code == 200 else f"status {answer.status_code}"
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 8
        reloaded = False
        while time.monotonic() < deadline:
            workers_seen.update(children_of(served.process.pid))
            if not reloaded and time.monotonic() > deadline - 4:
                served.process.send_signal(signal.SIGHUP)
                reloaded = True
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        served.stop()
    assert outcomes["ok"] > 400, outcomes
    assert len(workers_seen) >= 6, f"only {len(workers_seen)} workers ever ran: recycling was not exercised"
    assert set(outcomes) == {"ok"}, outcomes
