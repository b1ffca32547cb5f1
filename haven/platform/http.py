"""The HTTP skeleton every Haven service shares.

`create_service_app` returns a Flask app with: request ids, JSON access logs, the request
duration histogram, problem+json errors, /healthz, /readyz, /metrics, /openapi.json and
/docs. A service adds its own blueprints to the returned `Api`.
"""
from __future__ import annotations

import copy
import json
import logging
import re
import time
import uuid
from typing import Callable, Mapping

import flask_smorest
import marshmallow as ma
import swagger_ui_bundle
from flask import Blueprint as FlaskBlueprint, Flask, Response, current_app, g, jsonify, request, send_from_directory

from . import metrics, openapi
from .blueprint import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import PROBLEM_JSON, Problem, ProblemSchema, problem_response, problem_type, register_error_handlers, render_problem
from .logging import request_id_var

ReadinessCheck = Callable[[], None]
"""Raises (any exception) when the dependency is not usable; the message names why."""


class NonCritical:
    """A readiness check whose failure is reported but does not make the service unready:
    the service keeps working without that dependency (writes wait in an outbox while the
    event log is down, say), and taking it out of rotation would only make things worse."""

    def __init__(self, check: ReadinessCheck):
        self.check = check

    def __call__(self) -> None:
        self.check()

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger("haven.access")


class Api(flask_smorest.Api):
    # Document errors as problem details instead of flask-smorest's own error shape.
    ERROR_SCHEMA = ProblemSchema

    def document(self) -> dict:
        """The OpenAPI document as served: flask-smorest's, finalized (see openapi.py).
        Built once: the routes do not change after start-up. What can change while the
        service runs (rows of a reference table) is added to a copy on every serving, by
        the functions given to `amend_document`."""
        if self._document is None:
            self._document = openapi.finalize(self.spec.to_dict(), strict=True)
        if not self._amendments:
            return self._document
        served = copy.deepcopy(self._document)
        for amend in self._amendments:
            amend(served)
        return served

    def amend_document(self, amend: Callable[[dict], None]) -> None:
        """`amend(document)` changes the served document in place, each time it is served."""
        self._amendments = (*self._amendments, amend)

    _document = None
    _amendments: tuple = ()

    def _openapi_json(self):
        return Response(json.dumps(self.document(), ensure_ascii=False, indent=2), mimetype="application/json")


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>"""


DEFAULT_BODY_LIMIT = 256 * 1024
"""Bytes of request body a route takes unless its service or the route says otherwise."""


def create_service_app(*, service: str, title: str, version: str, description: str,
                       readiness: Mapping[str, ReadinessCheck],
                       max_body_bytes: int = DEFAULT_BODY_LIMIT) -> tuple[Flask, Api]:
    app = Flask(f"haven.{service}")
    app.config.update(
        HAVEN_MAX_BODY_BYTES=max_body_bytes,
        API_TITLE=title,
        API_VERSION=version,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": description}},
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # Vietnamese text stays readable in responses
    api = Api(app)
    register_error_handlers(app)  # after Api(): replaces flask-smorest's own error handler
    # A chunked body that runs past the limit while being read (werkzeug's LimitedStream)
    app.register_error_handler(RequestEntityTooLarge, lambda _exc: render_problem(
        body_too_large((request.max_content_length or max_body_bytes + 1) - 1)))
    _install_request_hooks(app, service)
    app.extensions["haven.service"] = service
    # Services add their own checks (a search index, a broker) to this mapping.
    app.extensions["haven.readiness"] = dict(readiness)
    api.register_blueprint(_operations_blueprint())
    _install_docs(app, title)
    return app, api


def create_web_app(*, service: str, readiness: Mapping[str, ReadinessCheck],
                   template_folder: str, max_body_bytes: int = DEFAULT_BODY_LIMIT) -> Flask:
    """The skeleton of a service that serves pages to people rather than JSON to programs
    (the portal): request ids, access logs, the duration histogram, /healthz, /readyz and
    /metrics as every service has them; forms instead of JSON bodies, so no JSON screening,
    and the service renders its own error pages."""
    app = Flask(f"haven.{service}", template_folder=template_folder, static_folder=None)
    app.config.update(HAVEN_MAX_BODY_BYTES=max_body_bytes, MAX_CONTENT_LENGTH=max_body_bytes,
                      MAX_FORM_MEMORY_SIZE=max_body_bytes)
    _install_request_hooks(app, service, screen=False)
    app.extensions["haven.service"] = service
    app.extensions["haven.readiness"] = dict(readiness)
    operations = FlaskBlueprint("operations", __name__)
    operations.add_url_rule("/healthz", "healthz", lambda: jsonify(status="ok"))
    operations.add_url_rule("/readyz", "readyz", readiness_answer)
    operations.add_url_rule("/metrics", "metrics", _metrics_answer)
    app.register_blueprint(operations)
    return app


def _install_request_hooks(app: Flask, service: str, *, screen: bool = True) -> None:
    @app.before_request
    def start_request() -> Response | None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = request_id
        g.request_id_token = request_id_var.set(request_id)
        return _screen_request(app) if screen else None

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        # The route template, never the raw path: ids in paths would explode cardinality
        # and could identify people.
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.HTTP_REQUEST_DURATION.labels(service, route, request.method, str(response.status_code)).observe(elapsed)
        if route not in ("/healthz", "/metrics"):
            access_log.info("request", extra={"method": request.method, "route": route,
                                              "status": response.status_code,
                                              "duration_ms": round(elapsed * 1000, 1)})
        return response

    @app.teardown_request
    def forget_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


# --- body limits ---------------------------------------------------------------------
# Every body is bounded before a byte of it is parsed, signed in or not: a stranger's
# 100 MB POST must cost the service nothing but the refusal. A route that needs more (an
# import) is marked with `takes_large_body`; it raises its limit with `admit_large_body`
# only once it knows who is calling, and then reads the body as a stream.

def takes_large_body(view):
    """Mark a view whose body may exceed the service's limit once the caller is authorized;
    the platform then neither bounds nor parses its body before the view runs."""
    view.takes_large_body = True
    return view


def body_too_large(limit: int) -> Problem:
    # The rest of the body is never read: the connection is closed after the answer, so
    # the server does not drain a body it has refused.
    return Problem(413, f"The request body is larger than this endpoint takes ({limit} bytes).",
                   title="Content Too Large", type=problem_type("body-too-large"), max_bytes=limit,
                   headers={"Connection": "close"},
                   errors=[{"location": "body", "field": "", "message": f"Longer than {limit} bytes."}])


def _bound_body(limit: int) -> None:
    """Refuse a declared length above `limit` now, and make reading a chunked body stop
    with 413 at the limit (werkzeug wraps the stream once it knows the per-request limit)."""
    # One byte of slack: werkzeug's stream ends quietly at its limit (a chunked body would be
    # cut, not refused), so a body that reaches limit + 1 is the sign of one too large.
    request.max_content_length = limit + 1
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)


def read_body() -> bytes:
    """The whole body, refused with 413 if a chunked one runs past the route's limit."""
    raw = request.get_data(cache=True)
    limit = (request.max_content_length or 1) - 1
    if request.content_length is None and len(raw) > limit:
        raise body_too_large(limit)
    return raw


