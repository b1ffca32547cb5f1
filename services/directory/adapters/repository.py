"""Repositories of the directory: the only code that turns rows into domain objects."""
from __future__ import annotations

import abc
import math
from datetime import date, timezone
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.model import (Address, Area, Capacity, Centre, Kind, Location, OpeningHours, Organization, Phone,
                            Service)
from ..domain.kind_mappings import KindMapping, KindMappings
from ..domain.search import distance_km
from .orm import (areas, kind_mapping_versions, kind_mappings, kinds, locations, organizations, service_locations,
                  services)


def _aware(value):
    # SQLite hands back naive datetimes; everything Haven stores is UTC.
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


class VersionedTable(abc.ABC):
    """Add, get, compare-and-set save and delete for a table of versioned aggregates."""

    table: sa.Table

    def __init__(self, connection: Connection):
        self.connection = connection

    @abc.abstractmethod
    def _to_row(self, item) -> dict: ...

    @abc.abstractmethod
    def _from_row(self, row): ...

    def add(self, item) -> None:
        self.connection.execute(self.table.insert().values(id=item.id, **self._to_row(item)))

    def add_many(self, items: Iterable) -> None:
        rows = [{"id": item.id, **self._to_row(item)} for item in items]
        if rows:
            self.connection.execute(self.table.insert(), rows)

    def get(self, id: str):
        row = self.connection.execute(self.table.select().where(self.table.c.id == id)).first()
        return self._from_row(row) if row else None

    def get_many(self, ids: Iterable[str]) -> dict:
        ids = list(set(ids))
        found = {}
        for start in range(0, len(ids), 500):  # stay under every driver's parameter limit
            chunk = ids[start:start + 500]
            for row in self.connection.execute(self.table.select().where(self.table.c.id.in_(chunk))):
                found[row.id] = self._from_row(row)
        return found

    def save(self, item, previous_version: int) -> bool:
        # Compare-and-set on the version: a concurrent writer makes this update match no
        # row, even if both read the same version before either wrote.
        result = self.connection.execute(
            self.table.update().where(self.table.c.id == item.id, self.table.c.version == previous_version)
            .values(**self._to_row(item)))
        return result.rowcount == 1

    def delete(self, id: str, version: int) -> bool:
        result = self.connection.execute(
            self.table.delete().where(self.table.c.id == id, self.table.c.version == version))
        return result.rowcount == 1

    def count(self) -> int:
        return self.connection.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one()

    def list(self, offset: int, limit: int) -> tuple[int, list]:
        rows = self.connection.execute(
            self.table.select().order_by(self.table.c.name, self.table.c.id).offset(offset).limit(limit))
        return self.count(), [self._from_row(row) for row in rows]

    def all(self, batch_size: int = 2000) -> Iterator:
        last_id = ""
        while True:
            rows = self.connection.execute(self.table.select().where(self.table.c.id > last_id)
                                           .order_by(self.table.c.id).limit(batch_size)).all()
            if not rows:
                return
            for row in rows:
                yield self._from_row(row)
            last_id = rows[-1].id


def _stamps(item) -> dict:
    return {"version": item.version, "created_at": item.created_at, "updated_at": item.updated_at}


class OrganizationRepository(VersionedTable):
    table = organizations

    def _to_row(self, o: Organization) -> dict:
        return {"name": o.name, "description": o.description, "email": o.email, "website": o.website,
                "phone": o.phone, **_stamps(o)}

    def _from_row(self, row) -> Organization:
        return Organization(id=row.id, name=row.name, description=row.description, email=row.email,
                            website=row.website, phone=row.phone, version=row.version,
                            created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))

    def is_referenced(self, id: str) -> bool:
        for table in (services, locations):
            if self.connection.execute(sa.select(table.c.id).where(table.c.organization_id == id).limit(1)).first():
                return True
        return False


