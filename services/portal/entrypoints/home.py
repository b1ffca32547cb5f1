"""The first page after signing in: each role starts where its work is."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.routing import BuildError

from .context import person

blueprint = Blueprint("home", __name__)

# Where each role's work starts, most specific first; the endpoints belong to the pages'
# blueprints, which may not all be installed (a role whose pages are still to come gets
# the landing page).
STARTS = (("agency_staff", "inbox.inbox"), ("supervisor", "supervision.overview"), ("caseworker", "search.search"),
          ("ops", "ops.indicators"), ("admin", "ops.indicators"))


@blueprint.route("/")
def home():
    identity = person()
    for role, endpoint in STARTS:
        if role in identity.roles:
            try:
                return redirect(url_for(endpoint))
            except BuildError:
                break
    return render_template("landing.html")
