"""gunicorn settings shared by every Haven service (`haven serve` loads this file).

Bind address, port and worker counts come from Haven's own configuration and are set by
`haven serve`; this file holds what does not vary between services.
"""
import os

from haven.platform import logging as haven_logging
from haven.platform.metrics import mark_worker_dead

worker_class = "gthread"
# Access lines are written by the app itself, with the route template instead of the raw
# path (paths and query strings may hold identifiers a log must not keep).
accesslog = None
timeout = 30
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage.
# gunicorn 27's control socket would live in $HOME, read-only in containers; Haven does
# not use it.
control_socket_disable = True
max_requests = 20_000
max_requests_jitter = 2_000


def _service() -> str:
    return os.environ.get("HAVEN_SERVICE", "haven")


def on_starting(server):
    haven_logging.configure(_service(), os.environ.get("LOG_LEVEL", "info"))


def post_worker_init(worker):
    haven_logging.configure(_service(), os.environ.get("LOG_LEVEL", "info"))


def child_exit(server, worker):
    # Without this, a dead worker's gauges would be summed into /metrics forever.
    mark_worker_dead(worker.pid)
