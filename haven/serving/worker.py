"""`HavenWorker`: gunicorn's threaded worker, reading each request in its event loop
before the request takes a thread.

gthread hands a connection to a thread once its first byte is in (or after 5 s of
silence), and the thread then blocks in the parser until the head is complete: a few
clients that send a header byte every few seconds hold every thread of a worker. Here the
event loop, which already watches kept-alive connections, also reads new requests
(non-blocking, under HAVEN_HTTP_HEADER_TIMEOUT_SECONDS for the head and
HAVEN_HTTP_BODY_TIMEOUT_SECONDS for a body up to 1 MiB) and submits a request to the
thread pool only when it is complete; the thread's parser then reads the buffered bytes.
What a thread still reads from the socket itself (larger or chunked bodies) and writes to
it is bounded by the body timeout per operation.

TLS and HTTP/2 connections (Haven configures neither: TLS ends at the ingress) keep
gthread's own path.

It also takes part in spreading connections over the workers (balance.py): it accepts
only while no other worker holds fewer connections.
"""
from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from functools import partial

from gunicorn.http.message import MAX_REQUEST_LINE
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from .balance import RECHECK_SECONDS, FairShare
from .problems import ServerProblem, head_too_large, log, problem_for, request_timeout
from .request_head import MAX_HEAD_BYTES, RequestReader, Verdict
from .settings import ServingLimits

_RECV_BYTES = 64 * 1024
# A closing connection is drained this long, and this far, as gunicorn's close_graceful does.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 64 * 1024


class HavenConn(TConn):
    def __init__(self, cfg, sock, client, server, io_timeout: float):
        super().__init__(cfg, sock, client, server)
        self.io_timeout = io_timeout
        self.reader: RequestReader | None = None  # set while the event loop reads a request
        self.deadline = 0.0
        self.registered = False
        self.ready = False  # read in full: the next submission goes to a thread
        self.linger = None  # the worker's non-blocking graceful close, when it has one
        self.drained = 0

    def close(self, graceful=False):
        if graceful and self.linger is not None:
            self.linger(self)
        else:
            super().close(graceful)

    def init(self):
        """In the thread, on a blocking socket: give the parser what the loop read."""
        super().init()
        self.sock.settimeout(self.io_timeout)
        if self.reader is not None:
            self.parser.unreader.unread(bytes(self.reader.data))
            self.reader = None


class HavenWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        self.fair = FairShare(None)
        super().__init__(*args, **kwargs)
        self.fair = FairShare(getattr(self.app, "connection_table", None))
        self.limits: ServingLimits = getattr(self.app, "serving_limits", None) or ServingLimits()
        self.reading: set[HavenConn] = set()
        self.lingering: set[HavenConn] = set()  # answered, half-closed, draining; not in nr_conns
        self._stopping_since: float | None = None
        line = self.cfg.limit_request_line
        self.limit_request_line = MAX_REQUEST_LINE if line < 0 or line >= MAX_REQUEST_LINE else line
        # TLS and HTTP/2 (not configured by Haven) keep gthread's own path.
        self.reads_in_loop = not self.cfg.is_ssl and getattr(self.cfg, "http2_cleartext", "off") in ("off", None)

    # --- a fair share of the connections ------------------------------------------------

    def init_process(self):
        self.fair.start()  # in the worker, after the fork: its own slot of the master's table
        super().init_process()

    @property
    def alive(self) -> bool:
        return self._alive

    @alive.setter
    def alive(self, value: bool) -> None:
        # However the worker comes to stop (SIGTERM, a reload, max_requests), the others stop
        # holding back for it at once.
        self._alive = value
        if not value:
            self.fair.stop()

    @property
    def worker_connections(self) -> int:
        """gthread's loop accepts while nr_conns < worker_connections, checked on every turn:
        a worker holding back for a less busy one reads as full."""
        cap = self._connection_cap
        if not self.alive or self.nr_conns >= cap or self.fair.may_accept(self.nr_conns, self.sockets):
            return cap
        return self.nr_conns

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._connection_cap = value

    def handle_request(self, req, conn):
        if self.alive and self.fair.over_share(self.nr_conns):
            req.must_close = True  # answered with Connection: close; the client reconnects elsewhere
        return super().handle_request(req, conn)

    def wait_for_and_dispatch_events(self, timeout):
        if self.fair.balanced and not self._accepting and self.alive:
            timeout = min(timeout, RECHECK_SECONDS)  # look again soon: another worker may fill up
        super().wait_for_and_dispatch_events(timeout)

    # --- connections in, requests out -----------------------------------------------------

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.fair.publish(self.nr_conns)  # before the next worker decides whether to accept
        conn = HavenConn(self.cfg, client_sock, client_addr, listener.getsockname(), self.limits.body_timeout)
        if self.reads_in_loop:
            conn.linger = self._linger
        self.enqueue_req(conn)

    def enqueue_req(self, conn):
        """Every path to a thread (a new connection, a kept-alive one becoming readable, a
        pipelined request already buffered) reads the request in the loop first."""
        if not self.reads_in_loop or not isinstance(conn, HavenConn):
            return super().enqueue_req(conn)
        if conn.ready:
            conn.ready = False
            conn.data_ready = True  # gthread must not wait for a first byte again
            return super().enqueue_req(conn)
        buffered = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.reader = RequestReader(self.limit_request_line, buffered)
        conn.sock.setblocking(False)
        # A new connection's wait for its first byte counts against the header timeout; a
        # kept-alive one is here because bytes arrived.
        conn.deadline = time.monotonic() + self.limits.header_timeout
        self.reading.add(conn)
        if buffered:
            self._advance(conn)
        else:
            self._read(conn)

    def _read(self, conn: HavenConn, _fileobj=None) -> None:
        try:
            chunk = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            self._watch(conn)
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client left
            self._drop(conn)
            return
        conn.reader.feed(chunk)
        self._advance(conn)

    def _advance(self, conn: HavenConn) -> None:
        had_head = conn.reader.head_complete
        verdict = conn.reader.verdict()
        if verdict is Verdict.MORE:
            if conn.reader.head_complete and not had_head:
                conn.deadline = time.monotonic() + self.limits.body_timeout
            self._watch(conn)
            return
        if verdict is Verdict.HEAD_TOO_LARGE:
            self._refuse(conn, head_too_large(MAX_HEAD_BYTES))
            return
        self._unwatch(conn)
        self.reading.discard(conn)
        conn.ready = True
        self.enqueue_req(conn)

    def _watch(self, conn: HavenConn, callback=None) -> None:
        callback = partial(callback or self._read, conn)
        if conn.registered:
            self.poller.modify(conn.sock, selectors.EVENT_READ, callback)
        else:
            self.poller.register(conn.sock, selectors.EVENT_READ, callback)
            conn.registered = True

    def _unwatch(self, conn: HavenConn) -> None:
        if conn.registered:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            conn.registered = False

    def _drop(self, conn: HavenConn) -> None:
        self._unwatch(conn)
        self.reading.discard(conn)
        self.nr_conns -= 1
        conn.close()

    def _refuse(self, conn: HavenConn, problem: ServerProblem) -> None:
        """Answer from the loop without blocking it (the answer fits a socket buffer;
        a client that does not read it loses it) and close."""
        self._unwatch(conn)
        self.reading.discard(conn)
        # A timeout is routine on a weak mobile signal; an oversized head is not.
        log.log(logging.INFO if problem.status == 408 else logging.WARNING,
                "Refused a request before it reached the application",
                extra={"status": problem.status, "problem": problem.slug})
        try:
            conn.sock.send(problem.http_response())
        except OSError:
            pass
        self.nr_conns -= 1
        self._linger(conn)

    def _linger(self, conn: HavenConn) -> None:
        """Close after an answer without resetting it (RFC 9112 9.6: closing with request
        bytes unread sends a reset, which can destroy the answer before the client reads
        it): half-close, drain in the loop, close on the client's FIN or after 2 s.
        gthread does the same with a blocking read in its event loop, so every client
        that asked for `Connection: close` and then kept its side open stalled the worker
        for 2 s."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._end_linger(conn)
            return
        conn.deadline = time.monotonic() + _LINGER_SECONDS
        conn.drained = 0
        self.lingering.add(conn)
        self._watch(conn, self._drain)

    def _drain(self, conn: HavenConn, _fileobj=None) -> None:
        while True:
            try:
                data = conn.sock.recv(_RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            conn.drained += len(data)
            if not data or conn.drained >= _LINGER_BYTES:
                self._end_linger(conn)
                return

    def _end_linger(self, conn: HavenConn) -> None:
        self._unwatch(conn)
        self.lingering.discard(conn)
        conn.linger = None
        conn.close()

    # --- timeouts -------------------------------------------------------------------------

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        if not self.alive:
            # Stopping (SIGTERM, max_requests): requests being read are finished and
            # answered; a connection that has sent nothing yet gets the same short grace
            # as a kept-alive one, for a request that may be on its way.
            self._stopping_since = self._stopping_since or now
            linger = self._stopping_since + STOP_KEEPALIVE_LINGER
            for conn in self.reading:
                if not conn.reader.data:
                    conn.deadline = min(conn.deadline, linger)
        for conn in [c for c in self.lingering if c.deadline <= now]:
            self._end_linger(conn)
        for conn in [c for c in self.reading if c.deadline <= now]:
            if conn.reader.data:
                seconds = self.limits.body_timeout if conn.reader.head_complete else self.limits.header_timeout
                self._refuse(conn, request_timeout(seconds))
            else:
                self._drop(conn)

    # --- errors the server answers itself -------------------------------------------------

    def handle_error(self, req, client, addr, exc):
        """problem+json instead of gunicorn's HTML page, and a log line without the
        request line (gunicorn's quotes it, query string included)."""
        problem = problem_for(exc)
        if problem.status >= 500:
            log.error("Failed to read or answer a request", exc_info=exc,
                      extra={"status": problem.status, "problem": type(exc).__name__})
        else:
            log.warning("Refused a request the server could not read",
                        extra={"status": problem.status, "problem": problem.slug, "error": type(exc).__name__})
        try:
            client.setblocking(False)
            client.send(problem.http_response())
        except OSError:
            pass
