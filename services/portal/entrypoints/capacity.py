"""Free places on the agency's own services (`/capacity`): set the count, or −1 / +1 in one
tap (a bed was just taken, a survivor just left)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..domain import errors
from ..service_layer import capacity as c
from .context import require, token, use_case
from .inbox import CAPACITY
from .translation import lazy_gettext as _l

blueprint = Blueprint("capacity", __name__)

FIELD_MESSAGES = {
    c.NOT_A_NUMBER: _l("Enter a whole number, such as 3."),
    c.NEGATIVE: _l("The number cannot be below 0."),
    c.ABOVE_TOTAL: _l("This is more than the total number of places."),
    c.TOTAL_NEEDED: _l("Enter the total number of places first."),
    c.TOO_MANY: _l("This number is too large."),
}
API_FIELD_MESSAGE = _l("This number cannot be saved: it must be between 0 and the total.")


def _staff():
    identity = require("directory:capacity")
    if not identity.organization_id:
        raise errors.NotPermitted("capacity of one's own organization")
    return identity


def _show(status: int = 200, **extra):
    identity = _staff()
    found = use_case(CAPACITY).services(token(), identity.organization_id)
    return render_template("capacity.html", services=found, **extra), status


@blueprint.route("/capacity")
def services():
    return _show()


@blueprint.route("/capacity/<uuid:service_id>", methods=["POST"])
def update(service_id):
    identity = _staff()
    form = request.form
    change = {"-1": -1, "+1": 1, "1": 1}.get(form.get("change", ""), 0)
    count = c.Count(str(service_id), available=form.get("available", ""), maximum=form.get("maximum", ""),
                    change=change)
    try:
        new = use_case(CAPACITY).report(token(), identity.organization_id, count)
    except errors.Rejected as exc:
        problems: dict[str, list[str]] = {}
        for found in exc.errors:
            name = found.field if found.field in ("available", "maximum") else "available"
            problems.setdefault(name, []).append(str(FIELD_MESSAGES.get(found.message, API_FIELD_MESSAGE)))
        return _show(422, failed=str(service_id), problems=problems,
                     typed={"available": count.available, "maximum": count.maximum})
    flash(_("Saved: %(available)s of %(maximum)s places free.", available=new.get("available"),
            maximum=new.get("maximum")), f"capacity:{service_id}")
    return redirect(url_for(".services") + f"#service-{service_id}")
