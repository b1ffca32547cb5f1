"""Use cases of the directory. Entrypoints call these; these call the domain, the unit of
work and the search index. Every write reaches the index before the use case returns, so
the administrator who just saved a record finds it in search at once."""
from __future__ import annotations

import logging

import time

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Callable, Collection, Iterable, Iterator

from ..adapters.search_index import ProviderIndex
from ..domain.kind_mappings import KindMapping, KindMappings, Term, check_mappings
from ..domain.model import (AREA_LEVELS, Area, InvalidReference, Location, NotFound, Organization, Service,
                            VersionConflict, new_id, now)
from ..domain.search import AreaFilter, Listing, SearchQuery, SearchResult, Suggestion, Viewer
from .unit_of_work import SqlUnitOfWork

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]


log = logging.getLogger("haven.directory")


@dataclass
class ImportOutcome:
    counts: dict[str, int]
    errors: list[dict]  # records refused: record, id, field, message
    warnings: list[dict]  # records kept, with a change worth knowing


class InUse(Exception):
    """A record cannot be removed while others refer to it."""


class Directory:
    def __init__(self, uow: UnitOfWorkFactory, index: ProviderIndex, today: Callable[[], date] = date.today):
        self.uow = uow
        self.index = index
        self.today = today

    # --- organizations ---------------------------------------------------------------

    def register_organization(self, **fields) -> Organization:
        organization = Organization(id=fields.pop("id", None) or new_id(), **fields)
        with self.uow() as uow:
            uow.organizations.add(organization)
            uow.commit()
        return organization

    def get_organization(self, id: str) -> Organization:
        with self.uow() as uow:
            return _found(uow.organizations.get(id), "organization", id)

    def list_organizations(self, page: int, per_page: int) -> tuple[int, list[Organization]]:
        with self.uow() as uow:
            return uow.organizations.list((page - 1) * per_page, per_page)

    def revise_organization(self, id: str, expected_version: int | None, **changes) -> Organization:
        with self.uow() as uow:
            revised = _revise(uow.organizations, "organization", id, expected_version, changes)
            affected = uow.services.of_organization(id)
            listings = self._listings(uow, affected)
            for service in affected:
                uow.announce(service, "updated")
            uow.commit()
        self._reindex(listings)  # its name is part of every one of its services' listings
        return revised

    def remove_organization(self, id: str, expected_version: int | None) -> None:
        with self.uow() as uow:
            current = _found(uow.organizations.get(id), "organization", id)
            if uow.organizations.is_referenced(id):
                raise InUse(f"organization {id} still has services or locations; remove them first")
            _remove(uow.organizations, "organization", current, expected_version)
            uow.commit()

    # --- locations -------------------------------------------------------------------

    def register_location(self, **fields) -> Location:
        location = Location(id=fields.pop("id", None) or new_id(), **fields)
        with self.uow() as uow:
            self._check_location(uow, location)
            uow.locations.add(location)
            uow.commit()
        return location

    def get_location(self, id: str) -> Location:
        with self.uow() as uow:
            return _found(uow.locations.get(id), "location", id)

    def list_locations(self, page: int, per_page: int) -> tuple[int, list[Location]]:
        with self.uow() as uow:
            return uow.locations.list((page - 1) * per_page, per_page)

    def revise_location(self, id: str, expected_version: int | None, **changes) -> Location:
        with self.uow() as uow:
            revised = _revise(uow.locations, "location", id, expected_version, changes,
                              check=lambda loc: self._check_location(uow, loc))
            affected = uow.services.get_many(uow.locations.services_at(id)).values()
            for service in affected:
                self._check_service(uow, service)  # a shelter's location must stay confidential
            listings = self._listings(uow, list(affected))
            for service in affected:
                uow.announce(service, "updated")
            uow.commit()
        self._reindex(listings)
        return revised

    def remove_location(self, id: str, expected_version: int | None) -> None:
        with self.uow() as uow:
            current = _found(uow.locations.get(id), "location", id)
            if uow.locations.is_referenced(id):
                raise InUse(f"location {id} is still where services are delivered; unlink them first")
            _remove(uow.locations, "location", current, expected_version)
            uow.commit()

    # --- services --------------------------------------------------------------------

    def register_service(self, **fields) -> Service:
        service = Service(id=fields.pop("id", None) or new_id(), **fields)
        with self.uow() as uow:
            self._check_service(uow, service)
            uow.services.add(service)
            listings = self._listings(uow, [service])
            uow.announce(service, "created")
            uow.commit()
        self._reindex(listings)
        return service

    def get_service(self, id: str) -> Service:
        with self.uow() as uow:
            return _found(uow.services.get(id), "service", id)

    def get_listing(self, id: str) -> Listing:
        with self.uow() as uow:
            service = _found(uow.services.get(id), "service", id)
            return self._listings(uow, [service])[0]

    def list_services(self, page: int, per_page: int, organization_id: str | None = None,
                      modified_after: datetime | None = None) -> tuple[int, list[Listing]]:
        with self.uow() as uow:
            total, items = uow.services.list((page - 1) * per_page, per_page, organization_id, modified_after)
            return total, self._listings(uow, items)

    def revise_service(self, id: str, expected_version: int | None, **changes) -> Service:
        with self.uow() as uow:
            revised = _revise(uow.services, "service", id, expected_version, changes,
                              check=lambda s: self._check_service(uow, s))
            listings = self._listings(uow, [revised])
            uow.announce(revised, "updated")
            uow.commit()
        self._reindex(listings)
        return revised

    def remove_service(self, id: str, expected_version: int | None) -> None:
        with self.uow() as uow:
            current = _found(uow.services.get(id), "service", id)
            _remove(uow.services, "service", current, expected_version)
            uow.announce(current, "retired")
            uow.commit()
        self._reindex(deleted=[id])

    def update_capacity(self, id: str, available: int, maximum: int) -> Service:
        with self.uow() as uow:
            service = _found(uow.services.get(id), "service", id).with_capacity(available, maximum)
            uow.services.save_capacity(service)
            listings = self._listings(uow, [service])
            uow.announce(service, "capacity_changed")
            uow.commit()
        self._reindex(listings)
        return service

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
        self.rebuild_index()
        return count

    def import_records(self, organizations: list[Organization], locations: list[Location],
                       services: list[Service]) -> tuple[dict[str, int], list[dict]]:
        """`import_batch` of records that state every location's confidentiality."""
        outcome = self.import_batch(organizations, locations, services)
        return outcome.counts, outcome.errors

    def import_batch(self, organizations: list[Organization], locations: list[Location], services: list[Service],
                     *, confidentiality_given: Collection[str] | None = None) -> ImportOutcome:
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
        for collection, items in (("organizations", organizations), ("locations", locations),
                                  ("services", services)):
            for item in items:
                try:
                    with self.uow() as uow:
                        if collection == "locations" and confidentiality_given is not None \
                                and item.id not in confidentiality_given:
                            item = self._keep_hidden(uow, item, warnings)
                        changed = self._import_one(uow, collection, item)
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
                listings = self._listings(uow, list(found.values()))
            self._reindex(listings)
        return ImportOutcome(counts, errors, warnings)

    @staticmethod
    def _keep_hidden(uow: SqlUnitOfWork, location: Location, warnings: list[dict]) -> Location:
        existing = uow.locations.get(location.id)
        if existing is None or not existing.confidential or location.confidential:
            return location
        warnings.append({"record": "location", "id": location.id, "field": "confidential",
                         "message": "this location is confidential in Haven and the import does not say it is "
                                    "public: it stays confidential"})
        return replace(location, confidential=True)

    # --- kind mappings (HSDS documents from other systems) --------------------------

    def kind_mappings(self) -> KindMappings:
        with self.uow() as uow:
            return uow.kind_mappings.get()

    def replace_kind_mappings(self, expected_version: int | None, mappings: Iterable[KindMapping]) -> KindMappings:
        """The whole table at once (what an administrator loads from a file). `expected_version`
        None: over whatever version is current."""
        mappings = tuple(mappings)
        with self.uow() as uow:
            table = uow.kind_mappings
            current = table.get()
            expected = current.version if expected_version is None else expected_version
            if current.version != expected:
                raise VersionConflict("kind mappings", "table", expected, current.version)
            problems = check_mappings(mappings, uow.kinds.all())
            if problems:
                raise InvalidReference(*problems[0])
            if not table.replace(mappings, expected, now()):
                raise VersionConflict("kind mappings", "table", expected, table.get().version)
            uow.commit()
        return KindMappings(mappings, expected + 1)

    def remove_kind_mapping(self, expected_version: int | None, taxonomy: str, code: str) -> KindMappings:
        current = self.kind_mappings()
        found = current.lookup(Term((taxonomy,), code))
        if found is None:
            raise NotFound("kind mapping", f"{taxonomy}:{code}")
        return self.replace_kind_mappings(expected_version, (m for m in current.mappings if m != found))

    def _import_one(self, uow: SqlUnitOfWork, collection: str, item) -> set[str]:
        repository = getattr(uow, collection)
        if collection == "locations":
            self._check_location(uow, item)
        elif collection == "services":
            self._check_service(uow, item)
        existing = repository.get(item.id)
        if existing is None:
            repository.add(replace(item, version=1))
        else:
            # now, not the source's last_modified: the record changes in Haven today (and the
            # search index keeps the newest listing of a service)
            item = replace(item, version=existing.version + 1, created_at=existing.created_at, updated_at=now())
            if collection == "services" and item.capacity is None:
                item = replace(item, capacity=existing.capacity)
            repository.save(item, previous_version=existing.version)
        if collection == "services":
            if item.capacity is not None:
                uow.services.save_capacity(item)
            return {item.id}
        if existing is None:
            return set()
        if collection == "organizations":
            return {s.id for s in uow.services.of_organization(item.id)}
        affected = uow.services.get_many(uow.locations.services_at(item.id)).values()
        for service in affected:  # e.g. a shelter's location may not become public
            self._check_service(uow, service)
        return {service.id for service in affected}

    # --- keeping the search index in step --------------------------------------------

    def _reindex(self, listings=(), deleted=()) -> None:
        """After the change is committed: make it searchable before the caller hears back.
        If the index cannot take it now (Elasticsearch down), the change stands anyway — the
        database is the record — and its provider event brings the index up to date later
        (`sync_listing`), so the caller gets no error for a change that was made."""
        try:
            if listings:
                self.index.upsert(listings)
            if deleted:
                self.index.delete(list(deleted))
        except Exception as exc:  # noqa: BLE001 — see above
            log.warning("search index not updated now; the provider event will bring it up to date",
                        extra={"error": type(exc).__name__})

    def sync_listing(self, service_id: str) -> str:
        """Bring one service's listing in the index up to date with the database (a provider
        event's consumer calls this): 'upserted' or 'deleted'. Raises if the index cannot
        take it, so the event is retried."""
        with self.uow() as uow:
            service = uow.services.get(service_id)
            listings = self._listings(uow, [service]) if service is not None else []
        if listings:
            self.index.upsert(listings)
            return "upserted"
        self.index.delete([service_id])
        return "deleted"

    # --- reference data --------------------------------------------------------------

    def add_areas(self, areas: Iterable[Area]) -> list[Area]:
        """Add areas from the official list; codes already known are kept as they are. A
        parent must be known (or in the same batch) and of a higher level."""
        areas = list(areas)
        with self.uow() as uow:
            known = uow.areas.all()
            batch = {}
            for i, area in enumerate(areas):
                if area.code in batch:
                    raise InvalidReference(f"{i}.code", f"area {area.code} appears twice")
                batch[area.code] = area
            rank = {level: n for n, level in enumerate(AREA_LEVELS)}
            for i, area in enumerate(areas):
                if area.parent_code is None:
                    continue
                parent = batch.get(area.parent_code) or known.get(area.parent_code)
                if parent is None or area.parent_code == area.code:
                    raise InvalidReference(f"{i}.parent_code", f"parent {area.parent_code} of {area.code} is unknown")
                if rank[parent.level] >= rank[area.level]:
                    raise InvalidReference(f"{i}.parent_code", f"a {area.level} cannot be inside a {parent.level}")
            uow.areas.add_many(areas)
            uow.commit()
        self._reference_cache = None
        return areas

    def areas(self) -> dict[str, Area]:
        with self.uow() as uow:
            return uow.areas.all()

    def kinds(self):
        with self.uow() as uow:
            return uow.kinds.all()

    # --- search ----------------------------------------------------------------------

    REFERENCE_TTL = 60.0  # seconds a worker trusts its copy of the kinds and areas

    def _reference(self, fresh: bool = False) -> tuple[dict, dict[str, Area]]:
        """Kinds and areas change rarely (a migration, an administrator loading the official
        list); searches should not read them from the database every time."""
        cached = getattr(self, "_reference_cache", None)
        if fresh or cached is None or time.monotonic() - cached[0] > self.REFERENCE_TTL:
            with self.uow() as uow:
                cached = self._reference_cache = (time.monotonic(), uow.kinds.all(), uow.areas.all())
        return cached[1], cached[2]

    def search(self, query: SearchQuery, viewer: Viewer, area_codes: dict[str, str]) -> SearchResult:
        """`area_codes`: the province / district / commune the caller filtered on, by level."""
        known_kinds, areas = self._reference()
        if any(k not in known_kinds for k in query.kinds) or any(c not in areas for c in area_codes.values()):
            known_kinds, areas = self._reference(fresh=True)  # perhaps added through another worker
        for kind in query.kinds:
            if kind not in known_kinds:
                raise InvalidReference("kind", f"unknown kind {kind!r}; known: {', '.join(sorted(known_kinds))}")
        filters = []
        for level, code in area_codes.items():
            area = areas.get(code)
            if area is None or area.level != level:
                raise InvalidReference(level, f"no {level} has the code {code!r}")
            filters.append(AreaFilter(code, _ancestors(areas, code)))
        return self.index.search(replace(query, areas=tuple(filters)), viewer, self.today())

    def suggest(self, text: str, viewer: Viewer, limit: int) -> list[Suggestion]:
        return self.index.suggest(text, viewer, limit)

    def rebuild_index(self) -> int:
        """Rebuild the search index from the database while search keeps answering, then
        catch up with the writes that landed during the build."""
        started = datetime.now(timezone.utc)
        count = self.index.rebuild(self.all_listings())
        with self.uow() as uow:
            listings = self._listings(uow, uow.services.changed_since(started))
            stored = uow.services.ids()
        self.index.upsert(listings)
        self.index.delete(self.index.service_ids() - stored)
        return count

    def all_listings(self) -> Iterator[Listing]:
        with self.uow() as uow:
            organizations = {o.id: o for o in uow.organizations.all()}
            locations = {loc.id: loc for loc in uow.locations.all()}
            areas = uow.areas.all()
            for service in uow.services.all():
                yield _listing(service, organizations, locations, areas)

    # --- the HSDS API's read-only queries ----------------------------------------------

    MAX_TEXT_MATCHES = 10_000

    def _text_matches(self, text: str, kinds: tuple[str, ...], viewer: Viewer) -> list[str]:
        return self.index.matching_ids(SearchQuery(text=text, kinds=kinds), viewer, self.MAX_TEXT_MATCHES)

    def hsds_services(self, page: int, per_page: int, viewer: Viewer, *, text: str | None = None,
                      kinds: tuple[str, ...] = (), organization_id: str | None = None,
                      modified_after: datetime | None = None) -> tuple[int, list[Listing]]:
        ids = self._text_matches(text, kinds, viewer) if text else None
        with self.uow() as uow:
            total, items = uow.services.list((page - 1) * per_page, per_page, organization_id, modified_after,
                                             ids=ids, kinds=kinds)
            return total, self._listings(uow, items)

    def hsds_service_at_locations(self, page: int, per_page: int, viewer: Viewer, *, text: str | None = None,
                                  kinds: tuple[str, ...] = (), organization_id: str | None = None,
                                  modified_after: datetime | None = None, postcode: str | None = None,
                                  proximity_m: float | None = None) -> tuple[int, list[tuple[Listing, str]]]:
        ids = self._text_matches(text, kinds, viewer) if text else None
        with self.uow() as uow:
            near = None
            if postcode and proximity_m is not None:
                centre = uow.services.postcode_centroid(postcode)
                if centre is None:
                    return 0, []
                near, postcode = (centre[0], centre[1], proximity_m / 1000), None
            total, pairs = uow.services.at_locations(
                (page - 1) * per_page, per_page, organization_id=organization_id, modified_after=modified_after,
                kinds=kinds, ids=ids, postcode=postcode, near=near, public_only=not viewer.can_see_confidential)
            services = uow.services.get_many(service_id for service_id, _ in pairs)
            listings = {listing.service.id: listing for listing in self._listings(uow, list(services.values()))}
        return total, [(listings[service_id], location_id) for service_id, location_id in pairs]

    # --- helpers ---------------------------------------------------------------------

    def _listings(self, uow: SqlUnitOfWork, services: list[Service]) -> list[Listing]:
        if not services:
            return []
        organizations = uow.organizations.get_many(s.organization_id for s in services)
        locations = uow.locations.get_many(loc for s in services for loc in s.location_ids)
        areas = uow.areas.all()
        return [_listing(s, organizations, locations, areas) for s in services]

    def _check_location(self, uow: SqlUnitOfWork, location: Location) -> None:
        if uow.organizations.get(location.organization_id) is None:
            raise InvalidReference("organization_id", f"organization {location.organization_id} does not exist")
        areas = uow.areas.all()
        parent = None
        for level, code in zip(AREA_LEVELS, (location.province_code, location.district_code, location.commune_code)):
            field = f"{level}_code"
            if code is None:
                continue
            area = areas.get(code)
            if area is None or area.level != level:
                raise InvalidReference(field, f"no {level} has the code {code!r}")
            if parent is not None and parent not in _ancestors(areas, code):
                raise InvalidReference(field, f"{level} {code} is not inside {parent}")
            parent = code

    def _check_service(self, uow: SqlUnitOfWork, service: Service) -> None:
        kinds = uow.kinds.all()
        if service.kind not in kinds:
            raise InvalidReference("kind", f"unknown kind {service.kind!r}; known: {', '.join(sorted(kinds))}")
        if uow.organizations.get(service.organization_id) is None:
            raise InvalidReference("organization_id", f"organization {service.organization_id} does not exist")
        locations = uow.locations.get_many(service.location_ids)
        for i, location_id in enumerate(service.location_ids):
            location = locations.get(location_id)
            if location is None:
                raise InvalidReference(f"location_ids.{i}", f"location {location_id} does not exist")
            if kinds[service.kind].confidential_by_default and not location.confidential:
                raise InvalidReference(f"location_ids.{i}", f"a {service.kind} may only be at a confidential "
                                                            f"location; location {location_id} is public")
        areas = uow.areas.all()
        hidden = {loc.commune_code for loc in locations.values() if loc.confidential and loc.commune_code}
        for i, code in enumerate(service.service_areas):
            if code not in areas:
                raise InvalidReference(f"service_areas.{i}", f"no area has the code {code!r}")
            if code in hidden:  # the areas a service covers are public: they must not point at a shelter
                raise InvalidReference(f"service_areas.{i}", "this is the commune of the service's confidential "
                                                             "location; give the district or province instead")


