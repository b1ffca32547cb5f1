"""Free places on the agency's own services: read them, set the count, or change it by one.

The directory keeps no versions of a count (the latest count wins), so a change by one is
made on the count as it stands when the person presses the button, read just before: "one
bed was just taken" stays true even if a colleague counted meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import FieldError, NotFound, Rejected
from .ports import ServiceApi

MAX_CAPACITY = 100_000  # the directory's bound

NOT_A_NUMBER, NEGATIVE, ABOVE_TOTAL, TOTAL_NEEDED, TOO_MANY = (
    "not-a-number", "negative", "above-total", "total-needed", "too-many")


@dataclass(frozen=True)
class Count:
    """What the person asked: a number of free places (and the total, when none was ever
    counted), or a change by `change` places."""
    service_id: str
    available: str = ""  # as typed
    maximum: str = ""
    change: int = 0


def _number(text: str, name: str, errors: list[FieldError]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        errors.append(FieldError(name, NOT_A_NUMBER))
        return None
    if value < 0:
        errors.append(FieldError(name, NEGATIVE))
    elif value > MAX_CAPACITY:
        errors.append(FieldError(name, TOO_MANY))
    return value


def new_count(count: Count, capacity: dict | None) -> tuple[int, int]:
    """(available, maximum) to report; raises Rejected with field errors as codes."""
    errors: list[FieldError] = []
    maximum = capacity.get("maximum") if capacity else None
    current = capacity.get("available") if capacity else None
    if count.change:
        if current is None or maximum is None:
            raise Rejected("no count yet", [FieldError("available", TOTAL_NEEDED)])
        available = current + count.change
        if available < 0:
            errors.append(FieldError("available", NEGATIVE))
        elif available > maximum:
            errors.append(FieldError("available", ABOVE_TOTAL))
    else:
        typed_maximum = _number(count.maximum, "maximum", errors)
        if typed_maximum is not None:
            maximum = typed_maximum
        available = _number(count.available, "available", errors)
        if available is None and not errors:
            errors.append(FieldError("available", NOT_A_NUMBER))
        if maximum is None and not any(e.field == "maximum" for e in errors):
            errors.append(FieldError("maximum", TOTAL_NEEDED))
        if not errors and available > maximum:
            errors.append(FieldError("available", ABOVE_TOTAL))
    if errors:
        raise Rejected("the count cannot be reported", errors)
    return available, maximum


class Capacity:
    def __init__(self, directory: ServiceApi):
        self.directory = directory

    def services(self, token: str, organization_id: str) -> list[dict]:
        body = self.directory.get("/v1/services", token, {"organization_id": organization_id, "per_page": 100}).body
        return sorted(body.get("items") or [], key=lambda s: (s.get("name") or "").lower())

    def report(self, token: str, organization_id: str, count: Count) -> dict:
        """The new capacity (`available`, `maximum`, `updated_at`); NotFound for a service
        that is not the organization's own."""
        service = self.directory.get(f"/v1/services/{count.service_id}", token).body
        if service.get("organization_id") != organization_id:
            raise NotFound(count.service_id)
        available, maximum = new_count(count, service.get("capacity"))
        return self.directory.send("PUT", f"/v1/services/{count.service_id}/capacity", token,
                                   {"available": available, "maximum": maximum}).body


__all__ = ["ABOVE_TOTAL", "Capacity", "Count", "NEGATIVE", "NOT_A_NUMBER", "TOO_MANY", "TOTAL_NEEDED", "new_count"]
