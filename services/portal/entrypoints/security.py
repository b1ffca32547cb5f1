"""What every page answer carries to keep a survivor's case safe in a browser.

- A strict Content-Security-Policy: scripts and styles from the portal only, never inline;
  no frames around the portal (clickjacking); forms post to the portal only (and, with an
  OpenID Connect provider, may be redirected to it: signing in and out goes there, and
  browsers hold a form's redirects to `form-action` too).
- `Referrer-Policy: no-referrer`: a link out of the portal tells nobody where it came from.
- `Cache-Control: no-store` on every page: most show personal data, and a shared office
  computer must not keep them in its cache or bring them back with the Back button after
  sign-out. Only the hashed assets are cached.
- A CSRF token on every form, checked on every POST. The token in a page is masked with a
  fresh random pad each time, so a compressed page never repeats the secret byte for byte
  next to text an attacker can choose (BREACH).
"""
from __future__ import annotations

import base64
import hmac
import secrets

from flask import Flask, Response, request, session
from markupsafe import Markup

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'")
CSRF_FIELD = "csrf_token"


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    if not form_targets:
        return CSP
    return CSP.replace("form-action 'self'", "form-action 'self' " + " ".join(sorted(set(form_targets))))

CSRF_HEADER = "X-CSRF-Token"
_TOKEN_BYTES = 32


def csrf_secret() -> bytes:
    """The session's CSRF secret (made on first use; it outlives a sign-out, so a form opened
    before an idle sign-out can still be sent once the person has signed in again)."""
    value = session.get("csrf")
    if not value:
        value = base64.urlsafe_b64encode(secrets.token_bytes(_TOKEN_BYTES)).decode()
        session["csrf"] = value
    return base64.urlsafe_b64decode(value)


def masked_csrf_token() -> str:
    secret = csrf_secret()
    pad = secrets.token_bytes(_TOKEN_BYTES)
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(pad, secret))).decode()


def csrf_valid(sent: str | None) -> bool:
    if not sent or not session.get("csrf"):
        return False
    try:
        raw = base64.urlsafe_b64decode(sent.encode())
    except (ValueError, UnicodeError):
        return False
    if len(raw) != 2 * _TOKEN_BYTES:
        return False
    pad, masked = raw[:_TOKEN_BYTES], raw[_TOKEN_BYTES:]
    return hmac.compare_digest(bytes(a ^ b for a, b in zip(pad, masked)), csrf_secret())


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{masked_csrf_token()}">')


class CsrfRefused(Exception):
    """A POST without this session's token: forged, or from a page older than the session."""


def install(app: Flask) -> None:
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["csrf_token"] = masked_csrf_token

    @app.before_request
    def check_csrf():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if request.endpoint in app.config.get("HAVEN_CSRF_EXEMPT", ()):
            return None
        sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not csrf_valid(sent):
            raise CsrfRefused()
        return None

    @app.after_request
    def protect(response: Response) -> Response:
        headers = response.headers
        provider = app.extensions["haven.portal"].oidc if "haven.portal" in app.extensions else None
        headers.setdefault("Content-Security-Policy",
                           content_security_policy(provider.origins() if provider is not None else ()))
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=(), payment=()"
        if request.endpoint != "assets.asset":
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
            headers["Pragma"] = "no-cache"
        return response