def _found(item, kind: str, id: str):
    if item is None:
        raise NotFound(kind, id)
    return item


def _revise(repository, kind: str, id: str, expected_version: int | None, changes: dict, check=None):
    """`expected_version` None (If-Match: *): over whatever version is current."""
    current = _found(repository.get(id), kind, id)
    expected_version = current.version if expected_version is None else expected_version
    revised = current.revise(expected_version, **changes)
    if check:
        check(revised)
    if not repository.save(revised, previous_version=current.version):
        latest = repository.get(id)
        raise VersionConflict(kind, id, expected_version, latest.version if latest else -1)
    return revised


def _remove(repository, kind: str, current, expected_version: int | None) -> None:
    expected_version = current.version if expected_version is None else expected_version
    if current.version != expected_version or not repository.delete(current.id, expected_version):
        raise VersionConflict(kind, current.id, expected_version, current.version)


def _ancestors(areas: dict[str, Area], code: str) -> tuple[str, ...]:
    found = []
    parent = areas[code].parent_code if code in areas else None
    while parent and parent in areas and parent not in found:
        found.append(parent)
        parent = areas[parent].parent_code
    return tuple(found)


def _listing(service: Service, organizations: dict, locations: dict, areas: dict[str, Area]) -> Listing:
    places = tuple(locations[loc] for loc in service.location_ids if loc in locations)
    codes = {c for loc in places for c in loc.area_codes} | set(service.service_areas)
    served_ancestors = {a for code in service.service_areas for a in _ancestors(areas, code)}
    return Listing(service=service, organization=organizations[service.organization_id], locations=places,
                   area_names={c: areas[c].name for c in codes if c in areas},
                   served_ancestors=tuple(sorted(served_ancestors)))
