"""What the use cases share: UTC time, ids, and who sees which organization's records."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from haven.platform.principal import Principal

PERMISSION = "notify:subscriptions"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def scope_of(principal: Principal) -> str | None:
    """The one organization the caller manages, or None for every organization."""
    return principal.organization_id if principal.limited_to_organization(PERMISSION) else None
