"""Referral events as the referral service publishes them (its contract), for notify tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from haven.platform import events as cloud_events
from services.referral import contract


def referral_event(kind: str, referral_id: str | None = None, *, urgency: str = "high",
                   receiving_organization_id: str = "org-shelter", referring_organization_id: str = "org-union",
                   referring_user_id: str = "cw-lan", **extra) -> cloud_events.CloudEvent:
    now = datetime.now(timezone.utc)
    data = {"referral_id": referral_id or str(uuid.uuid4()), "occurred_at": now.isoformat(), "urgency": urgency,
            "service_kind": "shelter", "receiving_service_id": "svc-1",
            "receiving_organization_id": receiving_organization_id,
            "referring_organization_id": referring_organization_id, "referring_user_id": referring_user_id}
    if kind == "created":
        data.update(services_requested=["shelter"], consent_overridden=False,
                    acknowledge_by=(now + timedelta(hours=4)).isoformat(),
                    decide_by=(now + timedelta(hours=24)).isoformat())
    elif kind == "escalated":
        data.update(deadline_kind="acknowledge", deadline=now.isoformat(), status="sent")
    elif kind in ("incident_due", "incident_missed"):
        data.update(deadline=(now + timedelta(days=1)).isoformat())
    elif kind == "declined":
        data.update(actor_user_id="staff-1", reason_code="no_capacity")
    elif kind == "cancelled":
        data.update(actor_user_id=referring_user_id, reason_code=None)
    else:
        data.update(actor_user_id="staff-1")
    data.update(extra)
    return cloud_events.new_event(contract.event_type(kind), contract.SOURCE, data, subject=data["referral_id"])
