"""Prometheus metrics that stay correct under several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (the `haven serve` command always sets it) every worker
writes its samples to files there and /metrics aggregates them; gunicorn's `child_exit`
hook marks dead workers so their gauges disappear.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Buckets from 5 ms to 10 s: search and writes live at the low end, slow dependencies
# (a directory lookup over HTTP, a database failover) at the high end.
HTTP_REQUEST_DURATION = Histogram(
    "haven_http_request_duration_seconds",
    "HTTP request duration, labelled by route template (never the raw path), method and status.",
    ["service", "route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


# --- the event log: by topic and group only (never by key: keys are aggregate ids) -------
EVENTS_PUBLISHED = Counter("haven_events_published_total", "Records appended to the event log.", ["topic"])
EVENTS_CONSUMED = Counter("haven_events_consumed_total", "Records handled and committed.", ["topic", "group"])
EVENTS_FAILED = Counter("haven_events_failed_total", "Handler attempts that raised.", ["topic", "group"])
EVENTS_DEAD_LETTERED = Counter("haven_events_dead_lettered_total", "Records sent to a dead-letter topic.",
                               ["topic", "group"])
EVENT_HANDLER_DURATION = Histogram("haven_event_handler_duration_seconds", "Time a handler took for one record.",
                                   ["group"], buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0))
CONSUMER_LAG = Gauge("haven_event_consumer_lag", "Records a group has not handled yet.", ["topic", "group"],
                     multiprocess_mode="max")
OUTBOX_BACKLOG = Gauge("haven_outbox_backlog", "Outbox rows not yet published.", ["service"],
                       multiprocess_mode="max")
OUTBOX_OLDEST_AGE = Gauge("haven_outbox_oldest_age_seconds",
                          "Age of the oldest outbox row not yet published (0 when none waits).", ["service"],
                          multiprocess_mode="max")

# --- readiness, as /readyz answers it (1 ok, 0 failing): measured at every scrape too, so an
# alert does not depend on someone probing /readyz. The most recent answer of any live
# worker is the one shown (a dead worker's files are removed by mark_worker_dead).
READY = Gauge("haven_ready", "1 while every dependency the service cannot work without answers.", ["service"],
              multiprocess_mode="livemostrecent")
READINESS_CHECK = Gauge("haven_readiness_check", "1 while this readiness check passes (critical or not).",
                        ["service", "check"], multiprocess_mode="livemostrecent")

# Status codes every route is exported with from start, so a dashboard reads 0 (not "no
# data") and Prometheus counts the first answer of each (a series first seen at 1 has no
# increase): the success codes a method usually answers, and the 500 an error ratio needs.
# Any other code appears once it is answered.
PREPARED_STATUSES = {"GET": ("200", "500"), "POST": ("200", "201", "500"), "PUT": ("200", "500"),
                     "PATCH": ("200", "500"), "DELETE": ("204", "500")}


def prepare_http(service: str, routes) -> None:
    """Export the request histogram for every (route template, method) of `routes` before
    the first request, so a fresh installation shows its endpoints at 0."""
    for route, method in routes:
        for status in PREPARED_STATUSES.get(method, ("500",)):
            HTTP_REQUEST_DURATION.labels(service, route, method, status)


def prepare_consumer(topics, group: str) -> None:
    """A consumer group's series, at 0 from the moment it starts."""
    EVENT_HANDLER_DURATION.labels(group)
    for topic in topics:
        for family in (EVENTS_CONSUMED, EVENTS_FAILED, EVENTS_DEAD_LETTERED):
            family.labels(topic, group)
        CONSUMER_LAG.labels(topic, group)


def readiness(service: str, checks: dict[str, str], ready: bool) -> None:
    READY.labels(service).set(1 if ready else 0)
    for name, state in checks.items():
        READINESS_CHECK.labels(service, name).set(1 if state == "ok" else 0)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric of this process (or of all workers)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
