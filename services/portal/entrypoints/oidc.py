"""Signing in at the organization's OpenID Connect provider (when HAVEN_AUTH_OIDC_ISSUER is set).

`POST /auth/oidc/start` sends the browser to the provider; `GET /auth/callback` takes the
code back, exchanges it (with the PKCE verifier) and starts the session. What the callback
must match — state, nonce, PKCE verifier — and what the person had typed when their
session ended (a form to send again) wait in one cookie, encrypted and authenticated with
a key derived from the portal's secret key (Fernet), valid for PENDING_SECONDS and readable
only by the callback's path. A form's fields cannot travel through the provider's redirect
(that is a URL: no personal data there), and the portal has no store to keep them in.
"""
from __future__ import annotations

import logging
import secrets

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import get_locale

from ..domain import errors
from . import kept_form, sessions
from .context import wiring
from .problems import safe_next
from .sealed import seal, unseal

log = logging.getLogger("haven.portal.oidc")
blueprint = Blueprint("oidc", __name__)
PENDING_COOKIE = "haven_oidc"
PENDING_SECONDS = 10 * 60  # long enough to type a password and a second factor, short for a shared computer
CALLBACK_PATH = "/auth/callback"
# One cookie holds at most ~4 KB, and gunicorn refuses a Cookie header over 8 KB (the
# session cookie shares it): a longer form is not kept through the provider (said on the page).
MAX_PENDING_CHARS = 3500


PURPOSE = b"haven portal: pending OpenID Connect sign-in"


def _refused(message: str, status: int = 400):
    response = make_response(render_template("sign_in.html", next="/", oidc=True, problems={"": message}), status)
    response.delete_cookie(PENDING_COOKIE, path=CALLBACK_PATH)
    return response


@blueprint.route("/auth/oidc/start", methods=["POST"])
def start():
    provider = wiring().oidc
    if provider is None:
        return redirect(url_for("sign_in.form"))
    try:
        authorization = provider.authorization(url_for("oidc.callback", _external=True), language=str(get_locale()))
    except errors.ServiceDown:
        return _refused(_("Your organization's sign-in service is not answering. Try again in a minute."), 503)
    pending = {"state": authorization.state, "nonce": authorization.nonce, "verifier": authorization.code_verifier,
               "redirect_uri": authorization.redirect_uri, "next": safe_next(request.form.get("next"))}
    kept = request.form.get("kept_form")
    sealed = seal({**pending, "kept_form": kept} if kept else pending, PURPOSE)
    if len(sealed) > MAX_PENDING_CHARS:
        log.warning("a form too long to keep through the identity provider was not kept")
        sealed = seal(pending, PURPOSE)
    response = redirect(authorization.url, code=303)
    # SameSite=Lax: the provider sends the browser back with a top-level GET, which Lax allows.
    response.set_cookie(PENDING_COOKIE, sealed, max_age=PENDING_SECONDS, path=CALLBACK_PATH, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@blueprint.route(CALLBACK_PATH, methods=["GET"])
def callback():
    provider = wiring().oidc
    if provider is None:
        return redirect(url_for("sign_in.form"))
    pending = unseal(request.cookies.get(PENDING_COOKIE), PURPOSE, PENDING_SECONDS)
    if pending is None:
        # No sign-in under way in this browser (or over 10 minutes old): no PKCE verifier, no
        # state to compare, so a code here is refused (a login CSRF or a replayed link).
        log.info("sign-in callback refused: no pending sign-in in this browser")
        return _refused(_("This sign-in could not be finished. Start again."))
    if request.args.get("error"):
        log.info("the identity provider did not sign the person in", extra={"error": request.args.get("error")[:64]})
        return _refused(_("You were not signed in. Try again, or ask your supervisor about your account."), 401)
    if not secrets.compare_digest(request.args.get("state", ""), pending["state"]) or not request.args.get("code"):
        log.warning("sign-in callback refused: its state is not this browser's sign-in")
        return _refused(_("This sign-in could not be finished. Start again."))
    try:
        tokens = provider.exchange(request.args["code"], code_verifier=pending["verifier"], nonce=pending["nonce"],
                                   redirect_uri=pending["redirect_uri"])
        started = wiring().signing_in.start(tokens, via="oidc")
    except errors.SignInRequired:
        return _refused(_("This sign-in could not be finished. Start again."), 401)
    except errors.ServiceDown:
        return _refused(_("Your organization's sign-in service is not answering. Try again in a minute."), 503)
    sessions.begin(started)
    response = make_response(kept_form.after_sign_in(pending.get("kept_form"), started.identity.subject,
                                                     safe_next(pending.get("next"))))
    response.delete_cookie(PENDING_COOKIE, path=CALLBACK_PATH)
    return response
