"""Records in bulk: imports from outside (HSDS, CSV), checked record by record, and trusted
loads (demo data, benchmark data)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from ..domain.errors import InvalidReference
from ..domain.model import Location, Organization, Service, now
from .commands import ImportRecords, Record
from .indexing import Indexing, reindex_now
from .listings import listings
from .ports import ProviderIndex
from .records import RecordKind, kind_of, recheck_listed
from .unit_of_work import DirectoryUnitOfWork, UnitOfWorkFactory


@dataclass
class ImportOutcome:
    counts: dict[str, int]
    errors: list[dict]  # records refused: record, id, field, message
    warnings: list[dict]  # records kept, with a change worth knowing


class Imports:
    def __init__(self, uow: UnitOfWorkFactory, index: ProviderIndex, indexing: Indexing):
        self.uow = uow
        self.index = index
        self.indexing = indexing

    def load_trusted(self, providers: Iterable[tuple[Organization, list[Location], list[Service]]],
                     batch_size: int = 2000) -> int:
        """Bulk-load records known to be valid (demo data, benchmark data), then rebuild the
        index once. Not for data from outside: that goes through `import_batch`."""
        count = 0
        batch: list = []

        def flush():
            with self.uow() as uow:
                uow.organizations.add_many(o for o, _, _ in batch)
                uow.locations.add_many(loc for _, locs, _ in batch for loc in locs)
                uow.services.add_many(s for _, _, services in batch for s in services)
                uow.commit()
            batch.clear()

        for provider in providers:
            batch.append(provider)
            count += len(provider[2])
            if len(batch) >= batch_size:
                flush()
        flush()
        self.indexing.rebuild()
        return count

    def import_batch(self, command: ImportRecords) -> ImportOutcome:
        """Create or update records from outside (HSDS, CSV). Each record is checked and
        stored on its own, by the same rules as the API: a bad one is reported and skipped,
        the good ones are kept. An import replaces what it names (the source is the
        authority for its records); capacity is kept unless the import gives one.

        Except a location's confidentiality: a confidential location stays confidential
        unless its id is in `confidentiality_given` (the input says so explicitly; None:
        every location's is given), and the outcome warns that it was kept."""
        counts = {"organizations": 0, "locations": 0, "services": 0}
        errors: list[dict] = []
        warnings: list[dict] = []
        touched: set[str] = set()  # services whose listing changes: re-indexed at the end
        given = command.confidentiality_given
        for collection, items in (("organizations", command.organizations), ("locations", command.locations),
                                  ("services", command.services)):
            for item in items:
                try:
                    with self.uow() as uow:
                        if isinstance(item, Location) and given is not None and item.id not in given:
                            item = _keep_hidden(uow, item, warnings)
                        changed = _import_one(uow, kind_of(type(item)), item)
                        for service in uow.services.get_many(sorted(changed)).values():
                            uow.announce(service, "updated")
                        uow.commit()
                    touched |= changed
                    counts[collection] += 1
                except (InvalidReference, ValueError) as exc:
                    field = exc.field if isinstance(exc, InvalidReference) else ""
                    errors.append({"record": collection[:-1], "id": item.id, "field": field, "message": str(exc)})
        ordered = sorted(touched)
        for start in range(0, len(ordered), 500):
            with self.uow() as uow:
                found = uow.services.get_many(ordered[start:start + 500])
                changed_listings = listings(uow, list(found.values()))
            reindex_now(self.index, changed_listings)
        return ImportOutcome(counts, errors, warnings)


def _keep_hidden(uow: DirectoryUnitOfWork, location: Location, warnings: list[dict]) -> Location:
    existing = uow.locations.get(location.id)
    if existing is None or not existing.confidential or location.confidential:
        return location
    warnings.append({"record": "location", "id": location.id, "field": "confidential",
                     "message": "this location is confidential in Haven and the import does not say it is "
                                "public: it stays confidential"})
    return replace(location, confidential=True)


def _import_one(uow: DirectoryUnitOfWork, kind: RecordKind, item: Record) -> set[str]:
    """Store one record, new or over the stored one; the ids of the services whose listing
    shows it."""
    records = kind.records(uow)
    kind.check(uow, item)
    existing = records.get(item.id)
    if existing is None:
        records.add(replace(item, version=1))
    else:
        # now, not the source's last_modified: the record changes in Haven today (and the
        # search index keeps the newest listing of a service)
        item = replace(item, version=existing.version + 1, created_at=existing.created_at, updated_at=now())
        if isinstance(item, Service) and item.capacity is None:
            item = replace(item, capacity=existing.capacity)
        records.save(item, previous_version=existing.version)
    if isinstance(item, Service) and item.capacity is not None:
        uow.services.save_capacity(item)
    listed = kind.listed_in(uow, item)  # none yet for a new organization or location
    recheck_listed(uow, kind, listed)  # e.g. a shelter's location may not become public
    return {service.id for service in listed}
