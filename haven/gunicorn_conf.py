"""gunicorn settings shared by every Haven service (`haven serve` loads this file).

Bind address, port and worker counts come from Haven's own configuration and are set by
`haven serve`; this file holds what does not vary between services.
"""
import gc
import logging
import os

from haven.platform import logging as haven_logging
from haven.platform.metrics import mark_worker_dead
from haven.serving.problems import REQUEST_BYTES_FILTER

# gthread, reading each request in the event loop before it takes a thread (slow or idle
# clients then hold a socket, never a thread): see haven/serving.
worker_class = "haven.serving.worker.HavenWorker"
# Access lines are written by the app itself, with the route template instead of the raw
# path (paths and query strings may hold identifiers a log must not keep).
accesslog = None
timeout = 30
graceful_timeout = 10
keepalive = 5
# gunicorn's defaults, stated: the request line (method, path, query) and each header at
# most 8190 bytes, 100 headers; the whole head at most 64 KiB (haven/serving/request_head.py).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# gunicorn 27's control socket would live in $HOME, read-only in containers; Haven does
# not use it.
control_socket_disable = True
# Workers are recycled after HAVEN_MAX_REQUESTS requests (haven serve sets max_requests
# and max_requests_jitter from it).


def _service() -> str:
    return os.environ.get("HAVEN_SERVICE", "haven")


def _configure_logging() -> None:
    haven_logging.configure(_service(), os.environ.get("LOG_LEVEL", "info"))
    # gunicorn's log records quote request lines and headers it could not parse.
    for name in ("gunicorn.error", "haven.serving"):
        logging.getLogger(name).addFilter(REQUEST_BYTES_FILTER)


def on_starting(server):
    _configure_logging()


def post_worker_init(worker):
    _configure_logging()
    # The application is loaded: what exists now (modules, classes, templates, catalogs)
    # lives as long as the worker. Frozen, the collector no longer walks it on every full
    # collection, which stops all of a worker's threads: under the portal benchmark a
    # portal worker spent 1.0 s in 6 full collections (the longest 220 ms) in 24 s, and
    # 0.7 s (190 ms) frozen.
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    # Without this, a dead worker's gauges would be summed into /metrics forever.
    mark_worker_dead(worker.pid)
    table = getattr(server.app, "connection_table", None)
    if table is not None:
        table.leave(worker.pid)  # its share of the connections is no longer held
