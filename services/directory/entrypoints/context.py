"""What every directory endpoint needs: the use cases, the caller, and the translation of
request data into domain values."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from flask import current_app

from haven.platform.auth import Principal, current_principal, require

from ..adapters.codec import listing_to_dict
from ..domain.model import Address, Location, OpeningHours, Organization, Phone, Service
from ..domain.confidential import CONFIDENTIAL_PERMISSION, Viewer
from ..service_layer.directory import Directory
from ..service_layer.hsds_queries import HsdsQueries
from ..service_layer.imports import Imports
from ..service_layer.kind_mappings import KindMappingTable
from ..service_layer.reference import Reference
from ..service_layer.registry import Registry
from ..service_layer.search import Search


def _directory() -> Directory:
    return current_app.extensions["haven.directory"]["directory"]


def registry() -> Registry:
    return _directory().registry


def search() -> Search:
    return _directory().search


def reference() -> Reference:
    return _directory().reference


def kind_mappings() -> KindMappingTable:
    return _directory().kind_mappings


def imports() -> Imports:
    return _directory().imports


def hsds_queries() -> HsdsQueries:
    return _directory().hsds


def caller() -> Principal:
    return current_principal(current_app.extensions["haven.directory"]["verifier"])


def viewer() -> Viewer:
    return Viewer(can_see_confidential=caller().can(CONFIDENTIAL_PERMISSION))


def require_permission(permission: str) -> Principal:
    return require(current_app.extensions["haven.directory"]["verifier"], permission)


# A record as the request gives it (the schema's output): what a command carries.

def organization_from(data: dict, id: str) -> Organization:
    return Organization(id=id, **data)


def location_from(data: dict, id: str) -> Location:
    data = dict(data)
    data["organization_id"] = str(data["organization_id"])
    data["address"] = Address(**data.get("address", {}))
    return Location(id=id, **data)


def service_from(data: dict, id: str) -> Service:
    data = dict(data)
    data["organization_id"] = str(data["organization_id"])
    data["phones"] = tuple(Phone(**p) for p in data["phones"])
    data["languages"] = tuple(dict.fromkeys(data["languages"]))
    data["hours"] = tuple(OpeningHours(tuple(h["byday"]), h["opens_at"], h["closes_at"]) for h in data["hours"])
    data["closed_on"] = tuple(sorted(set(data["closed_on"])))
    data["service_areas"] = tuple(dict.fromkeys(data["service_areas"]))
    data["location_ids"] = tuple(dict.fromkeys(str(i) for i in data["location_ids"]))
    return Service(id=id, **data)


def service_view(service, today: date | None = None) -> dict:
    """A service as the API shows it: its fields, and whether it is overdue for verification."""
    return {**asdict(service), "stale": service.is_stale(today or registry().today())}


def hit_json(hit) -> dict:
    """A search hit as JSON-ready values (what HitSchema documents), without a schema pass:
    search answers many of these per request."""
    document = hit.document if hit.document is not None else listing_to_dict(hit.listing)
    view = {key: value for key, value in document.items() if key != "served_ancestors"}
    view["service"] = {**document["service"], "stale": hit.stale}  # the document is shared: copy
    view.update(distance_km=hit.distance_km, highlights=hit.highlights, stale=hit.stale)
    return view
