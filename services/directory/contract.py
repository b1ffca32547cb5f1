"""The directory's published events: provider changes, for anything that keeps a copy.

Topic `provider-events`, keyed by service id (one service's changes stay in order). Type
`org.haven.directory.service.changed.v1` with `change`: `created`, `updated`,
`capacity_changed` or `retired` (removed). The data names what changed and when; a
consumer reads the current record from the directory (the event is a nudge, not a copy,
so a late or repeated event can never put old data back).
"""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma

from haven.platform import events as cloud_events

from . import SPEC

TOPIC = SPEC.topic
SOURCE = "/haven/directory"
SERVICE_CHANGED = "org.haven.directory.service.changed.v1"
CHANGES = ("created", "updated", "capacity_changed", "retired")


class ServiceChangedV1(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    service_id = ma.fields.String(required=True)
    organization_id = ma.fields.String(required=True)
    change = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANGES))
    changed_at = ma.fields.AwareDateTime(required=True)


cloud_events.register(SERVICE_CHANGED, ServiceChangedV1)


def service_changed(service_id: str, organization_id: str, change: str, at: datetime) -> cloud_events.CloudEvent:
    return cloud_events.new_event(SERVICE_CHANGED, SOURCE, {
        "service_id": service_id, "organization_id": organization_id, "change": change,
        "changed_at": at.isoformat()}, subject=service_id)
