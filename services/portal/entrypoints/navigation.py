"""The menu: each role sees the pages of its work, and only pages that exist."""
from __future__ import annotations

from flask import g, request, url_for
from werkzeug.routing import BuildError

from .translation import lazy_gettext as _l

# endpoint, label, roles that see it
MENU = (
    ("search.search", _l("Find services"), {"caseworker", "supervisor"}),
    ("referrals.mine", _l("Referrals"), {"caseworker", "supervisor"}),
    ("supervision.overview", _l("Supervision"), {"supervisor"}),
    ("inbox.inbox", _l("Inbox"), {"agency_staff"}),
    ("capacity.services", _l("Free places"), {"agency_staff"}),
    ("ops.indicators", _l("Indicators"), {"ops", "admin", "supervisor"}),
)


def navigation() -> list[dict]:
    session = g.get("portal_session")
    if session is None:
        return []
    links = []
    for endpoint, label, roles in MENU:
        if not roles & set(session.identity.roles):
            continue
        try:
            url = url_for(endpoint)
        except BuildError:
            continue  # that page is not installed
        links.append({"url": url, "label": str(label), "current": request.endpoint == endpoint})
    return links
