"""The kind mapping table: which Haven kind a taxonomy term of another Open Referral system
stands for (used by POST /v1/import/hsds). Read by anyone, replaced by directory:write."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.blueprint import Blueprint
from haven.platform.concurrency import etag, expected_version, if_match_parameter
from haven.platform.openapi import NO_TOKEN, documented

from ..domain.kind_mappings import MAX_CODE, MAX_TAXONOMY, KindMapping
from ..service_layer.commands import RemoveKindMapping, ReplaceKindMappings
from .context import kind_mappings, require_permission
from .documentation import kind_field

blp = Blueprint("kind_mappings", __name__, url_prefix="/v1",
                description="Kind mappings: taxonomy + code of another system's taxonomy term -> Haven kind, for "
                            "HSDS imports. The table is one resource: change it with the ETag last read as If-Match.")

IF_MATCH = if_match_parameter(required=True)
MAX_MAPPINGS = 2000


class KindMappingSchema(ma.Schema):
    taxonomy = f.String(required=True, validate=v.Length(min=1, max=MAX_TAXONOMY), metadata={
        "description": "The taxonomy as documents name it (taxonomy_term.taxonomy, taxonomy_detail.name or .uri); "
                       "case, http(s)://, www. and a trailing / do not matter."})
    code = f.String(required=True, validate=v.Length(min=1, max=MAX_CODE),
                    metadata={"description": "taxonomy_term.code (case does not matter)."})
    kind = kind_field(required=True, validate=v.Length(min=1, max=40))
    name = f.String(load_default="", validate=v.Length(max=MAX_TAXONOMY),
                    metadata={"description": "The term's name, for people reading the table."})


class KindMappingTableSchema(ma.Schema):
    mappings = f.List(f.Nested(KindMappingSchema), required=True, validate=v.Length(max=MAX_MAPPINGS))
    version = f.Integer(dump_only=True, metadata={"minimum": 1})


class KindMappingKeySchema(ma.Schema):
    taxonomy = f.String(required=True, validate=v.Length(min=1, max=MAX_TAXONOMY))
    code = f.String(required=True, validate=v.Length(min=1, max=MAX_CODE))


# Written out: parameters given to doc() replace those flask-smorest derives from the query
# schema, so the document would otherwise lose taxonomy and code.
KEY_PARAMETERS = [
    {"in": "query", "name": "taxonomy", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": MAX_TAXONOMY}},
    {"in": "query", "name": "code", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CODE}},
]


def _table(table):
    return {"mappings": list(table.mappings), "version": table.version}, 200, {"ETag": etag(table.version)}


@blp.route("/kind-mappings")
class KindMappings(MethodView):
    @blp.response(200, KindMappingTableSchema)
    @blp.doc(operationId="get_kind_mappings")
    @documented(token=NO_TOKEN)
    def get(self):
        """The installation's kind mappings; the ETag is what a change must send as If-Match."""
        return _table(kind_mappings().current())

    @blp.arguments(KindMappingTableSchema)
    @blp.response(200, KindMappingTableSchema)
    @blp.doc(parameters=[IF_MATCH], operationId="replace_kind_mappings")
    @documented()
    def put(self, data):
        """Replace the whole table (e.g. with a file: the body is `{"mappings": [...]}`, the shape GET gives)."""
        require_permission("directory:write")
        mappings = tuple(KindMapping(m["taxonomy"], m["code"], m["kind"], m["name"]) for m in data["mappings"])
        return _table(kind_mappings().replace(ReplaceKindMappings(mappings, expected_version())))

    @blp.arguments(KindMappingKeySchema, location="query")
    @blp.response(200, KindMappingTableSchema)
    @blp.doc(parameters=[*KEY_PARAMETERS, IF_MATCH], operationId="remove_kind_mapping")
    @documented(errors=[404])  # 404: no mapping of that term
    def delete(self, key):
        """Remove the mapping of one term (`taxonomy`, `code` compared as imports compare them)."""
        require_permission("directory:write")
        return _table(kind_mappings().remove(RemoveKindMapping(key["taxonomy"], key["code"], expected_version())))
