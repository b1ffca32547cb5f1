"""HSDS 3.0 import and export, the provincial CSV import, and the read-only HSDS API that
lets existing Open Referral tools read Haven."""
from __future__ import annotations

import io
import json
import math

import marshmallow as ma
from flask import Response, current_app, jsonify, request, stream_with_context
from flask.views import MethodView
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.blueprint import Blueprint
from haven.platform.errors import Problem, problem_type
from haven.platform.http import admit_large_body, screen_json_body, takes_large_body
from haven.platform.openapi import TOKEN_OPTIONAL, documented
from haven.platform.schemas import MAX_PER_PAGE

from ..adapters import hsds
from . import hsds_schemas as h
from ..service_layer.commands import HsdsFilter, HsdsNear, ImportRecords
from .context import hsds_queries, imports, kind_mappings, reference, registry, require_permission, viewer
from .documentation import inconsistent, kind_parameter_schema

blp = Blueprint("interchange", __name__, description="Open Referral HSDS 3.0 and CSV interchange.")


class ImportReportSchema(ma.Schema):
    imported = f.Dict(keys=f.String(), values=f.Integer())
    errors = f.List(f.Dict(), metadata={"description": "One per rejected record: record, id, field, message."})
    warnings = f.List(f.Dict(), metadata={"description": "Kept records with a change worth knowing (dropped "
                                                         "details, locations made or kept confidential)."})
    kinds = f.List(f.Dict(), metadata={"description": "One per service read: record, id, kind, kind_source "
                                                      "(\"haven-kind attribute\", \"mapping <taxonomy>:<code>\", "
                                                      "\"default_kind\", or \"kind column\" for CSV)."})


def _report(batch: hsds.ImportBatch):
    outcome = imports().import_batch(ImportRecords(batch.organizations, batch.locations, batch.services,
                                                   confidentiality_given=batch.confidentiality_given))
    errors = [{"record": e.index, "id": e.id, "field": e.field, "message": e.message} for e in batch.errors]
    errors += outcome.errors
    body = {"imported": outcome.counts, "errors": errors,
            "warnings": [{"record": w.index, "id": w.id, "field": w.field, "message": w.message}
                         for w in batch.warnings] + outcome.warnings,
            "kinds": [{"record": k.index, "id": k.id, "kind": k.kind, "kind_source": k.rule}
                      for k in batch.kind_sources]}
    counts = outcome.counts
    if errors and not any(counts.values()):
        # Its own type: which records another system's document holds, and whether they name
        # kinds, areas and organizations this installation has, no request schema can say.
        raise Problem(422, "No record could be imported.", title="Request validation failed",
                      type=problem_type("nothing-imported"),
                      errors=[{"location": "json", "field": f"{e['record']}.{e['field']}" if e.get("field") else
                               str(e["record"]), "message": e["message"]} for e in errors])
    return body


def import_limit() -> int:
    return current_app.extensions["haven.directory"]["import_max_bytes"]


@blp.route("/v1/import/hsds")
class ImportHsds(MethodView):
    decorators = [takes_large_body]

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "description": "HSDS 3.0: an array of services (full form), or of organizations with nested "
                       "services and locations, or one such object.",
        "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}}}},
             parameters=[{"in": "query", "name": "default_kind", "required": False, "schema": kind_parameter_schema(),
                          "description": "Kind (GET /v1/kinds) of the services that have neither a haven-kind "
                                         "attribute nor a taxonomy term in GET /v1/kind-mappings."}],
             operationId="import_hsds")
    @blp.response(200, ImportReportSchema)
    @documented()
    def post(self):
        """Import HSDS 3.0 JSON. Good records are stored and indexed; bad ones are reported, one
        error per record naming the field. A service's kind comes from its haven-kind attribute,
        else the kind mappings, else `default_kind`; the report says which, per service."""
        require_permission("directory:write")
        kinds = reference().kinds()
        default_kind = request.args.get("default_kind")
        if default_kind is not None and default_kind not in kinds:
            raise Problem(422, f"Unknown default_kind {default_kind!r}.", title="Request validation failed",
                          type=problem_type("invalid-reference"),
                          errors=[{"location": "query", "field": "default_kind",
                                   "message": f"Not a kind; known kinds: {', '.join(sorted(kinds))}."}])
        admit_large_body(import_limit())
        refused = screen_json_body()  # malformed JSON, NUL characters: 400 as on every route
        if refused is not None:
            return refused
        document = request.get_json()
        return _report(hsds.parse_hsds(document, kinds=list(kinds.values()), default_kind=default_kind,
                                       mappings=kind_mappings().current()))


def _csv_import() -> dict:
    require_permission("directory:write")
    admit_large_body(import_limit())
    if request.mimetype not in ("text/csv", "text/plain"):
        raise Problem(415, "Send the spreadsheet as CSV (Content-Type: text/csv; charset=utf-8).",
                      errors=[{"location": "headers", "field": "Content-Type", "message": "Expected text/csv."}])
    kinds = list(reference().kinds().values())
    # Decoded and parsed as it arrives: the upload is never held as bytes and text at once.
    rows = io.TextIOWrapper(request.stream, encoding="utf-8-sig", newline="")
    try:
        batch = hsds.parse_csv(rows, kinds=kinds)
    except UnicodeDecodeError:
        raise Problem(400, "The file is not UTF-8 text: save the spreadsheet as 'CSV UTF-8'.",
                      errors=[{"location": "body", "field": "", "message": "Not UTF-8."}]) from None
    return _report(batch)


