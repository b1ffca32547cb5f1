"""The event envelope: CloudEvents 1.0 in JSON, with `data` checked by a versioned schema.

Every event type (`org.haven.referral.created.v1`) registers the marshmallow schema of its
`data`; a producer cannot build an event whose data does not validate, and a consumer that
decodes an event gets either a valid one or an `InvalidEvent` saying why (it can then
dead-letter it instead of crashing). The request id of the request that caused an event
travels in the `correlationid` extension, so one id links logs and events across services.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import marshmallow as ma

from .logging import current_request_id

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_REQUIRED = ("id", "source", "type", "specversion")


class InvalidEvent(Exception):
    """An event that cannot be published or consumed, and why (one line, no payload values)."""


_schemas: dict[str, ma.Schema] = {}


def register(event_type: str, schema: type[ma.Schema] | ma.Schema) -> None:
    """Register the schema of `data` for a versioned event type (ends with .vN)."""
    if not event_type.rsplit(".", 1)[-1].startswith("v"):
        raise ValueError(f"event type {event_type!r} must end with a version such as .v1")
    _schemas[event_type] = schema() if isinstance(schema, type) else schema


def registered_types() -> list[str]:
    return sorted(_schemas)


def _validate(event_type: str, data: Any) -> dict:
    schema = _schemas.get(event_type)
    if schema is None:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    if not isinstance(data, dict):
        raise InvalidEvent(f"{event_type}: data must be an object")
    errors = schema.validate(data)
    if errors:
        # Field names only: values may be anything, and this message ends up in logs.
        raise InvalidEvent(f"{event_type}: invalid data fields: {', '.join(sorted(map(str, errors)))}")
    return schema.dump(schema.load(data))


@dataclass(frozen=True)
class CloudEvent:
    type: str
    source: str
    data: dict
    subject: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
    correlationid: str | None = None
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE

    def to_dict(self) -> dict:
        body = {"specversion": self.specversion, "id": self.id, "source": self.source, "type": self.type,
                "time": self.time, "datacontenttype": self.datacontenttype, "data": self.data}
        if self.subject is not None:
            body["subject"] = self.subject
        if self.correlationid is not None:
            body["correlationid"] = self.correlationid
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def new_event(event_type: str, source: str, data: dict, subject: str | None = None,
              correlation_id: str | None = None) -> CloudEvent:
    """A valid event, or InvalidEvent. The correlation id defaults to the current request id."""
    return CloudEvent(type=event_type, source=source, data=_validate(event_type, data), subject=subject,
                      correlationid=correlation_id or current_request_id())


def decode(raw: bytes | str) -> CloudEvent:
    """Parse and validate a received event; InvalidEvent if it is not one we accept."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEvent("not JSON") from None
    if not isinstance(body, dict):
        raise InvalidEvent("not a JSON object")
    missing = [name for name in _REQUIRED if not isinstance(body.get(name), str) or not body.get(name)]
    if missing:
        raise InvalidEvent(f"missing CloudEvents attributes: {', '.join(missing)}")
    if body["specversion"] != SPECVERSION:
        raise InvalidEvent(f"unsupported specversion {body['specversion']!r}")
    if body.get("datacontenttype", CONTENT_TYPE) != CONTENT_TYPE:
        raise InvalidEvent("data must be application/json")
    data = _validate(body["type"], body.get("data"))
    return CloudEvent(type=body["type"], source=body["source"], data=data, subject=body.get("subject"),
                      id=body["id"], time=body.get("time") or "", correlationid=body.get("correlationid"))
