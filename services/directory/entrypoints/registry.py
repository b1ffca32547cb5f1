"""CRUD of organizations, locations and services, and the capacity fast path."""
from __future__ import annotations

from flask.views import MethodView

from haven.platform.blueprint import Blueprint
from haven.platform.concurrency import etag, expected_version, if_match_parameter
from haven.platform.openapi import NO_TOKEN, TOKEN_OPTIONAL, documented
from haven.platform.schemas import PageQuerySchema

from ..domain.model import Location, Organization, Service, new_id
from ..domain.search import redact_location
from ..service_layer.commands import ListServices, Register, Remove, Revise, UpdateCapacity
from . import schemas as s
from .context import (location_from, organization_from, registry, require_permission, service_from, service_view,
                      viewer)
from .documentation import SERVICE_LINKS, record_links

blp = Blueprint("registry", __name__, url_prefix="/v1",
                description="Organizations, locations and services (HSDS-shaped). Changes need the "
                            "directory:write permission and an If-Match header with the last ETag read.")

IF_MATCH = if_match_parameter(required=True)
WRITE = "directory:write"
CAPACITY = "directory:capacity"
ORGANIZATION_LINKS, LOCATION_LINKS = record_links("organization"), record_links("location")
# Anyone reads organizations and services (nothing in them is withheld): a token is not
# looked at. Locations are read with the caller's rights (confidential addresses).


def _created(item, path: str, shown=None):
    return item if shown is None else shown, 201, {"ETag": etag(item.version), "Location": f"/v1/{path}/{item.id}"}


def _current(item, shown=None):
    """The record (as the caller is shown it) with the ETag a later change must send."""
    return item if shown is None else shown, 200, {"ETag": etag(item.version)}


def _page(query: dict, total: int, items: list) -> dict:
    return {"total": total, "page": query["page"], "per_page": query["per_page"], "items": items}


@blp.route("/organizations")
class Organizations(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, s.OrganizationPageSchema)
    @blp.doc(operationId="list_organizations")
    @documented(token=NO_TOKEN)
    def get(self, query):
        """List organizations, by name."""
        total, items = registry().list(Organization, query["page"], query["per_page"])
        return _page(query, total, items)

    @blp.arguments(s.OrganizationSchema)
    @blp.response(201, s.OrganizationSchema)
    @blp.doc(operationId="create_organization")
    @documented(links={201: ORGANIZATION_LINKS})
    def post(self, data):
        """Register an organization."""
        require_permission(WRITE)
        return _created(registry().register(Register(organization_from(data, new_id()))), "organizations")


@blp.route("/organizations/<uuid:organization_id>")
class OrganizationById(MethodView):
    @blp.response(200, s.OrganizationSchema)
    @blp.doc(operationId="get_organization")
    @documented(token=NO_TOKEN, links={200: ORGANIZATION_LINKS})
    def get(self, organization_id):
        """Read one organization; its ETag is what a later change must send as If-Match."""
        organization = registry().get(Organization, str(organization_id))
        return _current(organization)

    @blp.arguments(s.OrganizationSchema)
    @blp.response(200, s.OrganizationSchema)
    @blp.doc(parameters=[IF_MATCH], operationId="revise_organization")
    @documented(links={200: ORGANIZATION_LINKS})
    def put(self, data, organization_id):
        """Replace an organization's details."""
        require_permission(WRITE)
        organization = registry().revise(Revise(organization_from(data, str(organization_id)), expected_version()))
        return _current(organization)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH], operationId="remove_organization")
    @documented(errors=[409])  # 409: it still has services or locations
    def delete(self, organization_id):
        """Remove an organization that no longer has services or locations."""
        require_permission(WRITE)
        registry().remove(Remove(Organization, str(organization_id), expected_version()))


@blp.route("/locations")
class Locations(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, s.LocationPageSchema)
    @blp.doc(operationId="list_locations")
    @documented(token=TOKEN_OPTIONAL)
    def get(self, query):
        """List locations. Confidential ones are redacted without directory:confidential."""
        who = viewer()
        total, items = registry().list(Location, query["page"], query["per_page"])
        return _page(query, total, [redact_location(item, who) for item in items])

    @blp.arguments(s.LocationSchema)
    @blp.response(201, s.LocationSchema)
    @blp.doc(operationId="create_location")
    @documented(links={201: LOCATION_LINKS})
    def post(self, data):
        """Register a location."""
        require_permission(WRITE)
        return _created(registry().register(Register(location_from(data, new_id()))), "locations")


