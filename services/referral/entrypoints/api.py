"""HTTP translation of the referral use cases: /v1/referrals and /v1/audit."""
from __future__ import annotations

import re
from dataclasses import asdict

from flask import request
from flask.views import MethodView

from haven.platform.blueprint import Blueprint
from haven.platform.concurrency import etag, expected_version, if_match_parameter
from haven.platform.errors import Problem, problem_type
from haven.platform.openapi import documented, link

from ..domain.model import Referral
from ..service_layer import commands as c
from ..service_layer.reading import View
from . import schemas as s
from .context import caller, origin, referrals
from .incidents import incident_body

blp = Blueprint("referrals", __name__, url_prefix="/v1",
                description="Consent-gated referrals and their lifecycle. Every change is stamped, kept in an "
                            "append-only history and published as an event; every read of personal fields is "
                            "audited.")

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII: what a header carries intact
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN.pattern},
                   "description": "Send the same key when retrying: the retry returns the referral the first "
                                  "request created instead of creating another."}
IF_MATCH = if_match_parameter(required=False)


@blp.after_app_request
def never_cached(response):
    # Answers carry survivors' details for some callers and not others: no shared cache
    # (a proxy, the browser's back button on a shared computer) may keep or mix them. Every
    # answer under these paths, even one no route of this blueprint gave (a 404, a 405). A
    # supervisor's figures (/v1/stats, /v1/reports: entrypoints/stats.py) are hers alike.
    if request.path.startswith(("/v1/referrals", "/v1/audit", "/v1/stats", "/v1/reports")):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Authorization"
    return response


# From a referral in an answer to every operation on it: a client (or a stateful fuzzer)
# walks the lifecycle from the referral it created.
_ON_IT = {"referral_id": "$response.body#/id"}
REFERRAL_LINKS = {
    "get": link("get_referral", "Read this referral.", **_ON_IT),
    "history": link("referral_history", "Every step of this referral.", **_ON_IT),
    **{action: link(f"{action}_referral", f"{action.replace('_', '-').capitalize()} this referral.", **_ON_IT)
       for action in ("acknowledge", "accept", "decline", "complete", "cancel")},
    "re_refer": link("re_refer_referral", "Send this declined referral on to another service.", **_ON_IT),
}


SUMMARY_FIELDS = ("id", "status", "urgency", "risk_level", "service_kind", "receiving_service_id",
                  "receiving_organization_id", "referring_organization_id", "created_at", "acknowledged_at",
                  "decided_at", "completed_at", "cancelled_at")


def _summary_body(listed) -> dict:
    body = {name: getattr(listed.referral, name) for name in SUMMARY_FIELDS}
    body["deadlines"] = [asdict(d) for d in listed.deadlines]
    body["notifications"] = listed.notifications
    return body


def _referral_body(view: View) -> dict:
    referral: Referral = view.referral
    body = {name: getattr(referral, name) for name in (
        *SUMMARY_FIELDS, "referring_user_id", "services_requested", "previous_referral_id", "next_referral_id",
        "version")}
    body["profile"] = asdict(referral.profile)
    body["personal"] = asdict(referral.personal) if view.personal_visible and referral.personal else None
    body["personal_withheld"] = not view.personal_visible
    body["consent"] = asdict(referral.consent) if referral.consent else None
    body["consent_overridden"] = referral.override is not None
    body["override"] = asdict(referral.override) if referral.override else None
    body["deadlines"] = [asdict(d) for d in view.deadlines]
    body["allowed_actions"] = list(view.actions)
    body["notifications"] = view.notifications or []
    body["serious_incident"] = incident_body(view.incident)
    return body


def _consent(data: dict | None) -> c.ConsentRecord | None:
    return None if data is None else c.ConsentRecord(**{**data, "scope": tuple(data["scope"])})


def _override(data: dict | None) -> c.Override | None:
    return None if data is None else c.Override(**data)


def _create_command(data: dict) -> c.CreateReferral:
    personal = data["personal"]
    return c.CreateReferral(
        receiving_service_id=str(data["receiving_service_id"]), urgency=data["urgency"],
        risk_level=data["risk_level"], services_requested=tuple(data["services_requested"]),
        profile=c.Profile(**data["profile"]),
        personal=None if personal is None else c.Personal(**{**personal, "needs": tuple(personal["needs"])}),
        consent=_consent(data["consent"]), override=_override(data["override"]))


def _re_refer_command(referral_id: str, data: dict) -> c.ReRefer:
    requested = data["services_requested"]
    return c.ReRefer(referral_id=referral_id, receiving_service_id=str(data["receiving_service_id"]),
                     services_requested=None if requested is None else tuple(requested),
                     urgency=data["urgency"], risk_level=data["risk_level"],
                     consent=_consent(data["consent"]), override=_override(data["override"]))


def _answer(view: View, status: int = 200, headers: dict | None = None):
    return _referral_body(view), status, {"ETag": etag(view.referral.version), **(headers or {})}


def _expected_version() -> int | None:
    """The version If-Match names; None with `*` (any version) or without the header (on a
    referral, If-Match is optional)."""
    if not request.headers.get("If-Match", "").strip():
        return None
    return expected_version()


