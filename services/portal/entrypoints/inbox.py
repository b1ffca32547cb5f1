"""The receiving agency's inbox (`/inbox`), its live updates (`/inbox/updates`, polled by
static/live.js), and the count of unread notifications in every page's header."""
from __future__ import annotations

import logging

from flask import Blueprint, g, jsonify, render_template, request, url_for
from werkzeug.routing import BuildError

from .context import require, session_or_none, token, use_case
from .sessions import passive

blueprint = Blueprint("inbox", __name__)
log = logging.getLogger("haven.portal.inbox")

# The agency pages' use cases, by their names in bootstrap's wiring.
INBOX, KINDS, ACTING, CAPACITY = "agency.inbox", "agency.kinds", "agency.acting", "agency.capacity"
UNREAD_ROLES = {"agency_staff", "caseworker", "supervisor"}  # people whom notify tells about referrals


def unread_notifications() -> int | None:
    """Unread notifications of the signed-in person, asked of notify at most once per page
    and only when the header shows it; None (nothing shown) for anyone without an inbox,
    or when notify does not answer."""
    if "agency_unread" in g:
        return g.agency_unread
    value = None
    session = session_or_none()
    try:
        if session is not None and session.identity.can("notify:inbox") \
                and UNREAD_ROLES & set(session.identity.roles):
            value = use_case(INBOX).unread(session.tokens.access_token)
    except Exception:  # a count must never break the page it decorates
        log.warning("unread count not available", exc_info=True)
        value = None
    g.agency_unread = value
    return value


def unread_target() -> str | None:
    """Where the count leads: the agency's inbox, or the referrer's list of referrals."""
    session = session_or_none()
    if session is None:
        return None
    endpoint = "inbox.inbox" if session.identity.is_agency_staff else "referrals.mine"
    try:
        return url_for(endpoint)
    except BuildError:
        return None


@blueprint.app_context_processor
def unread_context():
    return {"unread_notifications": unread_notifications, "unread_target": unread_target}


@blueprint.route("/inbox")
def inbox():
    identity = require("referral:respond")
    loaded = use_case(INBOX).load(token(), identity.organization_id)
    return render_template("inbox.html", inbox=loaded, kinds=use_case(KINDS).names())


@blueprint.route("/inbox/updates")
@passive
def updates():
    """What live.js asks every few seconds: the inbox's fingerprint, and the list again
    (HTML) only when it changed, or when asked for it (`full=1`: the time left moves on)."""
    identity = require("referral:respond")
    current, loaded = use_case(INBOX).poll(token(), identity.organization_id, request.args.get("since", ""),
                                           full=request.args.get("full") == "1")
    answer = {"fingerprint": current, "unread": unread_notifications()}
    if loaded is not None:
        answer["html"] = render_template("_inbox_list.html", inbox=loaded, kinds=use_case(KINDS).names())
    return jsonify(answer)