def admit_large_body(limit: int) -> None:
    """Called by a `takes_large_body` view after authorization: its own, larger limit."""
    _bound_body(limit)


def _view_takes_large_body(app: Flask) -> bool:
    return getattr(app.view_functions.get(request.endpoint), "takes_large_body", False)


def _malformed(detail: str, field: str = "", location: str = "json") -> Response:
    return problem_response(400, title="Malformed request", detail=detail, type=problem_type("malformed-request"),
                            errors=[{"location": location, "field": field, "message": detail}])


def _unstorable_text(document) -> bool:
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _screen_request(app: Flask) -> Response | None:
    """Refuse, before any view runs, what no endpoint can store safely: a body that is not
    JSON where JSON is expected, JSON nested deeper than Python can parse, text with a NUL
    character or a lone surrogate (neither PostgreSQL nor UTF-8 can hold them)."""
    if "%00" in request.query_string.decode("latin-1") or any("\x00" in v for v in request.args.values()):
        return _malformed("Query parameters may not contain NUL characters.", location="query")
    if request.url_rule is not None and _view_takes_large_body(app):
        return None  # the view bounds its body itself, once it knows the caller
    # Before routing matters: an unknown path or method gets its 404/405, not a read body.
    _bound_body(app.config["HAVEN_MAX_BODY_BYTES"])
    if request.method not in ("POST", "PUT", "PATCH") or request.url_rule is None or not _has_body():
        return None
    if getattr(app.view_functions.get(request.endpoint), "accepts_any_body", False):
        return None
    return screen_json_body()


