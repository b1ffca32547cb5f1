"""HTTP API of the directory: translates requests into use cases, nothing more."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from haven.platform.concurrency import etag, expected_version, stale
from haven.platform.errors import Problem, problem_type
from haven.platform.schemas import PageQuerySchema, PageSchema

from ..domain.model import NotFound, VersionConflict
from ..service_layer import services

blp = Blueprint("organizations", __name__, url_prefix="/v1/organizations",
                description="Agencies that provide services (HSDS organization).")


class OrganizationSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=10_000))
    email = ma.fields.Email(load_default=None, allow_none=True)
    website = ma.fields.URL(load_default=None, allow_none=True, schemes={"http", "https"})
    version = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    updated_at = ma.fields.AwareDateTime(dump_only=True)


class OrganizationPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(OrganizationSchema))


def _uow():
    return current_app.extensions["haven.directory"]["uow"]


def _not_found(exc: NotFound) -> Problem:
    return Problem(404, str(exc), type=problem_type("not-found"))


@blp.route("")
class Organizations(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, OrganizationPageSchema)
    def get(self, query):
        """List organizations, by name."""
        total, items = services.list_organizations(_uow(), query["page"], query["per_page"])
        return {"total": total, "page": query["page"], "per_page": query["per_page"], "items": items}

    @blp.arguments(OrganizationSchema)
    @blp.response(201, OrganizationSchema)
    def post(self, data):
        """Register an organization."""
        organization = services.register_organization(_uow(), **data)
        return organization, 201, {"ETag": etag(organization.version),
                                   "Location": f"/v1/organizations/{organization.id}"}


@blp.route("/<uuid:organization_id>")
class OrganizationById(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, organization_id):
        """Read one organization; its ETag is what a later change must send as If-Match."""
        try:
            organization = services.get_organization(_uow(), str(organization_id))
        except NotFound as exc:
            raise _not_found(exc)
        return organization, 200, {"ETag": etag(organization.version)}

    @blp.arguments(OrganizationSchema)
    @blp.response(200, OrganizationSchema)
    @blp.doc(parameters=[{"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}])
    def put(self, data, organization_id):
        """Replace an organization's details (requires If-Match)."""
        version = expected_version()
        try:
            organization = services.revise_organization(_uow(), str(organization_id), version, **data)
        except NotFound as exc:
            raise _not_found(exc)
        except VersionConflict as exc:
            raise stale(exc.actual)
        return organization, 200, {"ETag": etag(organization.version)}

    @blp.response(204)
    @blp.doc(parameters=[{"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}])
    def delete(self, organization_id):
        """Remove an organization (requires If-Match)."""
        version = expected_version()
        try:
            services.remove_organization(_uow(), str(organization_id), version)
        except NotFound as exc:
            raise _not_found(exc)
        except VersionConflict as exc:
            raise stale(exc.actual)
