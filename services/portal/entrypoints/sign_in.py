"""Signing in and out, and the language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..domain import errors
from ..service_layer.commands import SignIn
from . import kept_form, sessions
from .context import session_or_none, wiring
from .i18n import LANGUAGE_COOKIE, LANGUAGES
from .problems import safe_next

blueprint = Blueprint("sign_in", __name__)
YEAR = 365 * 24 * 3600


@blueprint.route("/sign-in", methods=["GET"])
def form():
    if session_or_none() is not None:
        return redirect(safe_next(request.args.get("next")))
    ended = bool(session.pop(sessions.ENDED_KEY, False) or g.get("session_ended"))
    return render_template("sign_in.html", next=safe_next(request.args.get("next")), ended=ended,
                           oidc=wiring().oidc is not None)


@blueprint.route("/sign-in", methods=["POST"])
def submit():
    next_path = safe_next(request.form.get("next"))
    context = {"next": next_path, "kept_form": request.form.get("kept_form"), "oidc": wiring().oidc is not None,
               "username": request.form.get("username", "")}
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    problems = {}
    if not username:
        problems["username"] = _("Enter your user name.")
    if not password:
        problems["password"] = _("Enter your password.")
    if problems:
        return render_template("sign_in.html", problems=problems, **context), 422
    try:
        started = wiring().signing_in.sign_in(SignIn(username, password, request.remote_addr or "unknown"))
    except errors.SignInRequired:
        return render_template("sign_in.html", problems={"": _("The user name or password is not correct.")},
                               **context), 401
    except errors.TooManyAttempts as exc:
        return render_template("sign_in.html", problems={"": _(
            "Too many failed sign-ins. Wait %(seconds)s seconds and try again.", seconds=exc.retry_after)},
            **context), 429
    except errors.NotFound:  # login disabled: an identity provider signs people in
        return render_template("sign_in.html", problems={"": _("Sign in with your organization's account.")},
                               **context), 404
    sessions.begin(started)
    response = make_response(kept_form.after_sign_in(request.form.get("kept_form"), started.identity.subject,
                                                     next_path))
    if started.identity.language in LANGUAGES and not request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(LANGUAGE_COOKIE, started.identity.language, max_age=YEAR, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@blueprint.route("/sign-out", methods=["POST"])
def sign_out():
    session = session_or_none()
    sessions.end()
    if session is not None and session.via == "oidc" and wiring().oidc is not None:
        ending = wiring().oidc.end_session_url(url_for("sign_in.form", _external=True))
        if ending:
            return redirect(ending)
    return redirect(url_for("sign_in.form", signed_out=1))


@blueprint.route("/language", methods=["POST"])
def language():
    chosen = request.form.get("language")
    response = redirect(safe_next(request.form.get("next")))
    if chosen in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=YEAR, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
