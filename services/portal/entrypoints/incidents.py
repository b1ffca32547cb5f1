"""Serious incidents on the referral page (templates/_incident.html): the referring
organization's caseworker or supervisor marks the referral, with the phone report made;
a supervisor records the written report. A refusal brings the referral page back with the
errors beside their fields and everything typed kept (a referral service that is down gets
the portal's page that sends the form again: the referral page cannot be shown without it).
The referral service decides who may do which (403 otherwise)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from ..domain import errors
from ..domain.referral_form import errors_by_field
from ..service_layer import incidents as i
from .context import require, token, use_case
from .ops import INCIDENTS
from .referral_page import _show
from .translation import lazy_gettext as _l

blueprint = Blueprint("incidents", __name__)

# A missing answer, named (the error summary at the top lists them all).
NEEDED = {
    "incident.discovered_date": _l("Enter the date the incident was discovered."),
    "incident.phoned_date": _l("Enter the date of the phone report."),
    "incident.phoned_to": _l("Enter the authority you reported it to by phone."),
    "report.sent_date": _l("Enter the date the written report was sent."),
    "report.sent_to": _l("Enter the authority the written report was sent to."),
}
MESSAGES = {
    i.NOT_A_DATE: _l("Enter a real date and time."),
    i.IN_FUTURE: _l("This time is in the future. Enter when it happened."),
    i.TOO_LONG: _l("This is too long. Shorten it."),
}
# What to change when the referral service refused a field (its own message is technical).
API_MESSAGES = {
    "incident.discovered_date": _l("Check the date and time: the discovery cannot be in the future."),
    "incident.phoned_date": _l("Check the date and time: the phone report cannot be before the discovery or in "
                               "the future."),
    "incident.phoned_to": _l("Enter the name of the authority you phoned (not a person's name or phone)."),
    "incident.note": _l("The note is too long: at most 2000 characters."),
    "report.sent_date": _l("Check the date and time: the written report cannot be before the discovery or in "
                           "the future."),
    "report.sent_to": _l("Enter the name of the authority the report went to."),
}
NOT_RECORDED = _l("This could not be recorded. Check what you typed and send it again.")
ALREADY = _l("This was already recorded, so nothing was changed. The referral page shows what is recorded now.")
DONE = {"mark": _l("Recorded: this referral is a serious incident. The written report is due within 5 days of the "
                   "discovery; the supervisors are reminded before the deadline."),
        "report": _l("Recorded: the written report was sent.")}
FORM_FIELDS = {"mark": ("discovered_date", "discovered_time", "phoned_date", "phoned_time", "phoned_to", "note"),
               "report": ("sent_date", "sent_time", "sent_to")}
PREFIX = {"mark": "incident", "report": "report"}


def _messages(exc: errors.Rejected) -> dict[str, list[str]]:
    def words(field: str, code: str) -> str:
        if code == i.NEEDED and field in NEEDED:
            return str(NEEDED[field])
        if code in MESSAGES:
            return str(MESSAGES[code])
        return str(API_MESSAGES.get(field, NOT_RECORDED))

    grouped = errors_by_field(exc.errors, to_form=lambda field: field)
    return {field: list(dict.fromkeys(words(field, code) for code in codes)) for field, codes in grouped.items()}


def _send(referral_id, step: str):
    require("referral:read")
    prefix = PREFIX[step]
    values = {name: request.form.get(f"{prefix}.{name}", "") for name in FORM_FIELDS[step]}
    typed = {f"{prefix}.{name}": value for name, value in values.items()}
    incidents = use_case(INCIDENTS)
    try:
        if step == "mark":
            incidents.mark(token(), str(referral_id), values)
        else:
            incidents.record_written_report(token(), str(referral_id), values)
    except errors.Rejected as exc:
        return _show(str(referral_id), 422, problems=_messages(exc), incident_typed=typed, incident_step=step)
    except errors.Conflict:
        return _show(str(referral_id), 409, problems={"": [str(ALREADY)]}, incident_step=step)
    flash(str(DONE[step]), "success")
    return redirect(url_for("referral.page", referral_id=referral_id) + "#serious-incident")


@blueprint.route("/referrals/<uuid:referral_id>/serious-incident", methods=["POST"])
def mark(referral_id):
    return _send(referral_id, "mark")


@blueprint.route("/referrals/<uuid:referral_id>/serious-incident/written-report", methods=["POST"])
def written_report(referral_id):
    return _send(referral_id, "report")
