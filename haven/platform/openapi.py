"""The OpenAPI document as the wire has it.

flask-smorest writes a document from the marshmallow schemas, but it cannot see what the
platform does around a view: errors are problem+json (not application/json), a body is
bounded and screened (400, 413, 415), a token is checked inside the view (401, 403), a
path names a record that may not exist (404). `finalize` adds those facts to every
operation, so a generated client or a fuzzer reads the statuses and content types each
operation really answers, and no catch-all `default` hides one that is missing.

What only the view knows is said with `documented(...)` on it: whether it needs a token,
which other statuses it answers (409, 429, 503...), and its links to follow-up operations.
"""
from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Iterable, Mapping

from flask_smorest import Blueprint

from .errors import PROBLEM_JSON

BEARER = "bearerAuth"
TOKEN_REQUIRED, TOKEN_OPTIONAL, NO_TOKEN = "required", "optional", "none"
MARK = "x-haven"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def documented(*, token: str = TOKEN_REQUIRED, errors: Iterable[int] = (),
               links: Mapping[int, Mapping[str, dict]] | None = None):
    """What an operation's shape does not show: `token` (required, optional, none), the
    error statuses it answers besides those its shape implies, and OpenAPI `links` per
    success status (name -> link object), so a client can walk from a created record to
    the operations on it."""
    if token not in (TOKEN_REQUIRED, TOKEN_OPTIONAL, NO_TOKEN):
        raise ValueError(f"token must be required, optional or none, not {token!r}")
    return Blueprint.doc(**{MARK: {"token": token, "errors": sorted(set(errors)),
                                   "links": {str(k): dict(v) for k, v in (links or {}).items()}}})


def link(operation_id: str, description: str, **parameters: str) -> dict:
    """An OpenAPI link: `operation_id` with its parameters taken from this response, e.g.
    link("get_referral", "Read it", referral_id="$response.body#/id")."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def _problem_response(status: int) -> dict:
    return {"description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _implied_statuses(operation: dict, path_parameters: list[dict]) -> set[int]:
    """Error statuses the platform answers for any operation of this shape."""
    parameters = path_parameters + operation.get("parameters", [])
    statuses: set[int] = set()
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}  # not JSON / too large / wrong type / wrong shape
    if any(p.get("in") == "query" for p in parameters):
        statuses |= {400, 422}  # NUL characters / a bad value
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
            statuses |= {400, 412}  # not an ETag at all / a stale one
            if parameter.get("required"):
                statuses.add(428)
    return statuses


def _mark_of(operation: dict, where: str) -> dict:
    mark = operation.pop(MARK, None)
    if mark is None:
        raise UndocumentedOperation(f"{where} has no documented(...): say whether it needs a token")
    return mark


class UndocumentedOperation(Exception):
    """An operation does not say whether it needs a token (see `documented`)."""


def finalize(document: dict, *, strict: bool = True) -> dict:
    """A copy of flask-smorest's document with the platform's facts added (module docstring).
    `strict`: an operation without `documented(...)` is an error (UndocumentedOperation);
    otherwise it is taken to need a token."""
    doc = copy.deepcopy(document)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A token from POST /v1/auth/login (local users) or from the configured identity provider."}
    responses = components.setdefault("responses", {})
    for item_path, item in doc.get("paths", {}).items():
        path_parameters = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {item_path}"
            mark = _mark_of(operation, where) if strict else (operation.pop(MARK, None) or {
                "token": TOKEN_REQUIRED, "errors": [], "links": {}})
            statuses = _implied_statuses(operation, path_parameters) | set(mark["errors"])
            # With an identity provider, a token is checked against its published keys:
            # while they cannot be fetched, the answer is 503, not a blame on the token.
            if mark["token"] == TOKEN_REQUIRED:
                operation["security"] = [{BEARER: []}]
                statuses |= {401, 403, 503}
            elif mark["token"] == TOKEN_OPTIONAL:
                operation["security"] = [{}, {BEARER: []}]
                statuses |= {401, 503}  # a token that is sent must be valid
            else:
                operation["security"] = []
            answers = operation.setdefault("responses", {})
            answers.pop("default", None)  # every status is listed: nothing hides behind a catch-all
            for status in sorted(statuses):
                name = HTTPStatus(status).name
                responses.setdefault(name, _problem_response(status))
                answers.setdefault(str(status), {"$ref": f"#/components/responses/{name}"})
            for status, answer in answers.items():
                if status.isdigit() and int(status) >= 400 and "$ref" not in answer and "content" not in answer:
                    answer["content"] = _problem_response(int(status))["content"]  # described, now typed
            for status, links in mark.get("links", {}).items():
                answers[status].setdefault("links", {}).update(links)
    for name, response in list(responses.items()):
        if name == "DEFAULT_ERROR":
            del responses[name]
        elif "application/json" in response.get("content", {}):
            # flask-smorest's error responses: the services answer them as problem+json
            response["content"] = {PROBLEM_JSON: response["content"]["application/json"]}
    _exact_nullables(doc)
    return doc


def _exact_nullables(node) -> None:
    """apispec writes a nullable nested schema as anyOf [ref, {type: object, nullable}]:
    "any object" would pass. OpenAPI 3.0's own form is allOf [ref] with nullable."""
    if isinstance(node, dict):
        choices = node.get("anyOf")
        if isinstance(choices, list) and {"type": "object", "nullable": True} in choices:
            rest = [c for c in choices if c != {"type": "object", "nullable": True}]
            del node["anyOf"]
            node["allOf"] = rest
            node["nullable"] = True
        for value in node.values():
            _exact_nullables(value)
    elif isinstance(node, list):
        for value in node:
            _exact_nullables(value)


__all__ = ["BEARER", "NO_TOKEN", "TOKEN_OPTIONAL", "TOKEN_REQUIRED", "UndocumentedOperation", "documented",
           "finalize", "link"]
