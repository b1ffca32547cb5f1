"""What every directory endpoint needs: the use cases, the caller, and the translation of
request data into domain values."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

from flask import current_app

from haven.platform.auth import Principal, current_principal, require
from haven.platform.errors import Problem, problem_type

from ..adapters.codec import listing_to_dict
from ..domain.model import Address, OpeningHours, Phone
from ..domain.search import CONFIDENTIAL_PERMISSION, Viewer
from ..service_layer.services import Directory


def directory() -> Directory:
    return current_app.extensions["haven.directory"]["directory"]


def caller() -> Principal:
    return current_principal(current_app.extensions["haven.directory"]["verifier"])


def viewer() -> Viewer:
    return Viewer(can_see_confidential=caller().can(CONFIDENTIAL_PERMISSION))


def require_permission(permission: str) -> Principal:
    return require(current_app.extensions["haven.directory"]["verifier"], permission)


def require_capacity_right(principal: Principal, organization_id: str) -> Principal:
    """Directory admins update any service's capacity; agency staff (with directory:capacity,
    checked first) only their own organization's."""
    if not principal.can("directory:write") and principal.organization_id != organization_id:
        raise Problem(403, "Agency staff may update the capacity of their own organization's services only.",
                      title="Forbidden", type=problem_type("forbidden"))
    return principal


def location_fields(data: dict) -> dict:
    data = dict(data)
    data["organization_id"] = str(data["organization_id"])
    data["address"] = Address(**data.get("address", {}))
    return data


def service_fields(data: dict) -> dict:
    data = dict(data)
    data["organization_id"] = str(data["organization_id"])
    data["phones"] = tuple(Phone(**p) for p in data["phones"])
    data["languages"] = tuple(dict.fromkeys(data["languages"]))
    data["hours"] = tuple(OpeningHours(tuple(h["byday"]), h["opens_at"], h["closes_at"]) for h in data["hours"])
    data["closed_on"] = tuple(sorted(set(data["closed_on"])))
    data["service_areas"] = tuple(dict.fromkeys(data["service_areas"]))
    data["location_ids"] = tuple(dict.fromkeys(str(i) for i in data["location_ids"]))
    return data


def service_view(service, today: date | None = None) -> dict:
    """A service as the API shows it: its fields, and whether it is overdue for verification."""
    return {**asdict(service), "stale": service.is_stale(today or directory().today())}


def hit_json(hit) -> dict:
    """A search hit as JSON-ready values (what HitSchema documents), without a schema pass:
    search answers many of these per request."""
    document = hit.document if hit.document is not None else listing_to_dict(hit.listing)
    view = {key: value for key, value in document.items() if key != "served_ancestors"}
    view["service"] = {**document["service"], "stale": hit.stale}  # the document is shared: copy
    view.update(distance_km=hit.distance_km, highlights=hit.highlights, stale=hit.stale)
    return view
