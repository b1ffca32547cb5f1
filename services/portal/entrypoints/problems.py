"""Which refusal becomes which page: the portal's table, as each service has one.

A person never sees raw problem+json or a stack trace. A service that is down is named in
plain words. A form sent when it cannot be carried out (a service down, the session ended)
is never lost: the answer holds everything typed in a form that sends it again. When the
session has ended, the sign-in page carries it sealed, for its owner only (`kept_form.py`).
"""
from __future__ import annotations

import logging

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ..domain import errors
from . import kept_form, sessions
from .context import wiring
from .security import CSRF_FIELD, CsrfRefused
from .translation import lazy_gettext as _l

log = logging.getLogger("haven.portal")

SERVICE_NAMES = {"directory": _l("The service directory"), "referral": _l("The referral service"),
                 "notify": _l("The notification service")}
NEVER_KEPT = {CSRF_FIELD, "password"}  # a resent form gets a fresh token; a password is never echoed


def kept_fields() -> list[tuple[str, str]]:
    """What the person typed into the form just sent, to send again."""
    return [(name, value) for name, values in request.form.lists() if name not in NEVER_KEPT for value in values]


def safe_next(target: str | None) -> str:
    """A path on this portal (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def here() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def sign_in_again():
    if request.method == "GET":
        return redirect(url_for("sign_in.form", next=here()))
    # POST: the sign-in page carries the form along, sealed for the person whose session it
    # was (in the page, never in a URL or cookie)
    owner = sessions.ended_owner()
    return render_template("sign_in.html", next=here(), ended=True, oidc=wiring().oidc is not None,
                           kept_form=kept_form.keep(owner, request.path, kept_fields()) if owner else None), 401


def _page(status: int, title, message, **extra):
    resend = request.method == "POST" and status in (500, 503, 429)
    return render_template("problem.html", status=status, title=title, message=message,
                           resend_path=request.path if resend else None,
                           resend_fields=kept_fields() if resend else [], **extra), status


def install(app: Flask) -> None:
    @app.errorhandler(errors.SignInRequired)
    def signed_out(_exc):
        return sign_in_again()

    @app.errorhandler(CsrfRefused)
    def csrf_refused(_exc):
        if g.get("portal_session") is None:
            return sign_in_again()  # the cookie went with a closed browser: sign in, then resend
        log.warning("form refused: CSRF token missing or wrong", extra={"route": request.endpoint})
        return _page(400, _l("This form could not be checked"),
                     _l("For your safety the form was not sent. Go back, reload the page and send it again."))

    @app.errorhandler(errors.NotFound)
    def not_found(_exc):
        return _page(404, _l("Not found"), _l("This page does not exist, or it is not one you may see."))

    @app.errorhandler(errors.NotPermitted)
    def not_permitted(_exc):
        return _page(403, _l("Not allowed"), _l("Your role does not allow this. Ask your supervisor if you need it."))

    @app.errorhandler(errors.ServiceDown)
    def service_down(exc):
        name = SERVICE_NAMES.get(exc.service, exc.service)
        return _page(503, _l("%(service)s is not answering", service=name),
                     _l("Nothing was lost. Try again in a minute; if it keeps happening, call your Haven support."),
                     service=exc.service)

    @app.errorhandler(errors.TooManyAttempts)
    def too_many(exc):
        return _page(429, _l("Please wait a moment"),
                     _l("Too many attempts. Try again in %(seconds)s seconds.", seconds=exc.retry_after))

    @app.errorhandler(errors.Conflict)
    def conflict(_exc):
        return _page(409, _l("This changed meanwhile"),
                     _l("Someone else acted on this record. Reload the page to see where it stands now."),
                     reload=True)

    @app.errorhandler(errors.Stale)
    def stale(_exc):
        return _page(412, _l("This changed meanwhile"),
                     _l("Someone else changed this record since you opened it. Reload the page to see it now."),
                     reload=True)

    @app.errorhandler(errors.Rejected)
    def rejected(exc):
        return _page(422, _l("This could not be done"), _l("The request was refused. Check what you entered."))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 404:
            return _page(404, _l("Not found"), _l("This page does not exist, or it is not one you may see."))
        if exc.code == 405:
            return _page(405, _l("Not found"), _l("This page does not exist, or it is not one you may see."))
        if exc.code == 413:
            return _page(413, _l("Too much text"), _l("What you sent is too long. Shorten it and try again."))
        return _page(exc.code or 400, _l("This could not be done"), _l("Check the address and try again."))

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error while serving a page", extra={"route": request.endpoint})
        return _page(500, _l("Something went wrong"),
                     _l("Nothing was lost. Try again; if it keeps happening, call your Haven support."))
