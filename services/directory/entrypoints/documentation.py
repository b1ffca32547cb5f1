"""What the directory's OpenAPI document says beyond its schemas: the kinds of the
installation's taxonomy, and the links from a created record to what can be done with it.

Kinds are rows of a table, not constants: an installation adds its own (a migration, SQL),
and each worker caches the document it builds once. So the kind fields carry a mark
(`x-haven-taxonomy`), and every serving of the document sets their enum from the table as it
is then (`current_kinds`): a client or a fuzzer reads the codes the server accepts now,
never a list that was true at start-up.
"""
from __future__ import annotations

from marshmallow import fields as f

from haven.platform.errors import Problem, problem_type
from haven.platform.openapi import link

KINDS_MARK = "x-haven-taxonomy"
KIND_DESCRIPTION = "A kind code of the installation's taxonomy (GET /v1/kinds), e.g. shelter, legal_aid."


def kind_field(**kwargs) -> f.String:
    """A kind code; its enum is the kinds table's (see the module docstring)."""
    metadata = {KINDS_MARK: "kinds", "description": KIND_DESCRIPTION, **kwargs.pop("metadata", {})}
    return f.String(metadata=metadata, **kwargs)


def kind_parameter_schema() -> dict:
    """The schema of a hand-written kind parameter (a query parameter of an import)."""
    return {"type": "string", KINDS_MARK: "kinds"}


def current_kinds(reference):
    """An `amend_document` function: every marked kind field's enum is the kinds table now
    (`reference`: the use case that reads it)."""
    def amend(document: dict) -> None:
        codes = sorted(reference.kinds())
        pending = [document]
        while pending:
            node = pending.pop()
            if isinstance(node, dict):
                if node.get(KINDS_MARK) == "kinds":
                    node["enum"] = codes
                pending.extend(node.values())
            elif isinstance(node, list):
                pending.extend(node)
    return amend


def _on(parameter: str) -> dict:
    return {parameter: "$response.body#/id"}


def record_links(record: str) -> dict:
    """From an organization, location or service in an answer to reading, replacing and
    removing it (`get_<record>`, `revise_<record>`, `remove_<record>`)."""
    on = _on(f"{record}_id")
    return {"get": link(f"get_{record}", f"Read this {record} (its ETag is the If-Match of a change).", **on),
            "revise": link(f"revise_{record}", f"Replace this {record}'s details.", **on),
            "remove": link(f"remove_{record}", f"Remove this {record}.", **on)}


SERVICE_LINKS = {**record_links("service"),
                 "capacity": link("update_service_capacity", "Report this service's free places now.",
                                  **_on("service_id")),
                 "hsds": link("get_hsds_service", "This service in the HSDS 3.0 form.", **_on("service_id"))}


# --- rules between fields ----------------------------------------------------------------
# "latitude and longitude together", "available at most maximum": OpenAPI 3.0 cannot state a
# rule between two fields (or two query parameters), so a request that breaks one is
# well-shaped by the document. Its refusal says so with its own problem type, beside
# validation-error (a field the document already rules out).

def inconsistent(errors: dict[str, str], location: str) -> Problem:
    """422 for fields that are each valid but do not fit together (`errors`: field -> why)."""
    return Problem(422, "Fields that are each valid do not fit together: " + ", ".join(sorted(errors)) + ".",
                   title="Request validation failed", type=problem_type("inconsistent-fields"),
                   errors=[{"location": location, "field": field, "message": message}
                           for field, message in sorted(errors.items())])
