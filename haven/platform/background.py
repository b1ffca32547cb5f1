"""A service's background worker: the jobs that run beside its HTTP servers (the outbox
relay, timers, event consumers), in one process with a small HTTP endpoint of its own.

Why one process per service, not one per job: every process needs its own `/metrics` for
Prometheus to scrape and its own liveness probe, and each extra process is one more port
and one more thing to deploy. The jobs are I/O-bound, so threads share a process well.

    GET /metrics   the worker's metrics (relay, consumers, timers)
    GET /healthz   200 while every job is running and every event consumer does its share;
                   503 naming the job that is not running, or the consumer and why (it holds
                   no partitions while its group's lag does not shrink, or the lag keeps
                   growing: see haven/platform/eventlog/health.py), so the orchestrator
                   replaces the worker

A job is `run(stop)`: it works until `stop` is set. A job that raises is logged and
started again after a backoff (1 s doubling to 30 s), so one bad moment does not end the
worker, and `/healthz` reports the restarts.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

log = logging.getLogger("haven.worker")


@dataclass
class Job:
    name: str
    run: Callable[[threading.Event], None]
    restarts: int = 0
    running: bool = False
    last_error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)


def every(seconds: float, tick: Callable[[], object], stop: threading.Event) -> None:
    """A timer job's loop: `tick()` now and then every `seconds` until `stop`. A tick that
    raises ends the loop, so `supervise` logs it and starts the job again after a backoff."""
    while not stop.is_set():
        tick()
        stop.wait(seconds)


def supervise(job: Job, stop: threading.Event, first_backoff: float = 1.0, max_backoff: float = 30.0) -> None:
    backoff = first_backoff
    while not stop.is_set():
        job.running = True
        started = time.monotonic()
        try:
            job.run(stop)
            job.running = False
            if stop.is_set():
                return
            job.last_error = "returned before the worker was stopped"
        except Exception as exc:  # noqa: BLE001 — a job must not take the worker down
            job.running = False
            job.last_error = type(exc).__name__
            log.exception("background job failed; restarting", extra={"job": job.name})
        if time.monotonic() - started > max_backoff:
            backoff = first_backoff  # it ran a good while: a fresh problem, not a crash loop
        job.restarts += 1
        stop.wait(backoff)
        backoff = min(max_backoff, backoff * 2)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # scrapes every few seconds: not worth a log line
        pass


def _endpoint(jobs: list[Job]):
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            # Imported here, not above: prometheus-client picks its storage when imported,
            # and the worker binds its port (`bind_endpoint`) before choosing its folder.
            from . import metrics

            body, content_type = metrics.exposition()
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if path == "/healthz":
            from .eventlog import health

            down = [job.name for job in jobs if not job.running]
            state = {job.name: {"running": job.running, "restarts": job.restarts, "last_error": job.last_error}
                     for job in jobs}
            consumers = {name: consumer.report() for name, consumer in health.consumers().items()}
            problems = [name for name, report in consumers.items() if report["problem"]]
            status = "503 Service Unavailable" if down or problems else "200 OK"
            body = json.dumps({"status": "down" if down or problems else "ok", "jobs": state,
                               "consumers": consumers}).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "application/problem+json")])
        return [json.dumps({"type": "about:blank", "title": "Not Found", "status": 404}).encode()]

    return app


def bind_endpoint(host: str, port: int) -> WSGIServer:
    """Take the worker's port first, before anything else: a worker that cannot serve its
    /healthz must not start jobs (or touch the metrics of the worker that has the port).
    Raises OSError when the port is taken."""
    return make_server(host, port, _endpoint([]), handler_class=_QuietHandler)


def run_worker(jobs: list[Job], stop: threading.Event, server: WSGIServer) -> None:
    """Run `jobs` until `stop` is set, serving /metrics and /healthz on `server` (from
    `bind_endpoint`); then let each job finish what it is doing and return."""
    server.set_app(_endpoint(jobs))
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                               name="worker-endpoint")
    serving.start()
    for job in jobs:
        job.thread = threading.Thread(target=supervise, args=(job, stop), name=f"job-{job.name}")
        job.thread.start()
    log.info("worker started", extra={"jobs": [job.name for job in jobs], "port": server.server_port})
    try:
        stop.wait()
    finally:
        for job in jobs:
            job.thread.join(30)
        server.shutdown()
        server.server_close()
