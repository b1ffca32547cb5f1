"""A slow-client drill on loopback: connections that drip a request head one byte at a
time, connections that send part of a head and then nothing, and idle keep-alive
connections, all held open (reopened when the server closes them) until stopped.

Used by the slow-client test (asserts behaviour) and bench_slow_clients (prints figures).
"""
from __future__ import annotations

import http.client
import selectors
import socket
import statistics
import threading
import time

_DRIP_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: "
_STALLED_HEAD = b"GET /v1/search?q=nha HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: st"
_IDLE_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


class SlowClientDrill:
    """`slow` connections (half dripping a header byte every `drip_interval` seconds, half
    stalled after a partial head) and `idle` keep-alive connections, on one thread."""

    def __init__(self, host: str, port: int, slow: int = 50, idle: int = 50, drip_interval: float = 2.0):
        self.address = (host, port)
        self.slow, self.idle, self.drip_interval = slow, idle, drip_interval
        self.closed_by_server = {"drip": 0, "stalled": 0, "idle": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-client-drill", daemon=True)
        self._selector = selectors.DefaultSelector()
        self._sockets: dict[socket.socket, str] = {}

    def __enter__(self) -> "SlowClientDrill":
        for _ in range(self.idle):
            self._open("idle")
        for n in range(self.slow):
            self._open("drip" if n % 2 == 0 else "stalled")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        for sock in list(self._sockets):
            self._forget(sock)
        self._selector.close()

    @property
    def held(self) -> int:
        return len(self._sockets)

    def _open(self, kind: str) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        if kind == "drip":
            sock.sendall(_DRIP_HEAD)
        elif kind == "stalled":
            sock.sendall(_STALLED_HEAD)
        else:  # its answer is read (and dropped) by the drill's loop; then it idles
            sock.sendall(_IDLE_REQUEST)
        sock.setblocking(False)
        self._sockets[sock] = kind
        self._selector.register(sock, selectors.EVENT_READ)

    def _forget(self, sock: socket.socket) -> None:
        self._sockets.pop(sock, None)
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _run(self) -> None:
        next_drip = time.monotonic() + self.drip_interval
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    continue  # the answer an idle connection asked for before going quiet
                # The server gave up on this client: come back, as an attacker would.
                kind = self._sockets[sock]
                self.closed_by_server[kind] += 1
                self._forget(sock)
                self._reopen(kind)
            if time.monotonic() >= next_drip:
                next_drip += self.drip_interval
                for sock, kind in list(self._sockets.items()):
                    if kind == "drip":
                        try:
                            sock.send(b"a")
                        except OSError:
                            pass  # closed: the selector reports it

    def _reopen(self, kind: str) -> None:
        if self._stop.is_set():
            return
        try:
            self._open(kind)
        except OSError:
            pass  # a refused or slow reconnect only lowers the pressure


def timed_get(host: str, port: int, path: str, timeout: float = 30) -> tuple[float, int]:
    """Seconds one GET takes on a new connection (a new client), and its status."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return time.monotonic() - started, response.status
    finally:
        connection.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50": cuts[49], "p95": cuts[94], "max": ordered[-1]}