@blp.route("/v1/import/csv", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
         summary="Import the provincial spreadsheet format (one row per service; columns in README).",
         operationId="import_csv")
@blp.response(200, ImportReportSchema)
@documented()
def import_csv():
    return _csv_import()


import_csv = takes_large_body(import_csv)  # bounded by import_limit(), after authorization


@blp.route("/v1/export/hsds")
@blp.doc(summary="The whole directory as HSDS 3.0 services (full form). Confidential locations are "
                 "redacted without directory:confidential.",
         responses={"200": {"description": "A JSON array of HSDS services.",
                            "content": {"application/json": {"schema": {
                                "type": "array", "items": {"$ref": "#/components/schemas/HsdsService"}}}}}},
         operationId="export_hsds")
@documented(token=TOKEN_OPTIONAL)  # confidential locations shown with directory:confidential
def export_hsds():
    who = viewer()
    listings = hsds_queries().export()

    def chunks():  # streamed: a national directory does not fit in one response buffer
        yield "["
        for i, listing in enumerate(listings):
            yield ("," if i else "") + json.dumps(hsds.service_to_hsds(listing, who), ensure_ascii=False)
        yield "]"

    return Response(stream_with_context(chunks()), mimetype="application/json")


# --- HSDS API (read-only) --------------------------------------------------------------

class HsdsQuerySchema(ma.Schema):
    search = f.String(validate=v.Length(min=1, max=200))
    taxonomy_term_id = f.String(metadata={"description": "A haven-kind term id, or a kind code."})
    organization_id = f.UUID()
    modified_after = f.DateTime()
    page = f.Integer(load_default=1, validate=v.Range(min=1, max=10_000))
    per_page = f.Integer(load_default=20, validate=v.Range(min=1, max=MAX_PER_PAGE))


class HsdsLocationQuerySchema(HsdsQuerySchema):
    postcode = f.String(validate=v.Length(min=1, max=20))
    proximity = f.Float(validate=v.Range(min=0, min_inclusive=False, max=500_000),
                        metadata={"description": "Metres from the centre of `postcode`'s public locations."})

    @ma.validates_schema
    def _proximity_needs_postcode(self, data, **kwargs):
        if "proximity" in data and "postcode" not in data:
            raise inconsistent({"proximity": "proximity needs a postcode."}, "query")


def _kinds(term: str | None) -> tuple[str, ...]:
    if not term:
        return ()
    known = reference().kinds()
    if term in known:
        return (term,)
    for code in known:
        if hsds.term_id(hsds.TAXONOMY_KIND, code) == term:
            return (code,)
    raise Problem(422, f"Unknown taxonomy term {term!r}.", title="Request validation failed",
                  type=problem_type("invalid-reference"),
                  errors=[{"location": "query", "field": "taxonomy_term_id", "message": "Unknown term."}])


def _page(total: int, page: int, per_page: int, contents: list) -> dict:
    pages = max(1, math.ceil(total / per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page, "size": len(contents),
            "first_page": page == 1, "last_page": page >= pages, "empty": not contents, "contents": contents}


def _filters(args) -> HsdsFilter:
    return HsdsFilter(text=args.get("search"), kinds=_kinds(args.get("taxonomy_term_id")),
                      organization_id=str(args["organization_id"]) if args.get("organization_id") else None,
                      modified_after=args.get("modified_after"))


# The HSDS answers are built by adapters/hsds/export.py and sent as they are (jsonify): the
# hsds_schemas document them, and the tests hold both to the official schemas.

@blp.route("/hsds/services")
@blp.arguments(HsdsQuerySchema, location="query")
@blp.response(200, h.HsdsServicePageSchema)
@blp.doc(summary="HSDS API: services (full form), paginated as HSDS defines.", operationId="list_hsds_services")
@documented(token=TOKEN_OPTIONAL)
def hsds_services(args):
    who = viewer()
    total, listings = hsds_queries().services(args["page"], args["per_page"], who, _filters(args))
    return jsonify(_page(total, args["page"], args["per_page"], [hsds.service_to_hsds(x, who) for x in listings]))


@blp.route("/hsds/services/<uuid:service_id>")
@blp.response(200, h.HsdsServiceSchema)
@blp.doc(summary="HSDS API: one service (full form).", operationId="get_hsds_service")
@documented(token=TOKEN_OPTIONAL)
def hsds_service(service_id):
    who = viewer()
    return jsonify(hsds.service_to_hsds(registry().listing(str(service_id)), who))


@blp.route("/hsds/service_at_locations")
@blp.arguments(HsdsLocationQuerySchema, location="query")
@blp.doc(summary="HSDS API: services at locations; `postcode` + `proximity` (metres) search around the "
                 "centre of a postcode. Confidential locations never match a postcode or a distance "
                 "without directory:confidential.", operationId="list_hsds_service_at_locations")
@blp.response(200, h.HsdsServiceAtLocationPageSchema)
@documented(token=TOKEN_OPTIONAL)
def hsds_service_at_locations(args):
    who = viewer()
    total, pairs = hsds_queries().service_at_locations(
        args["page"], args["per_page"], who, _filters(args),
        HsdsNear(postcode=args.get("postcode"), proximity_m=args.get("proximity")))
    contents = []
    for listing, location_id in pairs:
        service = hsds.service_to_hsds(listing, who)
        at = next(sal for sal in service.pop("service_at_locations") if sal["location"]["id"] == location_id)
        contents.append({**at, "service_id": listing.service.id, "location_id": location_id, "service": service})
    return jsonify(_page(total, args["page"], args["per_page"], contents))
