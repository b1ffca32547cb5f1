"""What the use cases share: UTC time, ids, and the errors the entrypoints translate."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone


class NotFound(Exception):
    """No such record, or none the caller may see (a 404 either way: no leak)."""


class Conflict(Exception):
    """The record is not in a state that allows this (a 409)."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())
