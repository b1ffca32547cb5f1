"""HTTP translation of the serious-incident use cases: mark a referral, record the written
report, read one, list them (`service_layer/incidents.py` says who may)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView

from haven.platform.blueprint import Blueprint
from haven.platform.openapi import documented

from ..service_layer import commands as c
from ..service_layer.incidents import IncidentView
from . import schemas as s
from .context import caller, origin, referrals

blp = Blueprint("incidents", __name__, url_prefix="/v1",
                description="Serious incidents (vụ việc nghiêm trọng): reported by phone at once, in writing to the "
                            "higher authority within 5 days of discovery. Haven keeps the deadline and reminds the "
                            "referring organization's supervisors.")


@blp.after_app_request
def never_cached(response):
    # Like a referral, an incident's answer differs by caller (the note): no shared cache.
    if request.path.startswith("/v1/serious-incidents") or request.path.endswith("/serious-incident") \
            or request.path.endswith("/serious-incident/written-report"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Authorization"
    return response


def incident_body(view: IncidentView | None) -> dict | None:
    """The representation (also on the referral, as `serious_incident`)."""
    if view is None:
        return None
    i = view.incident
    return {"referral_id": i.referral_id, "referring_organization_id": i.referring_organization_id,
            "receiving_organization_id": i.receiving_organization_id, "discovered_at": i.discovered_at,
            "phoned_at": i.phoned_at, "phoned_to": i.phoned_to, "note": i.note, "marked_by": i.marked_by,
            "marked_at": i.marked_at, "due_at": i.due_at, "written_report_sent_at": i.report_sent_at,
            "written_report_sent_to": i.report_sent_to, "recorded_by": i.recorded_by, "recorded_at": i.recorded_at,
            "state": view.state, "allowed_actions": list(view.actions)}


@blp.route("/referrals/<uuid:referral_id>/serious-incident")
class SeriousIncident(MethodView):
    @blp.response(200, s.IncidentSchema)
    @blp.doc(operationId="get_serious_incident")
    @documented()
    def get(self, referral_id):
        """The referral's serious incident and how its written report stands."""
        principal = caller("referral:read")
        return incident_body(referrals().incidents.get(principal, str(referral_id), origin()))

    @blp.arguments(s.MarkIncidentSchema)
    @blp.response(201, s.IncidentSchema)
    @blp.doc(operationId="mark_serious_incident")
    @documented(errors=[409])  # 409: marked already
    def post(self, data, referral_id):
        """Mark the referral as a serious incident (the referring organization's caseworkers and supervisors)."""
        principal = caller("referral:read")
        view = referrals().incidents.mark(principal, c.MarkIncident(referral_id=str(referral_id), **data), origin())
        return incident_body(view), 201, {"Location": f"/v1/referrals/{referral_id}/serious-incident"}


@blp.route("/referrals/<uuid:referral_id>/serious-incident/written-report")
class WrittenReport(MethodView):
    @blp.arguments(s.WrittenReportSchema)
    @blp.response(200, s.IncidentSchema)
    @blp.doc(operationId="record_written_report")
    @documented(errors=[409])  # 409: recorded already
    def post(self, data, referral_id):
        """Record that the written report was sent (the referring organization's supervisors)."""
        principal = caller("referral:read")
        command = c.RecordWrittenReport(referral_id=str(referral_id), **data)
        return incident_body(referrals().incidents.record_written_report(principal, command, origin()))


@blp.route("/serious-incidents")
class SeriousIncidents(MethodView):
    @blp.arguments(s.IncidentQuerySchema, location="query")
    @blp.response(200, s.IncidentPageSchema)
    @blp.doc(operationId="list_serious_incidents")
    @documented()
    def get(self, query):
        """Serious incidents, earliest deadline first: a supervisor's organization's; every one for ops and admin."""
        principal = caller("referral:read")
        page, per_page = query.pop("page"), query.pop("per_page")
        total, found = referrals().incidents.list(principal, c.IncidentFilters(**query), c.Page(page, per_page))
        return {"total": total, "page": page, "per_page": per_page, "items": [incident_body(v) for v in found]}


__all__ = ["blp", "incident_body"]
