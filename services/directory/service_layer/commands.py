"""What the directory's entrypoints ask of its use cases, as typed values. Records travel as
the domain's own types (an `Organization`, a `Location`, a `Service`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection

from ..domain.kind_mappings import KindMapping
from ..domain.model import Location, Organization, Service

Record = Organization | Location | Service


@dataclass(frozen=True)
class Register:
    """A new record, as the caller gave it (its id, version and stamps are the new ones)."""

    record: Record


@dataclass(frozen=True)
class Revise:
    """Replace a record's editable fields with `record`'s (its id names the stored one; its
    stamps and a service's capacity are not looked at). `expected_version` None: If-Match: *,
    over whatever version is current."""

    record: Record
    expected_version: int | None


@dataclass(frozen=True)
class Remove:
    kind: type[Record]
    id: str
    expected_version: int | None


@dataclass(frozen=True)
class UpdateCapacity:
    """Free places at a service now, reported by agency staff of `organization_id` or, with
    `any_organization`, by a directory admin."""

    service_id: str
    available: int
    maximum: int
    organization_id: str | None
    any_organization: bool


@dataclass(frozen=True)
class ListServices:
    page: int
    per_page: int
    organization_id: str | None = None
    modified_after: datetime | None = None


@dataclass(frozen=True)
class ImportRecords:
    """Records from outside (HSDS, CSV). `confidentiality_given`: the ids of the locations
    whose confidentiality the input states (None: every location's)."""

    organizations: list[Organization]
    locations: list[Location]
    services: list[Service]
    confidentiality_given: Collection[str] | None = None


@dataclass(frozen=True)
class ReplaceKindMappings:
    """The whole table; `expected_version` None: over whatever version is current."""

    mappings: tuple[KindMapping, ...]
    expected_version: int | None


@dataclass(frozen=True)
class RemoveKindMapping:
    taxonomy: str
    code: str
    expected_version: int | None


@dataclass(frozen=True)
class HsdsFilter:
    """What the read-only HSDS API narrows services by."""

    text: str | None = None
    kinds: tuple[str, ...] = ()
    organization_id: str | None = None
    modified_after: datetime | None = None


@dataclass(frozen=True)
class HsdsNear:
    """Locations with `postcode`, or within `proximity_m` metres of its public locations' centre."""

    postcode: str | None = None
    proximity_m: float | None = None


__all__ = ["HsdsFilter", "HsdsNear", "ImportRecords", "ListServices", "Record", "Register", "Remove",
           "RemoveKindMapping", "ReplaceKindMappings", "Revise", "UpdateCapacity"]