class LocationRepository(VersionedTable):
    table = locations

    def _to_row(self, loc: Location) -> dict:
        return {"organization_id": loc.organization_id, "name": loc.name, "description": loc.description,
                "latitude": loc.latitude, "longitude": loc.longitude, "address_1": loc.address.address_1,
                "city": loc.address.city, "region": loc.address.region, "postal_code": loc.address.postal_code,
                "country": loc.address.country, "province_code": loc.province_code,
                "district_code": loc.district_code, "commune_code": loc.commune_code,
                "confidential": loc.confidential, "timezone": loc.timezone, **_stamps(loc)}

    def _from_row(self, row) -> Location:
        return Location(id=row.id, organization_id=row.organization_id, name=row.name,
                        description=row.description, latitude=row.latitude, longitude=row.longitude,
                        address=Address(row.address_1, row.city, row.region, row.postal_code, row.country),
                        province_code=row.province_code, district_code=row.district_code,
                        commune_code=row.commune_code, confidential=row.confidential, timezone=row.timezone,
                        version=row.version, created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))

    def is_referenced(self, id: str) -> bool:
        return self.connection.execute(sa.select(service_locations.c.service_id)
                                       .where(service_locations.c.location_id == id).limit(1)).first() is not None

    def services_at(self, id: str) -> list[str]:
        return list(self.connection.execute(sa.select(service_locations.c.service_id)
                                            .where(service_locations.c.location_id == id)).scalars())


