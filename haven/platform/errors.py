"""RFC 9457 problem details: the one error format every Haven endpoint answers with.

A client never sees a stack trace: unexpected errors are logged with the request id and
answered with a generic 500 problem that carries the same request id, so support can find
the log line without the client learning anything about the internals.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Mapping

import marshmallow as ma
from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from . import refusals
from .logging import current_request_id

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("haven.errors")
SCHEMA_KEY = "_schema"  # marshmallow's key for errors about the whole object


class Problem(Exception):
    """Raised by entrypoints and service code to answer with a specific problem."""

    def __init__(self, status: int, detail: str | None = None, *, title: str | None = None,
                 type: str = "about:blank", headers: dict[str, str] | None = None, **extensions: Any):
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.title = title
        self.type = type
        self.headers = headers or {}
        self.extensions = extensions


def problem_type(slug: str) -> str:
    return f"urn:haven:problem:{slug}"


def problem_response(status: int, *, title: str | None = None, detail: str | None = None,
                     type: str = "about:blank", headers: dict[str, str] | None = None,
                     **extensions: Any) -> Response:
    body: dict[str, Any] = {
        "type": type,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path if request else None
    body.update(extensions)
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_messages(messages: Any, location: str | None = None, prefix: str = "") -> list[dict[str, str]]:
    """Turn webargs/marshmallow nested messages into one entry per bad field.

    `{"json": {"address": {"city": ["Missing data"]}}}` becomes
    `[{"location": "json", "field": "address.city", "message": "Missing data"}]`.
    """
    errors: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if location is None and not prefix:
                errors.extend(flatten_messages(value, str(key), ""))
                continue
            name = "" if key == SCHEMA_KEY else str(key)
            field = f"{prefix}.{name}" if prefix and name else (name or prefix)
            errors.extend(flatten_messages(value, location, field))
    elif isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        for message in messages:
            errors.append({"location": location or "body", "field": prefix, "message": message})
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            errors.extend(flatten_messages(item, location, prefix))
    else:
        errors.append({"location": location or "body", "field": prefix, "message": str(messages)})
    return errors


def validation_problem(errors: list[dict[str, str]], status: int = 422) -> Response:
    fields = sorted({e["field"] or e["location"] for e in errors})
    if status == 400:
        title, detail = "Malformed request", "The request body is not valid JSON."
        kind = "malformed-request"
    else:
        title = "Request validation failed"
        detail = f"Invalid field{'s' if len(fields) != 1 else ''}: {', '.join(fields)}."
        kind = "validation-error"
    return problem_response(status, title=title, detail=detail, type=problem_type(kind), errors=errors)


def _handle_http_exception(exc: HTTPException) -> Response:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    status = exc.code or 500
    if messages is not None and status in (400, 422):
        # webargs reports a body that is not JSON as {"json": ["Invalid JSON body."]} with 400.
        return validation_problem(flatten_messages(messages), status)
    headers = dict(data.get("headers") or {})
    if status == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    detail = data.get("message") or exc.description
    return problem_response(status, title=exc.name, detail=detail, headers=headers)


def render_problem(exc: Problem) -> Response:
    return problem_response(exc.status, title=exc.title, detail=exc.detail, type=exc.type,
                            headers=exc.headers, **exc.extensions)


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http_exception(exc)
    log.exception("unhandled error while serving %s %s", request.method,
                  request.url_rule.rule if request.url_rule else "<unmatched>")
    return problem_response(500, detail="An unexpected error occurred. Quote the request id when reporting it.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Problem, render_problem)
    app.register_error_handler(Exception, _handle_unexpected)


@dataclass(frozen=True)
class Answer:
    """How one kind of refusal is answered: status, problem type and title; the detail is
    the exception's message unless `detail` says otherwise (a text, or a function of the
    exception). `fields`: list the offending field (an `Invalid`'s field, location and
    message) in `errors`. `extensions`: more members, from the exception. `log`: a line
    for operators (a broken key, not a caller's mistake)."""

    status: int
    slug: str
    title: str | None = None
    detail: str | Callable[[Exception], str | None] | None = None
    fields: bool = False
    extensions: Callable[[Exception], Mapping[str, Any]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    log: str | None = None

    def respond(self, exc: Exception) -> Response:
        if self.log:
            log.error(self.log, extra={"error": type(exc).__name__})
        detail = self.detail(exc) if callable(self.detail) else (self.detail or str(exc) or None)
        members: dict[str, Any] = {}
        if self.fields:
            members["errors"] = [{"location": getattr(exc, "location", "json"),
                                  "field": getattr(exc, "field", "") or SCHEMA_KEY,
                                  "message": getattr(exc, "message", str(exc))}]
        if self.extensions:
            members.update(self.extensions(exc))
        return problem_response(self.status, title=self.title, detail=detail, type=problem_type(self.slug),
                                headers=dict(self.headers), **members)


# The answer to each base refusal: what a service's table does not name more precisely.
BASE_ANSWERS: dict[type[Exception], Answer] = {
    refusals.NotFound: Answer(404, "not-found", "Not Found"),
    refusals.NotPermitted: Answer(403, "forbidden", "Forbidden"),
    refusals.Conflict: Answer(409, "conflict", "Conflict"),
    refusals.PreconditionFailed: Answer(412, "stale-version", "Precondition failed"),
    refusals.Invalid: Answer(422, "validation-error", "Request validation failed", fields=True),
    refusals.Unavailable: Answer(503, "unavailable", "Service Unavailable", headers={"Retry-After": "10"}),
}


def register_problems(app: Flask, answers: Mapping[type[Exception], Answer]) -> None:
    """Answer every refusal through one table: the service's own `answers` first, then
    `BASE_ANSWERS`; the most specific class of the exception that either names wins.
    `answers` may also name exceptions that are not refusals (an adapter's)."""
    table = {**BASE_ANSWERS, **answers}

    def answer(exc: Exception) -> Response:
        for cls in type(exc).__mro__:
            if cls in table:
                return table[cls].respond(exc)
        raise exc  # unreachable: only registered classes reach here

    for cls in table:
        app.register_error_handler(cls, answer)


class ProblemSchema(ma.Schema):
    """OpenAPI description of the problem details object (RFC 9457). Problems may carry
    extension members (RFC 9457 §3.2: a client ignores those it does not know), so the
    object is open; the ones Haven sends are listed."""

    class Meta:
        unknown = ma.INCLUDE  # documented as additionalProperties: true

    type = ma.fields.String(metadata={"example": "urn:haven:problem:validation-error"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.List(ma.fields.Dict(), metadata={"description": "One entry per bad field: location, field, message."})
    max_bytes = ma.fields.Integer(metadata={"description": "413: the largest body this endpoint takes."})
