"""Times as the APIs send them (RFC 3339), read once, the same way everywhere."""
from __future__ import annotations

from datetime import datetime, timezone


def moment(value) -> datetime | None:
    """An API time as an aware datetime (one without a zone is UTC); None for none or nonsense."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        found = value
    else:
        try:
            found = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)