class ServiceRepository(VersionedTable):
    table = services

    def _to_row(self, s: Service) -> dict:
        return {
            "organization_id": s.organization_id, "name": s.name, "kind": s.kind, "description": s.description,
            "status": s.status, "email": s.email, "url": s.url,
            "phones": [{"number": p.number, "description": p.description} for p in s.phones],
            "languages": list(s.languages), "gender": s.gender, "minimum_age": s.minimum_age,
            "maximum_age": s.maximum_age, "free_of_charge": s.free_of_charge,
            "fees_description": s.fees_description, "always_open": s.always_open,
            "hours": [{"byday": list(h.byday), "opens_at": h.opens_at, "closes_at": h.closes_at} for h in s.hours],
            "closed_on": [d.isoformat() for d in s.closed_on],
            "capacity_available": s.capacity.available if s.capacity else None,
            "capacity_maximum": s.capacity.maximum if s.capacity else None,
            "capacity_updated_at": s.capacity.updated_at if s.capacity else None,
            "assured_date": s.assured_date, "assured_by": s.assured_by,
            "service_areas": list(s.service_areas), **_stamps(s),
        }

    def _from_row(self, row, location_ids: tuple[str, ...] | None = None) -> Service:
        capacity = None
        if row.capacity_maximum is not None:
            capacity = Capacity(row.capacity_available, row.capacity_maximum, _aware(row.capacity_updated_at))
        return Service(
            id=row.id, organization_id=row.organization_id, name=row.name, kind=row.kind,
            description=row.description, status=row.status, email=row.email, url=row.url,
            phones=tuple(Phone(p["number"], p.get("description", "")) for p in row.phones),
            languages=tuple(row.languages), gender=row.gender, minimum_age=row.minimum_age,
            maximum_age=row.maximum_age, free_of_charge=row.free_of_charge,
            fees_description=row.fees_description, always_open=row.always_open,
            hours=tuple(OpeningHours(tuple(h["byday"]), h["opens_at"], h["closes_at"]) for h in row.hours),
            closed_on=tuple(date.fromisoformat(d) for d in row.closed_on), capacity=capacity,
            assured_date=row.assured_date, assured_by=row.assured_by, service_areas=tuple(row.service_areas),
            location_ids=location_ids if location_ids is not None else self._location_ids(row.id),
            version=row.version, created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))

    def _location_ids(self, service_id: str) -> tuple[str, ...]:
        return tuple(self.connection.execute(
            sa.select(service_locations.c.location_id).where(service_locations.c.service_id == service_id)
            .order_by(service_locations.c.position)).scalars())

    def _link_locations(self, service: Service) -> None:
        self.connection.execute(service_locations.delete().where(service_locations.c.service_id == service.id))
        if service.location_ids:
            self.connection.execute(service_locations.insert(), [
                {"service_id": service.id, "location_id": loc, "position": i}
                for i, loc in enumerate(service.location_ids)])

    def add(self, service: Service) -> None:
        super().add(service)
        self._link_locations(service)

    def add_many(self, items: Iterable[Service]) -> None:
        items = list(items)
        super().add_many(items)
        links = [{"service_id": s.id, "location_id": loc, "position": i}
                 for s in items for i, loc in enumerate(s.location_ids)]
        if links:
            self.connection.execute(service_locations.insert(), links)

    def save(self, service: Service, previous_version: int) -> bool:
        """Everything but the capacity, which only `save_capacity` writes: an edit read
        before a shelter counted its beds must not put the old count back."""
        result = self.connection.execute(
            services.update().where(services.c.id == service.id, services.c.version == previous_version)
            .values(**{k: v for k, v in self._to_row(service).items() if not k.startswith("capacity_")}))
        if result.rowcount != 1:
            return False
        self._link_locations(service)
        return True

    def save_capacity(self, service: Service) -> None:
        self.connection.execute(services.update().where(services.c.id == service.id).values(
            capacity_available=service.capacity.available, capacity_maximum=service.capacity.maximum,
            capacity_updated_at=service.capacity.updated_at))

    def delete(self, id: str, version: int) -> bool:
        self.connection.execute(service_locations.delete().where(service_locations.c.service_id == id))
        return super().delete(id, version)

    def all(self, batch_size: int = 2000) -> Iterator[Service]:
        last_id = ""
        while True:
            rows = self.connection.execute(services.select().where(services.c.id > last_id)
                                           .order_by(services.c.id).limit(batch_size)).all()
            if not rows:
                return
            links: dict[str, list[str]] = {}
            for link in self.connection.execute(
                    sa.select(service_locations).where(service_locations.c.service_id.in_([r.id for r in rows]))
                    .order_by(service_locations.c.service_id, service_locations.c.position)):
                links.setdefault(link.service_id, []).append(link.location_id)
            for row in rows:
                yield self._from_row(row, tuple(links.get(row.id, ())))
            last_id = rows[-1].id

    def changed_since(self, moment) -> list[Service]:
        """Services whose listing changed after `moment`: their own record, their capacity,
        their organization or one of their locations."""
        via_organization = sa.select(organizations.c.id).where(organizations.c.updated_at >= moment)
        via_location = sa.select(service_locations.c.service_id).join(
            locations, locations.c.id == service_locations.c.location_id).where(locations.c.updated_at >= moment)
        rows = self.connection.execute(services.select().where(sa.or_(
            services.c.updated_at >= moment, services.c.capacity_updated_at >= moment,
            services.c.organization_id.in_(via_organization), services.c.id.in_(via_location))))
        return [self._from_row(row) for row in rows]

    def ids(self) -> set[str]:
        return set(self.connection.execute(sa.select(services.c.id)).scalars())

    def of_organization(self, organization_id: str) -> list[Service]:
        rows = self.connection.execute(services.select().where(services.c.organization_id == organization_id))
        return [self._from_row(row) for row in rows]

    def list(self, offset: int, limit: int, organization_id: str | None = None,
             modified_after=None, ids: Iterable[str] | None = None,
             kinds: Iterable[str] | None = None) -> tuple[int, list[Service]]:
        condition = sa.true()
        if kinds:
            condition = sa.and_(condition, services.c.kind.in_(list(kinds)))
        if organization_id:
            condition = sa.and_(condition, services.c.organization_id == organization_id)
        if modified_after is not None:
            condition = sa.and_(condition, services.c.updated_at > modified_after)
        if ids is not None:
            condition = sa.and_(condition, services.c.id.in_(list(ids)))
        total = self.connection.execute(sa.select(sa.func.count()).select_from(services).where(condition)).scalar_one()
        rows = self.connection.execute(services.select().where(condition)
                                       .order_by(services.c.name, services.c.id).offset(offset).limit(limit)).all()
        return total, [self._from_row(row) for row in rows]

    def at_locations(self, offset: int, limit: int, *, organization_id=None, modified_after=None, kinds=None,
                     ids=None, postcode: str | None = None, public_only: bool = True,
                     near: tuple[float, float, float] | None = None) -> tuple[int, list[tuple[str, str]]]:
        """(service id, location id) pairs, the HSDS service_at_location. With
        `public_only`, a confidential location never matches a postcode or a distance."""
        condition = sa.true()
        if organization_id:
            condition = sa.and_(condition, services.c.organization_id == organization_id)
        if modified_after is not None:
            condition = sa.and_(condition, services.c.updated_at > modified_after)
        if kinds:
            condition = sa.and_(condition, services.c.kind.in_(list(kinds)))
        if ids is not None:
            condition = sa.and_(condition, services.c.id.in_(list(ids)))
        if (postcode or near) and public_only:
            condition = sa.and_(condition, locations.c.confidential == sa.false())
        if postcode:
            condition = sa.and_(condition, locations.c.postal_code == postcode)
        if near:
            lat, lon, radius_km = near  # bounding box here, exact distance below
            reach = radius_km / 111.0
            lon_reach = reach / max(math.cos(math.radians(lat)), 0.01)
            condition = sa.and_(condition, locations.c.latitude.between(lat - reach, lat + reach),
                                locations.c.longitude.between(lon - lon_reach, lon + lon_reach))
        joined = service_locations.join(services, services.c.id == service_locations.c.service_id) \
            .join(locations, locations.c.id == service_locations.c.location_id)
        query = sa.select(service_locations.c.service_id, service_locations.c.location_id, locations.c.latitude,
                          locations.c.longitude).select_from(joined).where(condition) \
            .order_by(services.c.name, service_locations.c.service_id, service_locations.c.position)
        if not near:  # the database pages; only a distance needs looking at every row
            total = self.connection.execute(sa.select(sa.func.count()).select_from(joined).where(condition))
            rows = self.connection.execute(query.offset(offset).limit(limit)).all()
            return total.scalar_one(), [(r.service_id, r.location_id) for r in rows]
        rows = [r for r in self.connection.execute(query)
                if distance_km((near[0], near[1]), (r.latitude, r.longitude)) <= near[2]]
        return len(rows), [(r.service_id, r.location_id) for r in rows[offset:offset + limit]]

    def postcode_centroid(self, postcode: str) -> tuple[float, float] | None:
        """The centre of the public locations with this postcode (confidential ones would
        otherwise pull the centre towards a shelter)."""
        row = self.connection.execute(
            sa.select(sa.func.avg(locations.c.latitude), sa.func.avg(locations.c.longitude))
            .where(locations.c.postal_code == postcode, locations.c.confidential == sa.false(),
                   locations.c.latitude.is_not(None))).first()
        return (row[0], row[1]) if row and row[0] is not None else None


class AreaRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add_many(self, items: Iterable[Area]) -> None:
        # Parents first, so the foreign key to the parent always holds.
        order = {"province": 0, "district": 1, "commune": 2}
        rows = [{"code": a.code, "name": a.name, "level": a.level, "parent_code": a.parent_code,
                 "latitude": a.centre.latitude if a.centre else None,
                 "longitude": a.centre.longitude if a.centre else None}
                for a in sorted(items, key=lambda a: order.get(a.level, 3))]
        existing = set(self.connection.execute(sa.select(areas.c.code)).scalars())
        fresh = [r for r in rows if r["code"] not in existing]
        if fresh:
            self.connection.execute(areas.insert(), fresh)

    def all(self) -> dict[str, Area]:
        return {row.code: Area(row.code, row.name, row.level, row.parent_code,
                               None if row.latitude is None or row.longitude is None
                               else Centre(row.latitude, row.longitude))
                for row in self.connection.execute(areas.select())}


class KindRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def all(self) -> dict[str, Kind]:
        return {row.code: Kind(row.code, row.name_vi, row.name_en, row.confidential_by_default)
                for row in self.connection.execute(kinds.select().order_by(kinds.c.code))}


class KindMappingRepository:
    """The kind mapping table, read and replaced as a whole under one version."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def get(self) -> KindMappings:
        version = self.connection.execute(sa.select(kind_mapping_versions.c.version)
                                          .where(kind_mapping_versions.c.id == 1)).scalar()
        rows = self.connection.execute(kind_mappings.select().order_by(kind_mappings.c.taxonomy,
                                                                       kind_mappings.c.code))
        return KindMappings(tuple(KindMapping(r.taxonomy, r.code, r.kind, r.name) for r in rows), version or 1)

    def replace(self, mappings: Iterable[KindMapping], previous_version: int, moment) -> bool:
        """Compare-and-set on the version, as `VersionedTable.save`: False when another
        writer got there first (nothing is changed then)."""
        bumped = self.connection.execute(
            kind_mapping_versions.update().where(kind_mapping_versions.c.id == 1,
                                                 kind_mapping_versions.c.version == previous_version)
            .values(version=previous_version + 1, updated_at=moment))
        if bumped.rowcount != 1:
            return False
        self.connection.execute(kind_mappings.delete())
        rows = [{"taxonomy": m.taxonomy, "code": m.code, "name": m.name, "kind": m.kind} for m in mappings]
        if rows:
            self.connection.execute(kind_mappings.insert(), rows)
        return True
