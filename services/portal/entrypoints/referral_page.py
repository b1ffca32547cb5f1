"""The one page of a referral (`/referrals/<id>`), for both sides: the agency receiving it
acts on it here; the caseworker or supervisor who sent it follows it here. Its status is
polled by static/live.js (`/referrals/<id>/status`), so a caseworker sees "Accepted"
without reloading."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from ..domain import errors
from ..domain.inbox import deadline_owed
from ..domain.times import moment
from ..service_layer import acting as a
from .context import person, require, token, use_case
from .inbox import ACTING, INBOX
from .sessions import passive
from .translation import lazy_gettext as _l

blueprint = Blueprint("referral", __name__)

DONE = {
    "acknowledge": _l("Done: the caseworker can see that your agency has seen this referral."),
    "accept": _l("Done: you accepted this referral. The caseworker is told."),
    "decline": _l("Done: you declined this referral. The caseworker is told, with your reason."),
    "complete": _l("Done: this referral is completed. The caseworker is told."),
}
FIELD_MESSAGES = {
    a.REASON_MISSING: _l("Choose why your agency cannot take this referral."),
    a.NOTE_NEEDED: _l("Write a short note: the reason is \u201cOther\u201d."),
    a.NOTE_TOO_LONG: _l("The note is too long: at most 4000 characters."),
}
API_FIELD_MESSAGE = _l("Check this field.")


def _back() -> dict | None:
    """Where the person came from in their work: the inbox, or their list of referrals."""
    for endpoint, label in (("inbox.inbox", _l("Inbox")), ("referrals.mine", _l("Referrals"))):
        if endpoint == "inbox.inbox" and not person().is_agency_staff:
            continue
        try:
            return {"url": url_for(endpoint), "label": str(label)}
        except BuildError:
            continue
    return None


def _show(referral_id: str, status: int = 200, *, seen: bool = False, **extra):
    shown = use_case(ACTING).page(token(), referral_id)
    if seen:  # after the read (a stranger marks nothing), before the header counts what is unread
        use_case(INBOX).mark_seen(token(), referral_id)
    return render_template("referral.html", page=shown, referral=shown.referral, me=person(), back=_back(),
                           owed=deadline_owed(shown.referral.get("deadlines")), **extra), status


@blueprint.route("/referrals/<uuid:referral_id>")
def page(referral_id):
    require("referral:read")
    return _show(str(referral_id), seen=True)


@blueprint.route("/referrals/<uuid:referral_id>/<any(acknowledge, accept, decline, complete):action>",
                 methods=["POST"])
def act(referral_id, action):
    require("referral:respond")
    form = request.form
    step = a.Step(str(referral_id), action, (form.get("etag") or "").strip() or None,
                  reason=form.get("reason", ""), note=form.get("note", ""))
    typed = {"action": action, "reason": step.reason, "note": step.note}
    try:
        use_case(ACTING).act(token(), step)
    except errors.Rejected as exc:
        problems: dict[str, list[str]] = {}
        for found in exc.errors:
            name = found.field if found.field in ("reason", "note") else ""
            problems.setdefault(name, []).append(str(FIELD_MESSAGES.get(found.message, API_FIELD_MESSAGE)))
        if not problems:
            problems[""] = [str(API_FIELD_MESSAGE)]
        return _show(str(referral_id), 422, typed=typed, problems=problems)
    except errors.Stale:
        return _show(str(referral_id), 412, typed=typed, conflict="stale")
    except errors.Conflict:
        return _show(str(referral_id), 409, typed=typed, conflict="moved")
    flash(str(DONE[action]), "success")
    return redirect(url_for(".page", referral_id=referral_id))


@blueprint.route("/referrals/<uuid:referral_id>/status")
@passive
def status(referral_id):
    """The status now, for live.js: `changed` against `known`, with the status block's HTML
    when it changed. `created` (the referral's creation time, in the page) narrows the
    list the status is read from: see ReferralActing.status."""
    require("referral:read")
    created = moment(request.args.get("created"))
    if created is None:
        return jsonify({"changed": False}), 400
    summary = use_case(ACTING).status(token(), str(referral_id), created)
    if summary is None:
        return jsonify({"changed": False})
    changed = summary.get("status") != request.args.get("known", "")
    answer = {"status": summary.get("status"), "changed": changed}
    if changed:
        answer["html"] = render_template("_referral_status.html", referral=summary)
    return jsonify(answer)
