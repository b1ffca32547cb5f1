"""An item of the portal inbox: a notice addressed to a person or to an organization."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InboxItem:
    id: str
    recipient_kind: str
    recipient_id: str
    organization_id: str
    event_id: str
    referral_id: str | None
    notice: dict
    created_at: datetime
    read_at: datetime | None = None
    read_by: str | None = None


__all__ = ["InboxItem"]