@blp.route("/locations/<uuid:location_id>")
class LocationById(MethodView):
    @blp.response(200, s.LocationSchema)
    @blp.doc(operationId="get_location")
    @documented(token=TOKEN_OPTIONAL, links={200: LOCATION_LINKS})
    def get(self, location_id):
        """Read one location (redacted if confidential and the caller may not see it)."""
        who = viewer()
        location = registry().get(Location, str(location_id))
        return _current(location, redact_location(location, who))

    @blp.arguments(s.LocationSchema)
    @blp.response(200, s.LocationSchema)
    @blp.doc(parameters=[IF_MATCH], operationId="revise_location")
    @documented(links={200: LOCATION_LINKS})
    def put(self, data, location_id):
        """Replace a location's details."""
        require_permission(WRITE)
        location = registry().revise(Revise(location_from(data, str(location_id)), expected_version()))
        return _current(location)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH], operationId="remove_location")
    @documented(errors=[409])  # 409: services are still delivered there
    def delete(self, location_id):
        """Remove a location no service is delivered at."""
        require_permission(WRITE)
        registry().remove(Remove(Location, str(location_id), expected_version()))


@blp.route("/services")
class Services(MethodView):
    @blp.arguments(s.ServiceListQuerySchema, location="query")
    @blp.response(200, s.ServicePageSchema)
    @blp.doc(operationId="list_services")
    @documented(token=NO_TOKEN)
    def get(self, query):
        """List services, by name; `organization_id` narrows it to one organization's."""
        organization_id = str(query["organization_id"]) if "organization_id" in query else None
        total, listings = registry().services(ListServices(query["page"], query["per_page"], organization_id))
        return _page(query, total, [service_view(listing.service) for listing in listings])

    @blp.arguments(s.ServiceSchema)
    @blp.response(201, s.ServiceSchema)
    @blp.doc(operationId="create_service")
    @documented(links={201: SERVICE_LINKS})
    def post(self, data):
        """Register a service. It is searchable when this answers."""
        require_permission(WRITE)
        service = registry().register(Register(service_from(data, new_id())))
        return _created(service, "services", service_view(service))


@blp.route("/services/<uuid:service_id>")
class ServiceById(MethodView):
    @blp.response(200, s.ServiceSchema)
    @blp.doc(operationId="get_service")
    @documented(token=NO_TOKEN, links={200: SERVICE_LINKS})
    def get(self, service_id):
        """Read one service."""
        service = registry().get(Service, str(service_id))
        return _current(service, service_view(service))

    @blp.arguments(s.ServiceSchema)
    @blp.response(200, s.ServiceSchema)
    @blp.doc(parameters=[IF_MATCH], operationId="revise_service")
    @documented(links={200: SERVICE_LINKS})
    def put(self, data, service_id):
        """Replace a service's details (capacity has its own endpoint and is kept)."""
        require_permission(WRITE)
        service = registry().revise(Revise(service_from(data, str(service_id)), expected_version()))
        return _current(service, service_view(service))

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH], operationId="remove_service")
    @documented()
    def delete(self, service_id):
        """Remove a service; it leaves search at once."""
        require_permission(WRITE)
        registry().remove(Remove(Service, str(service_id), expected_version()))


@blp.route("/services/<uuid:service_id>/capacity")
class ServiceCapacity(MethodView):
    @blp.arguments(s.CapacitySchema)
    @blp.response(200, s.CapacitySchema)
    @blp.doc(operationId="update_service_capacity")
    @documented()
    def put(self, data, service_id):
        """Report free places now. For shelter staff (their own organization) and directory admins;
        no If-Match: the latest count wins."""
        principal = require_permission(CAPACITY)  # before the lookup: a stranger learns nothing
        service = registry().update_capacity(UpdateCapacity(
            str(service_id), data["available"], data["maximum"], organization_id=principal.organization_id,
            any_organization=principal.can(WRITE)))
        return service.capacity
