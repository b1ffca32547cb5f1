"""What an import (HSDS or CSV) gives back: the records it read, and what was wrong with
the others. The service layer decides what to do with it (insert, or update the records
with the same ids)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...domain.model import Location, Organization, Service
from ...domain.search import Listing


@dataclass(frozen=True)
class RecordError:
    """A problem with one record: `index` is its position in the input (for CSV: the row
    number, the header being row 1), `id` its id if it has one, `field` the dotted path of
    the bad field inside the record (for CSV: the column name)."""

    index: int
    id: str | None
    field: str
    message: str


@dataclass(frozen=True)
class KindSource:
    """Which rule gave a kept service its kind: "haven-kind attribute", "mapping
    <taxonomy>:<code>", "default_kind" (HSDS) or "kind column" (CSV)."""

    index: int
    id: str
    kind: str
    rule: str


@dataclass
class ImportBatch:
    organizations: list[Organization] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    # Kept records that lost something on the way in (a polygon service area, a location
    # schedule...): worth showing to the administrator, not a reason to refuse them.
    warnings: list[RecordError] = field(default_factory=list)
    area_names: dict[str, str] = field(default_factory=dict)  # code -> name, as the document gave them
    kind_sources: list[KindSource] = field(default_factory=list)
    # Locations whose confidentiality the input states (the haven-confidential attribute, the
    # CSV column). The others may not make a confidential location public on a re-import.
    confidentiality_given: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    def listings(self) -> list[Listing]:
        """The imported services as listings (to export them again, or to preview them).
        Services whose organization is not in the batch are left out."""
        organizations = {o.id: o for o in self.organizations}
        locations = {loc.id: loc for loc in self.locations}
        return [Listing(service=s, organization=organizations[s.organization_id],
                        locations=tuple(locations[i] for i in s.location_ids if i in locations),
                        area_names=dict(self.area_names))
                for s in self.services if s.organization_id in organizations]
