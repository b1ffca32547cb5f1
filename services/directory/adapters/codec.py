"""Domain objects to JSON-safe dicts and back: the shape of the search index payload and
of the API's representations (the API schemas describe the same fields)."""
from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime

from ..domain.model import Address, Capacity, Location, OpeningHours, Organization, Phone, Service
from ..domain.search import Listing


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


def to_dict(item) -> dict:
    return _plain(item)


def _dt(value):
    return datetime.fromisoformat(value) if value else None


def organization_from_dict(d: dict) -> Organization:
    return Organization(**{**d, "created_at": _dt(d["created_at"]), "updated_at": _dt(d["updated_at"])})


def location_from_dict(d: dict) -> Location:
    return Location(**{**d, "address": Address(**d["address"]), "created_at": _dt(d["created_at"]),
                       "updated_at": _dt(d["updated_at"])})


def service_from_dict(d: dict) -> Service:
    capacity = d.get("capacity")
    return Service(**{
        **d,
        "phones": tuple(Phone(**p) for p in d["phones"]),
        "languages": tuple(d["languages"]),
        "hours": tuple(OpeningHours(tuple(h["byday"]), h["opens_at"], h["closes_at"]) for h in d["hours"]),
        "closed_on": tuple(date.fromisoformat(x) for x in d["closed_on"]),
        "capacity": Capacity(capacity["available"], capacity["maximum"], _dt(capacity["updated_at"]))
        if capacity else None,
        "assured_date": date.fromisoformat(d["assured_date"]) if d.get("assured_date") else None,
        "service_areas": tuple(d["service_areas"]),
        "location_ids": tuple(d["location_ids"]),
        "created_at": _dt(d["created_at"]), "updated_at": _dt(d["updated_at"]),
    })


def listing_to_dict(listing: Listing) -> dict:
    return {"service": to_dict(listing.service), "organization": to_dict(listing.organization),
            "locations": [to_dict(loc) for loc in listing.locations], "area_names": dict(listing.area_names),
            "served_ancestors": list(listing.served_ancestors)}


def listing_from_dict(d: dict) -> Listing:
    return Listing(service=service_from_dict(d["service"]), organization=organization_from_dict(d["organization"]),
                   locations=tuple(location_from_dict(loc) for loc in d["locations"]),
                   area_names=dict(d["area_names"]), served_ancestors=tuple(d.get("served_ancestors", ())))