@blp.route("/referrals")
class ReferralCollection(MethodView):
    @blp.arguments(s.CreateReferralSchema)
    @blp.response(201, s.ReferralSchema)
    @blp.doc(parameters=[IDEMPOTENCY_KEY], operationId="create_referral")
    @documented(errors=[503], links={201: REFERRAL_LINKS})  # 503: the directory cannot be asked
    def post(self, data):
        """Refer a survivor, with her recorded consent (or a supervisor's override), to a service."""
        principal = caller("referral:create")
        key = request.headers.get("Idempotency-Key")
        if key is not None and not IDEMPOTENCY_KEY_PATTERN.match(key):
            raise Problem(400, "Idempotency-Key must be 1 to 200 visible ASCII characters (no spaces).",
                          title="Bad request", type=problem_type("invalid-header"),
                          errors=[{"location": "headers", "field": "Idempotency-Key",
                                   "message": "1 to 200 visible ASCII characters."}])
        view, created = referrals().creating.create(principal, _create_command(data), origin(), idempotency_key=key)
        headers = {"Location": f"/v1/referrals/{view.referral.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return _answer(view, 201, headers)

    @blp.arguments(s.ReferralQuerySchema, location="query")
    @blp.response(200, s.ReferralPageSchema)
    @blp.doc(operationId="list_referrals")
    @documented()
    def get(self, query):
        """Referrals you may see (your agency's, or those addressed to your organization), newest first."""
        principal = caller("referral:read")
        page, per_page = query.pop("page"), query.pop("per_page")
        total, listed = referrals().reading.list(principal, c.ReferralFilters(**query), c.Page(page, per_page))
        return {"total": total, "page": page, "per_page": per_page, "items": [_summary_body(i) for i in listed]}


@blp.route("/referrals/<uuid:referral_id>")
class ReferralById(MethodView):
    @blp.response(200, s.ReferralSchema)
    @blp.doc(operationId="get_referral")
    @documented(links={200: REFERRAL_LINKS})
    def get(self, referral_id):
        """One referral; personal fields only where you may see them (the read is audited)."""
        principal = caller("referral:read")
        return _answer(referrals().reading.get(principal, str(referral_id), origin()))


@blp.route("/referrals/<uuid:referral_id>/history")
class ReferralHistory(MethodView):
    @blp.response(200, s.HistorySchema)
    @blp.doc(operationId="referral_history")
    @documented()
    def get(self, referral_id):
        """Every step of the referral: who, when, from which status to which, why."""
        principal = caller("referral:read")
        view = referrals().reading.get(principal, str(referral_id), origin())
        return {"referral_id": view.referral.id, "items": [asdict(t) for t in view.referral.history]}


# The command of each step, from its body's fields.
STEPS = {command.action: command for command in (c.Acknowledge, c.Accept, c.Decline, c.Complete, c.Cancel)}


def _transition(action: str, permission: str, schema, summary: str):
    @blp.arguments(schema)
    @blp.response(200, s.ReferralSchema)
    @blp.doc(parameters=[IF_MATCH], summary=summary, operationId=f"{action}_referral")
    @documented(errors=[409], links={200: REFERRAL_LINKS})  # 409: not a step from where it stands
    def post(self, data, referral_id):
        principal = caller(permission)
        command = STEPS[action](referral_id=str(referral_id), expected_version=_expected_version(), **data)
        return _answer(referrals().acting.act(principal, command, origin()))

    return type(f"{action.title()}Referral", (MethodView,), {"post": post})


for _action, _permission, _schema, _summary in (
        ("acknowledge", "referral:respond", s.NoteSchema, "The receiving agency has seen the referral."),
        ("accept", "referral:respond", s.NoteSchema, "The receiving agency will help."),
        ("decline", "referral:respond", s.DeclineSchema, "The receiving agency cannot help (reason code)."),
        ("complete", "referral:respond", s.NoteSchema, "Help was given."),
        ("cancel", "referral:cancel", s.CancelSchema, "The referring agency withdraws the referral."),
):
    if _action in ("acknowledge", "accept"):
        _schema = s.Strict  # no body fields; an empty JSON object or no body
    blp.route(f"/referrals/<uuid:referral_id>/{_action}", endpoint=f"{_action}_referral")(
        _transition(_action, _permission, _schema, _summary))


@blp.route("/referrals/<uuid:referral_id>/re-refer")
class ReReferral(MethodView):
    @blp.arguments(s.ReReferSchema)
    @blp.response(201, s.ReferralSchema)
    @blp.doc(operationId="re_refer_referral")
    @documented(errors=[409, 503], links={201: REFERRAL_LINKS})
    def post(self, data, referral_id):
        """Send a declined referral on to another service: a new referral, linked to this one."""
        principal = caller("referral:create")
        view = referrals().creating.re_refer(principal, _re_refer_command(str(referral_id), data), origin())
        return _answer(view, 201, {"Location": f"/v1/referrals/{view.referral.id}"})


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(s.AuditQuerySchema, location="query")
    @blp.response(200, s.AuditPageSchema)
    @blp.doc(operationId="read_audit_log")
    @documented()
    def get(self, query):
        """The audit log, newest first (administrators)."""
        caller("audit:read")
        page, per_page = query.pop("page"), query.pop("per_page")
        total, items = referrals().reading.audit(c.AuditFilters(**query), c.Page(page, per_page))
        return {"total": total, "page": page, "per_page": per_page, "items": items}


__all__ = ["blp"]
