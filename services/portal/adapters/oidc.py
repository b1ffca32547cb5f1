"""Signing in at an OpenID Connect provider: authorization code flow with PKCE (S256),
`state` and `nonce`.

The provider's discovery document names its endpoints; the ID token is verified with the
keys at its `jwks_uri` (issuer, audience = our client id, expiry, nonce). What the portal
then sends the services as the person's bearer is the provider's access token when it is a
JWT (the services verify it against HAVEN_AUTH_JWKS_URL), else the ID token: some
providers (oidc-provider-mock among them) issue opaque access tokens that only they can
read, and the services never call the provider per request. With the ID token as bearer,
set HAVEN_AUTH_AUDIENCE on the services to the portal's client id.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import jwt
import requests

from haven.platform.auth import InvalidToken, algorithms_for, signing_key

from ..domain import errors
from ..domain.session import Tokens

log = logging.getLogger("haven.portal.oidc")
DISCOVERY_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class Authorization:
    """One sign-in under way: where to send the browser, and what the callback must match."""
    url: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256: the provider learns only the hash; the code is useless without the verifier."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _is_jwt(token: str | None) -> bool:
    return bool(token) and token.count(".") == 2


class OpenIdProvider:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None = None, scopes: str = "openid profile",
                 redirect_url: str | None = None, timeout_seconds: float = 5, clock=time.time,
                 max_age_seconds: int | None = None):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        asked = scopes.split()
        self.scopes = " ".join(["openid", *[s for s in asked if s != "openid"]])
        self.redirect_url = redirect_url
        self.timeout = timeout_seconds
        self.clock = clock
        # The portal's idle limit, asked of the provider as `max_age`: on a shared computer the
        # provider's own session outlives the portal's, and the next person clicking "sign in"
        # must not become the last one without typing a password.
        self.max_age_seconds = max_age_seconds
        self._discovery: dict | None = None
        self._discovered_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None
        self.http = requests.Session()

    # --- the provider's metadata ---------------------------------------------------

    def discovery(self) -> dict:
        if self._discovery is None or self.clock() - self._discovered_at > DISCOVERY_LIFETIME_SECONDS:
            try:
                answer = self.http.get(f"{self.issuer}/.well-known/openid-configuration", timeout=self.timeout)
                answer.raise_for_status()
                document = answer.json()
            except (requests.RequestException, ValueError):
                log.warning("the identity provider's discovery document cannot be read")
                raise errors.ServiceDown("identity") from None
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                # OpenID Connect Discovery §4.3: a document for another issuer is not this provider's
                log.warning("the identity provider's discovery document names another issuer")
                raise errors.ServiceDown("identity")
            self._discovery, self._discovered_at = document, self.clock()
            self._jwks = jwt.PyJWKClient(document["jwks_uri"], cache_keys=False, lifespan=300,
                                         timeout=int(self.timeout) or 1)
        return self._discovery

    def origins(self) -> tuple[str, ...]:
        """Where the portal sends the browser (sign-in and sign-out pages): the issuer's
        origin, and its endpoints' once the discovery document has been read."""
        urls = [self.issuer]
        if self._discovery:
            urls += [self._discovery.get("authorization_endpoint"), self._discovery.get("end_session_endpoint")]
        found = []
        for url in urls:
            parts = urlsplit(url or "")
            if parts.scheme in ("http", "https") and parts.netloc:
                found.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(dict.fromkeys(found))

    # --- the flow --------------------------------------------------------------------

    def authorization(self, redirect_uri: str, *, language: str | None = None) -> Authorization:
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        redirect_uri = self.redirect_url or redirect_uri
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                 "scope": self.scopes, "state": state, "nonce": nonce,
                 "code_challenge": code_challenge(verifier), "code_challenge_method": "S256"}
        if language:
            query["ui_locales"] = language
        if self.max_age_seconds is not None:
            query["max_age"] = str(self.max_age_seconds)
        endpoint = self.discovery()["authorization_endpoint"]
        separator = "&" if "?" in endpoint else "?"
        return Authorization(f"{endpoint}{separator}{urlencode(query)}", state, nonce, verifier, redirect_uri)

    def exchange(self, code: str, *, code_verifier: str, nonce: str, redirect_uri: str) -> Tokens:
        """The callback's code for tokens; the ID token verified. Raises SignInRequired when
        the provider refuses (a used or forged code, a wrong verifier) or the ID token is bad."""
        body = self._token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                    "code_verifier": code_verifier})
        claims = self.verify_id_token(body.get("id_token"), nonce=nonce)
        return self._tokens(body, claims)

    def refresh(self, tokens: Tokens) -> Tokens:
        """Renew with the refresh token (the session calls this shortly before the bearer ends)."""
        if not tokens.refresh_token:
            raise errors.SignInRequired("no refresh token")
        body = self._token_request({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
        claims = self.verify_id_token(body["id_token"], nonce=None) if body.get("id_token") else None
        if not _is_jwt(body.get("access_token")) and claims is None:
            # Opaque access token and no new ID token: nothing the services could verify.
            raise errors.SignInRequired("the provider renewed no token the services can verify")
        renewed = self._tokens(body, claims)
        return Tokens(renewed.access_token, renewed.expires_at, renewed.refresh_token or tokens.refresh_token)

    def end_session_url(self, return_to: str) -> str | None:
        """Where to send the browser so the provider's own session ends too (RP-initiated
        logout), or None when the provider offers none."""
        endpoint = self.discovery().get("end_session_endpoint")
        if not endpoint:
            return None
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode({'client_id': self.client_id, 'post_logout_redirect_uri': return_to})}"

    # --- details ---------------------------------------------------------------------

    def _token_request(self, form: dict) -> dict:
        auth = None
        if self.client_secret:
            auth = (self.client_id, self.client_secret)  # client_secret_basic
        else:
            form = {**form, "client_id": self.client_id}  # a public client: PKCE is its proof
        try:
            answer = self.http.post(self.discovery()["token_endpoint"], data=form, auth=auth, timeout=self.timeout,
                                    headers={"Accept": "application/json"})
        except requests.RequestException:
            log.warning("the identity provider's token endpoint is not answering")
            raise errors.ServiceDown("identity") from None
        if answer.status_code >= 500:
            raise errors.ServiceDown("identity")
        try:
            body = answer.json()
        except ValueError:
            raise errors.ServiceDown("identity") from None
        if answer.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            log.info("the identity provider refused the token request",
                     extra={"error": body.get("error") if isinstance(body, dict) else None})
            raise errors.SignInRequired("provider refused")
        return body

    def verify_id_token(self, id_token: str | None, *, nonce: str | None) -> dict:
        if not _is_jwt(id_token):
            raise errors.SignInRequired("no ID token")
        self.discovery()
        try:
            header = jwt.get_unverified_header(id_token)
            key = signing_key(self._jwks, header.get("kid"))
            allowed = algorithms_for(key.key) & {key.algorithm_name}
            if header.get("alg") not in allowed:
                raise jwt.InvalidAlgorithmError("the token's algorithm does not fit the key")
            claims = jwt.decode(id_token, key.key, algorithms=[header["alg"]], audience=self.client_id,
                                issuer=self.issuer, leeway=30, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.PyJWKClientConnectionError:
            raise errors.ServiceDown("identity") from None
        except (jwt.PyJWTError, InvalidToken, ValueError, TypeError) as exc:
            log.warning("ID token refused", extra={"error": type(exc).__name__})
            raise errors.SignInRequired("ID token not valid") from None
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            log.warning("ID token refused: its nonce is not this sign-in's")
            raise errors.SignInRequired("nonce")
        # With max_age asked the provider must say when the person last authenticated
        # (OpenID Connect Core §3.1.2.1); checked when it does (oidc-provider-mock does not).
        auth_time = claims.get("auth_time")
        if nonce is not None and self.max_age_seconds is not None and isinstance(auth_time, (int, float)) \
                and self.clock() - auth_time > self.max_age_seconds + 30:
            log.warning("ID token refused: the person authenticated longer ago than the portal's idle limit")
            raise errors.SignInRequired("auth_time")
        return claims

    def _tokens(self, body: dict, id_claims: dict | None) -> Tokens:
        access = body["access_token"]
        if _is_jwt(access):
            expires_at = self.clock() + int(body.get("expires_in") or 300)
        else:
            # An opaque access token is no use to the services: the ID token is the bearer.
            access = body.get("id_token")
            expires_at = float(id_claims["exp"]) if id_claims else self.clock()
        return Tokens(access, expires_at, body.get("refresh_token"))
