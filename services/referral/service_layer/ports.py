"""What the referral use cases need from outside, as small interfaces; bootstrap gives
them the adapters (`adapters/directory.py`, `adapters/metrics.py`), the unit tests fakes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from ..domain.place import UNKNOWN_AREA, ReceivingArea

Clock = Callable[[], datetime]  # the time now, timezone-aware


@dataclass(frozen=True)
class ServiceInfo:
    """What a referral needs to know of the receiving service."""

    id: str
    organization_id: str
    kind: str
    active: bool
    area: ReceivingArea = UNKNOWN_AREA  # of its (first) location, as the directory tells anyone


class DirectoryLookup(Protocol):
    """The directory service, asked before anything is written."""

    def service(self, service_id: str) -> ServiceInfo:
        """Raises UnknownService, DirectoryUnavailable."""

    def kinds(self) -> frozenset[str]:
        """The directory's service kind codes; raises DirectoryUnavailable."""


class Metrics(Protocol):
    """Response times and lifecycle steps, labelled by urgency and service kind only: a
    label can never identify anyone."""

    def step(self, action: str, urgency: str, service_kind: str) -> None: ...

    def time_to_acknowledge(self, seconds: float, urgency: str, service_kind: str) -> None: ...

    def time_to_decision(self, seconds: float, urgency: str, service_kind: str) -> None: ...

    def time_to_complete(self, seconds: float, urgency: str, service_kind: str) -> None: ...

    def missed_deadline(self, deadline_kind: str, urgency: str, service_kind: str) -> None: ...


__all__ = ["Clock", "DirectoryLookup", "Metrics", "ServiceInfo"]
