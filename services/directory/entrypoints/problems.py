"""Which problem+json answers each of the directory's refusals (registered by bootstrap
through `haven.platform.errors.register_problems`). NotFound (404 not-found) and
NotOwnOrganization (403 forbidden) take the platform's answers."""
from __future__ import annotations

from flask import request

from haven.platform.concurrency import stale
from haven.platform.errors import Answer

from ..domain.errors import InUse, InvalidReference, VersionConflict


def _where_named(exc: InvalidReference) -> dict:
    # The field is named by the record or the query that carried it: a body's fields on a
    # request with one (POST /v1/services with an unknown kind), else the query's (search).
    location = "json" if request.method in ("POST", "PUT", "PATCH") else "query"
    return {"errors": [{"location": location, "field": exc.field, "message": str(exc)}]}


ANSWERS = {
    VersionConflict: Answer(412, "stale-version", "Precondition failed", detail=lambda exc: stale(exc.actual).detail,
                            extensions=lambda exc: stale(exc.actual).extensions),
    # Its own type: well-shaped data that names a record that does not exist (or does not
    # fit it), which no schema can say; a shape error stays validation-error.
    InvalidReference: Answer(422, "invalid-reference", "Request validation failed", extensions=_where_named),
    InUse: Answer(409, "in-use", "Conflict"),
}
