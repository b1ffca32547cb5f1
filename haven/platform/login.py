"""Signing in: `POST /v1/auth/login` for local users, `GET /v1/auth/me` for anyone.

Mounted on every service by `service_app`: the platform knows no service, a client that
only ever talks to one service (a shelter's tablet talks to referral) can sign in there,
and a token from any of them is good for all of them (same key, same issuer). The user
store is one file in HAVEN_DATA_DIR that every process of the machine shares, so the
failed-attempt limits hold across services and workers. They are counted per client
address as `request.remote_addr` gives it (behind HAVEN_PROXY_HOPS proxies, the client's,
as ProxyFix sets it), so a guesser elsewhere cannot lock a caseworker out
(haven/platform/sign_in_limits.py). A portal (HAVEN_SIGN_IN_TRUSTED_CLIENTS) signs people in on
their behalf and names each person's address in `X-Haven-Sign-In-Client`: that address is
counted, not the portal's; the header from anyone else is ignored.

With HAVEN_AUTH_JWKS_URL set, the identity provider issues tokens: login answers 404
problem+json (type `urn:haven:problem:login-disabled`) and names where to sign in instead;
`/v1/auth/me` keeps working with the provider's tokens.
"""
from __future__ import annotations

import logging

import marshmallow as ma
from flask import jsonify, request
from flask.views import MethodView
from .blueprint import Blueprint

from .auth import LocalKeys, TokenVerifier, mint_token, require_signed_in
from .config import Config
from .errors import Problem, problem_type
from .local_users import MAX_PASSWORD_LENGTH, InvalidCredentials, LocalUsers, LockedOut
from .openapi import NO_TOKEN, documented
from .sign_in_limits import SIGN_IN_CLIENT_HEADER, SignInLimits, counted_client

log = logging.getLogger("haven.auth")
WRONG_CREDENTIALS = "The user name or password is not correct."  # one message: no user enumeration
# Which limit stopped an attempt, told to the person at the screen. Unknown user names meet
# the same limits as known ones, so none of these says whether the name exists.
TOO_MANY_ATTEMPTS = {
    "name-and-address": "Too many failed sign-ins for this user name from your address. Try again later.",
    "address": "Too many failed sign-ins from your address. Try again later.",
    "name": "This user name had many failed sign-ins recently: wait a moment and try again.",
}


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=1, max=MAX_PASSWORD_LENGTH))


class AccessTokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds until the token expires."})


class IdentitySchema(ma.Schema):
    subject = ma.fields.String()
    name = ma.fields.String(metadata={"description": "Display name (the token's `name`), for greeting on screen."})
    language = ma.fields.String(allow_none=True, metadata={"description": "Preferred language (`locale`)."})
    roles = ma.fields.List(ma.fields.String())
    organization_id = ma.fields.String(allow_none=True)
    permissions = ma.fields.List(ma.fields.String())


def login_blueprint(config: Config, verifier: TokenVerifier) -> Blueprint:
    blp = Blueprint("auth", __name__, url_prefix="/v1/auth",
                    description="Signing in with a local account (embedded issuer), and who the caller is.")
    users = LocalUsers(config.haven_data_dir, limits=SignInLimits.from_config(config))
    keys = LocalKeys(config.haven_data_dir)

    @blp.route("/login")
    class Login(MethodView):
        @blp.arguments(LoginSchema)
        @blp.response(200, AccessTokenSchema)
        @blp.alt_response(401, description="Wrong user name or password, or a disabled account (one answer for all).")
        @blp.alt_response(429, description="Too many failed sign-ins for this user name from this address, from "
                                           "this address, or for this user name lately; see Retry-After.")
        @blp.alt_response(404, description="Login is disabled: an external identity provider issues tokens.")
        @documented(token=NO_TOKEN, errors=[401, 404, 429])
        def post(self, credentials):
            """Exchange a local user's name and password for a short-lived bearer token."""
            if config.haven_auth_jwks_url:
                raise Problem(404, "This Haven does not issue tokens: sign in with your organization's identity "
                                   "provider.", title="Login disabled", type=problem_type("login-disabled"))
            try:
                user = users.authenticate(credentials["username"], credentials["password"],
                                          client=counted_client(request.remote_addr,
                                                                request.headers.get(SIGN_IN_CLIENT_HEADER),
                                                                config.haven_sign_in_trusted_clients))
            except LockedOut as exc:
                log.warning("sign-in refused: too many failures", extra={"limit": exc.limit})
                raise Problem(429, TOO_MANY_ATTEMPTS[exc.limit],
                              title="Too many attempts", type=problem_type("too-many-attempts"),
                              headers={"Retry-After": str(exc.retry_after)}) from None
            except InvalidCredentials:
                log.info("sign-in failed")  # never the user name: it may be a mistyped password
                raise Problem(401, WRONG_CREDENTIALS, title="Unauthorized", type=problem_type("invalid-credentials"),
                              headers={"WWW-Authenticate": 'Bearer realm="haven"'}) from None
            return token_response(user)

    @blp.route("/refresh")
    class Refresh(MethodView):
        @blp.response(200, AccessTokenSchema)
        @blp.alt_response(401, description="No valid token, or its account is gone or disabled.")
        @blp.alt_response(404, description="Login is disabled: an external identity provider issues tokens.")
        @documented(errors=[401, 404])
        def post(self):
            """Exchange a local user's valid token for a fresh one, so a person at work is not signed out
            mid-task (the portal's sliding session). The account is read again: a disabled one gets 401."""
            if config.haven_auth_jwks_url:
                raise Problem(404, "This Haven does not issue tokens: your identity provider renews them.",
                              title="Login disabled", type=problem_type("login-disabled"))
            principal = require_signed_in(verifier)
            user = users.get(principal.subject)
            if user is None or user.disabled:
                log.info("token refresh refused: account gone or disabled")
                raise Problem(401, "This account can no longer sign in.", title="Unauthorized",
                              type=problem_type("invalid-credentials"),
                              headers={"WWW-Authenticate": 'Bearer realm="haven"'})
            return token_response(user)

    def token_response(user):
        ttl = config.haven_auth_token_ttl_seconds
        token = mint_token(keys, issuer=config.haven_auth_issuer, audience=config.haven_auth_audience,
                           subject=user.username, roles=user.roles, organization_id=user.organization_id,
                           ttl_seconds=ttl, extra_claims={"name": user.display_name, "locale": user.language})
        response = jsonify(access_token=token, token_type="Bearer", expires_in=ttl)
        # RFC 6749 §5.1: a response carrying a token is never cached.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    @blp.route("/me")
    class Me(MethodView):
        @blp.response(200, IdentitySchema)
        @blp.alt_response(401, description="No bearer token, or one that is not valid.")
        @documented()
        def get(self):
            """Who the bearer token says the caller is, and what they may do."""
            principal = require_signed_in(verifier)
            return {"subject": principal.subject, "name": principal.name or principal.subject,
                    "language": principal.language, "roles": list(principal.roles),
                    "organization_id": principal.organization_id, "permissions": sorted(principal.permissions)}

    return blp
