"""The person's session, kept in the signed, HttpOnly, SameSite cookie Flask writes.

The cookie holds who the person is and their token, nothing of any case. On each request
the session is resumed (renewing the token shortly before it ends) or, idle for
PORTAL_IDLE_MINUTES, dropped: the next page asks to sign in again and then comes back.
Background polls (a live inbox) are `passive`: they neither count as activity nor keep a
shared computer signed in.

Signing out takes the identity and token out of the browser's cookie, which is what protects
the next person at a shared computer. What it cannot do, with no store of its own, is
revoke a *copy* of the cookie taken earlier (the cookie is HttpOnly, SameSite and, over
HTTPS, Secure, so a copy means a compromised browser): such a copy stays good until it has
been idle PORTAL_IDLE_MINUTES, or its token can no longer be renewed (a disabled account is
refused by /v1/auth/refresh; an OpenID provider's sign-out ends its refresh token), and
never beyond MAX_SESSION_SECONDS after signing in. Revoking sooner needs a server-side
"signed out" list, i.e. a store shared by every portal process: not this portal's design.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request, session

from ..domain.errors import ServiceDown, SignInRequired
from ..domain.session import Identity, Session, Tokens

AUTH_KEY = "auth"
ENDED_KEY = "ended"  # whose session ended by itself (idle): the next sign-in page says so once


def passive(view):
    """Mark a view that a page calls by itself (polling): it does not extend the session."""
    view.portal_passive = True
    return view


def to_cookie(value: Session) -> dict:
    identity, tokens = value.identity, value.tokens
    return {"sub": identity.subject, "name": identity.name, "roles": list(identity.roles),
            "org": identity.organization_id, "perms": sorted(identity.permissions), "lang": identity.language,
            "at": tokens.access_token, "exp": tokens.expires_at, "rt": tokens.refresh_token,
            "seen": value.last_seen, "via": value.via, "since": value.signed_in_at}


def from_cookie(data: dict) -> Session | None:
    try:
        identity = Identity(subject=data["sub"], name=data["name"], roles=tuple(data["roles"]),
                            organization_id=data["org"], permissions=frozenset(data["perms"]), language=data["lang"])
        since = data.get("since")
        return Session(identity, Tokens(data["at"], float(data["exp"]), data.get("rt")), float(data["seen"]),
                       data.get("via", "local"), float(since) if since is not None else None)
    except (KeyError, TypeError, ValueError):
        return None  # a cookie of an older portal: sign in again


def ended_owner() -> str | None:
    """Who was signed in in this browser until their session ended by itself, if anyone."""
    owner = session.get(ENDED_KEY)
    return owner if isinstance(owner, str) else None


def begin(value: Session) -> None:
    session[AUTH_KEY] = to_cookie(value)
    session.pop(ENDED_KEY, None)
    session.permanent = False  # gone when the browser closes, and idle-limited meanwhile
    g.portal_session = value


def end() -> None:
    """Sign out: the person's identity and token leave the cookie (the CSRF secret and the
    language stay, so a form still open keeps working after the next sign-in)."""
    session.pop(AUTH_KEY, None)
    g.portal_session = None


def install(app: Flask, *, secret_key: str, secure_cookie: bool) -> None:
    app.secret_key = secret_key
    app.config.update(SESSION_COOKIE_NAME="haven_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure_cookie,
                      SESSION_REFRESH_EACH_REQUEST=False)

    @app.before_request
    def resume_session():
        g.portal_session = None
        g.session_ended = False
        stored = session.get(AUTH_KEY)
        if not stored or request.endpoint in (None, "assets.asset", "operations.healthz", "operations.readyz",
                                              "operations.metrics"):
            return None
        found = from_cookie(stored)
        if found is None:
            end()
            return None
        view = current_app.view_functions.get(request.endpoint)
        wiring = current_app.extensions["haven.portal"]
        renew = wiring.oidc.refresh if found.via == "oidc" and wiring.oidc else None
        try:
            resumed = wiring.signing_in.resume(found, active=not getattr(view, "portal_passive", False), renew=renew)
        except SignInRequired:
            end()
            g.session_ended = True
            # The sign-in page, reached by a redirect, says why; and a form sent later (after
            # a live page's poll ended the session) is kept for this person only.
            session[ENDED_KEY] = found.identity.subject
            return None
        except ServiceDown:
            resumed = found  # renewing failed for now; the token may still be good for a while
        g.portal_session = resumed
        if resumed.tokens != found.tokens or resumed.identity != found.identity or \
                resumed.last_seen - found.last_seen >= _seen_granularity(wiring.signing_in.idle_limit_seconds):
            session[AUTH_KEY] = to_cookie(resumed)
        return None


def _seen_granularity(idle_limit_seconds: float) -> float:
    """How far "last seen" may lag: the cookie is signed and sent again only when it moved
    this much (at most 30 s, a thirtieth of the idle limit), not on every page, which
    costs every answer a signature and a Set-Cookie header. A session may so end up to
    that much early, never late."""
    return min(30.0, idle_limit_seconds / 30)