def screen_json_body() -> Response | None:
    """The JSON checks of `_screen_request`, for a view that reads its body itself."""
    if not request.is_json:
        return problem_response(415, detail="Send the body as JSON with Content-Type: application/json.",
                                errors=[{"location": "headers", "field": "Content-Type",
                                         "message": f"Unsupported: {request.mimetype or 'none'}."}])
    raw = read_body()
    try:
        text = raw.decode("utf-8")
        parsed = json.loads(text)
        if "\\u" in text and _unstorable_text(parsed):
            # \u escapes can carry what raw UTF-8 cannot: NUL, lone surrogates
            return _malformed("Text may not contain NUL characters or lone surrogates.")
    except UnicodeError:
        return _malformed("The body is not valid UTF-8 JSON (or holds a lone surrogate).")
    except (ValueError, RecursionError):
        return _malformed("The request body is not valid JSON.")
    return None


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"enum": ["ok"]})


class ReadinessSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={
        "enum": ["ready", "degraded"],
        "description": "`degraded`: a dependency the service can work without (the event log) fails."})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True,
                            metadata={"description": "Each dependency: `ok` or `failed: <why>`."})


class NotReadySchema(ProblemSchema):
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


def _operations_blueprint() -> flask_smorest.Blueprint:
    blp = Blueprint("operations", __name__, description="Liveness, readiness and metrics.")

    @blp.route("/healthz")
    @blp.doc(summary="Liveness: the process is up and serving requests.")
    @blp.response(200, HealthSchema)
    @openapi.documented(token=openapi.NO_TOKEN)
    def healthz():
        return jsonify(status="ok")

    @blp.route("/readyz")
    @blp.doc(summary="Readiness: every dependency (database, ...) answers. 503 names what failed.")
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, schema=NotReadySchema, content_type=PROBLEM_JSON,
                      description="A dependency the service cannot work without fails; `checks` names each.")
    @openapi.documented(token=openapi.NO_TOKEN)
    def readyz():
        return readiness_answer()

    @blp.route("/metrics")
    @blp.doc(summary="Prometheus metrics (text exposition format).",
             responses={"200": {"description": "Prometheus text exposition format 0.0.4.",
                                "content": {"text/plain": {"schema": {"type": "string"}}}}})
    @openapi.documented(token=openapi.NO_TOKEN)
    def metrics_endpoint():
        return _metrics_answer()

    return blp


def _check_readiness() -> tuple[dict[str, str], list[str]]:
    """Each check's state ("ok" or why not) and the critical ones that failed; recorded as
    the readiness gauges too."""
    checks: dict[str, str] = {}
    critical_failures = []
    for name, check in current_app.extensions["haven.readiness"].items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # a readiness probe reports failures, it never raises
            checks[name] = f"failed: {exc}" if str(exc) else f"failed: {type(exc).__name__}"
            if not isinstance(check, NonCritical):
                critical_failures.append(name)
    metrics.readiness(current_app.extensions["haven.service"], checks, not critical_failures)
    return checks, critical_failures


def readiness_answer() -> Response:
    """200 `ready` (or `degraded`), or 503 naming each dependency that fails."""
    checks, critical_failures = _check_readiness()
    if critical_failures:
        return problem_response(503, title="Not ready", detail=f"Unavailable: {', '.join(sorted(critical_failures))}.",
                                checks=checks)
    degraded = any(state != "ok" for state in checks.values())
    return jsonify(status="degraded" if degraded else "ready", checks=checks)


def _metrics_answer() -> Response:
    # Once the app is complete (every blueprint registered), its routes are exported at 0.
    if not current_app.extensions.get("haven.routes_exported"):
        metrics.prepare_http(current_app.extensions["haven.service"],
                             [(rule.rule, method) for rule in current_app.url_map.iter_rules()
                              for method in sorted(rule.methods - {"HEAD", "OPTIONS"})])
        current_app.extensions["haven.routes_exported"] = True
    _check_readiness()  # a scrape measures readiness: the alert needs no one probing /readyz
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def _install_docs(app: Flask, title: str) -> None:
    # Swagger UI is served from the installed package, not a CDN: Haven runs in offices
    # whose network may not reach the internet.
    page = _DOCS_PAGE.format(title=title)

    @app.get("/docs")
    def docs():
        return Response(page, mimetype="text/html")

    @app.get("/docs/assets/<path:filename>")
    def docs_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
