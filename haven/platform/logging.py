"""Structured JSON logs, one object per line, carrying the current request id.

The request id lives in a context variable so that it follows the request through the
service layer and into outgoing HTTP calls and events (as the correlation id) without
being passed by hand. Log calls must never include survivor data: log ids, not people.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import traceback

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else passed through `extra=` is emitted as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def current_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, gunicorn's, SQLAlchemy's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Alembic announces its dialect every time a migration context opens (each readiness
    # probe); migrations themselves are reported by `haven migrate`.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    # werkzeug's own request lines duplicate ours and carry raw paths.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
