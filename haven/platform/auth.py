"""Identity and permissions from signed bearer tokens (JWT), shared by every service.

In the embedded default Haven is its own issuer: an EC key
pair in HAVEN_DATA_DIR signs short-lived tokens (`POST /v1/auth/login` for the local users
of `haven users`, `haven token` for scripts), and every service verifies with the public
half. In production tokens come from an OIDC provider and are verified against its JWKS
(HAVEN_AUTH_JWKS_URL); the roles come from its `roles` claim, the organization from `org`.

Who may do what (roles, permissions, `Principal`) is `haven/platform/principal.py`, pure
Python, so a service layer can take a caller without importing Flask or JWT.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from flask import g, request

from .errors import Problem, problem_type
from .principal import ANONYMOUS, ORGANIZATION_ROLES, ROLES, Principal, permissions_for

log = logging.getLogger("haven.auth")

ALGORITHM = "ES256"


class LocalKeys:
    """The embedded issuer's key pair, created on first use, readable only by its owner."""

    def __init__(self, data_dir: str):
        self.path = os.path.join(data_dir, "auth", "signing-key.pem")

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        if not os.path.exists(self.path):
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            # Write aside, then link into place: link fails if another process won the race,
            # and nobody ever reads a half-written key.
            temporary = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                pass
            finally:
                os.remove(temporary)
        with open(self.path, "rb") as fh:
            return serialization.load_pem_private_key(fh.read(), password=None)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key().public_key()


# A token longer than this is refused before it is even decoded. Identity providers' tokens
# are a few KB; gunicorn refuses header lines over 8 KB anyway, this bounds every other server.
MAX_TOKEN_LENGTH = 16 * 1024

# Which algorithms may verify a signature is decided by the key, never by the token: a
# token's header is written by whoever forged it (RFC 8725 §3.1). One allow-list per key
# type; symmetric keys (HS*) and `none` fit no key, so a public key can never be used as
# an HMAC secret.
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_MIN_RSA_BITS = 2048


def algorithms_for(key) -> frozenset[str]:
    """The signature algorithms this public key may verify; empty for a key we never trust."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        algorithm = _EC_ALGORITHMS.get(key.curve.name)
        return frozenset({algorithm}) if algorithm else frozenset()
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA_ALGORITHMS if key.key_size >= _MIN_RSA_BITS else frozenset()
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return frozenset({"EdDSA"})
    return frozenset()


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    jwks_url: str | None = None
    local_keys: LocalKeys | None = None
    leeway_seconds: int = 30
    # A signed-in person's every page makes API calls with the same token, and checking an
    # ES256 signature costs about half a millisecond of a search's ten. A token verified
    # here is trusted again, as the same Principal, for at most `reverify_seconds` and never
    # past its own expiry: a key the provider withdrew is refused at most that much later
    # than the key set's own 5-minute cache allows. Only verified tokens are kept, keyed by
    # the whole token, and a bounded number of them.
    reverify_seconds: float = 60.0
    cached_tokens: int = 4096
    _verified: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def _key(self, header: dict) -> tuple[object, frozenset[str]]:
        """The key that must have signed a token with this header, and the algorithms it allows."""
        if not self.jwks_url:
            key = self.local_keys.public_key()
            return key, algorithms_for(key)
        try:
            jwk = signing_key(_jwks_client(self.jwks_url), header.get("kid"))
        except jwt.PyJWKClientConnectionError:
            # Not the caller's fault: say so, instead of calling a good token invalid.
            log.warning("the identity provider's JWKS cannot be fetched")
            raise IdentityProviderUnavailable() from None
        # A JWK names its algorithm (`alg`) or PyJWT infers the one its type implies
        # (RS256 for RSA, the curve's ES* for EC); either way it must fit the key itself.
        return jwk.key, algorithms_for(jwk.key) & {jwk.algorithm_name}

    def verify(self, token: str) -> Principal:
        with self._lock:
            kept = self._verified.get(token)
        if kept is not None and time.monotonic() < kept[1] and time.time() < kept[2]:
            return kept[0]
        principal, expires = self._verify(token)
        with self._lock:
            self._verified[token] = (principal, time.monotonic() + self.reverify_seconds, expires + self.leeway_seconds)
            while len(self._verified) > self.cached_tokens:
                self._verified.popitem(last=False)  # oldest first
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = _unverified_header(token)
            key, algorithms = self._key(header)
            if header["alg"] not in algorithms:
                raise InvalidToken("The token's algorithm does not fit the signing key.")
            claims = jwt.decode(token, key, algorithms=[header["alg"]], audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway_seconds,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        # ValueError and TypeError too: whatever a forged token makes the JWT and crypto
        # libraries trip over is the token's fault, a 401, never a 500.
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(f"The token is not valid ({type(exc).__name__}).") from None
        granted = claims.get("roles") or ()
        if isinstance(granted, str):  # some providers send a single role as a string
            granted = (granted,)
        roles = tuple(r for r in granted if r in ROLES) if isinstance(granted, (list, tuple)) else ()
        organization = claims.get("org")
        name = claims.get("name") or claims.get("preferred_username") or ""
        locale = claims.get("locale")
        return Principal(subject=str(claims["sub"]), roles=roles,
                         organization_id=str(organization) if organization not in (None, "") else None,
                         permissions=permissions_for(roles), name=str(name)[:200],
                         language=str(locale)[:2].lower() if isinstance(locale, str) and locale else None
                         ), float(claims["exp"])


def _unverified_header(token: str) -> dict:
    """The token's JOSE header, checked for shape only: nothing in it is trusted yet."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
    if token.count(".") != 2:
        raise InvalidToken("The token is not a signed JWT (three dot-separated parts).")
    header = jwt.get_unverified_header(token)  # DecodeError unless base64url of a JSON object
    if not isinstance(header.get("alg"), str):
        raise InvalidToken("The token's header names no algorithm.")
    if not isinstance(header.get("kid", ""), str):
        raise InvalidToken("The token's key id is not a string.")
    return header


def signing_key(client: jwt.PyJWKClient, kid: str | None) -> jwt.PyJWK:
    """The key a token names (`kid`); a token naming none (some providers, oidc-provider-mock
    among them, sign with their one key and say no `kid`) only when the set holds one
    signing key: with several, guessing which one would let any of them sign anything."""
    if kid:
        return client.get_signing_key(kid)
    keys = client.get_signing_keys()
    if len(keys) != 1:
        raise InvalidToken("The token names no signing key (kid) and the provider has several.")
    return keys[0]


_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_client(url: str) -> jwt.PyJWKClient:
    # The key set is cached for 5 minutes and an unknown `kid` refetches it at most every
    # 30 s, so forged key ids cannot flood the provider. No per-kid cache (cache_keys): it
    # never expires, so a key the provider withdrew would stay trusted until a restart.
    if url not in _jwks_clients:
        _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=5, cooldown_duration=30)
    return _jwks_clients[url]


class InvalidToken(Exception):
    pass


class IdentityProviderUnavailable(Exception):
    """The identity provider's keys cannot be fetched: no token can be checked for now."""


def mint_token(keys: LocalKeys, *, issuer: str, audience: str, subject: str, roles: Iterable[str],
               organization_id: str | None = None, ttl_seconds: int = 3600,
               extra_claims: dict | None = None) -> str:
    """Sign a token with the embedded issuer's key (the login endpoint, `haven token`, tests)."""
    issued = int(time.time())
    claims = {**(extra_claims or {}), "iss": issuer, "aud": audience, "sub": subject, "roles": list(roles),
              "iat": issued, "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex}
    if organization_id:
        claims["org"] = organization_id
    return jwt.encode(claims, keys.private_key(), algorithm=ALGORITHM)


# --- Flask side ------------------------------------------------------------------------

def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, title="Unauthorized", type=problem_type("unauthorized"),
                   headers={"WWW-Authenticate": 'Bearer realm="haven"'})


def current_principal(verifier: TokenVerifier) -> Principal:
    """The caller, from the Authorization header; anonymous without one; 401 if forged or expired."""
    if "haven_principal" in g:
        return g.haven_principal
    header = request.headers.get("Authorization", "")
    if not header:
        principal = ANONYMOUS
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Use 'Authorization: Bearer <token>'.")
        try:
            principal = verifier.verify(token.strip())
        except InvalidToken as exc:
            raise _unauthorized(str(exc)) from None
        except IdentityProviderUnavailable:
            raise Problem(503, "The identity provider cannot be reached to check the token. Try again shortly.",
                          title="Identity provider unavailable", type=problem_type("identity-provider-unavailable"),
                          headers={"Retry-After": "30"}) from None
    g.haven_principal = principal
    return principal


def _forbidden(detail: str, kind: str = "forbidden") -> Problem:
    return Problem(403, detail, title="Forbidden", type=problem_type(kind))


def require(verifier: TokenVerifier, permission: str) -> Principal:
    """The caller, if signed in and allowed to `permission`: 401 otherwise, 403 when the
    permission is not theirs, or is theirs only for an organization their token does not name."""
    principal = current_principal(verifier)
    if principal is ANONYMOUS:
        raise _unauthorized("Sign in: this action needs a bearer token.")
    if not principal.can(permission):
        raise _forbidden(f"This action needs the '{permission}' permission.")
    if principal.limited_to_organization(permission):
        require_organization(principal)
    return principal


def require_organization(principal: Principal) -> str:
    """The caller's organization id; 403 when the token names none. For code that filters
    by it (the referrals addressed to an agency, its webhooks)."""
    if not principal.organization_id:
        roles = ", ".join(sorted(set(principal.roles) & ORGANIZATION_ROLES)) or "this"
        raise _forbidden(f"Your {roles} account is not bound to an organization: ask an administrator "
                         "to set one (the token's 'org' claim).", "no-organization")
    return principal.organization_id


def require_signed_in(verifier: TokenVerifier) -> Principal:
    """Any signed-in caller, whatever their roles (401 for anonymous callers)."""
    principal = current_principal(verifier)
    if principal is ANONYMOUS:
        raise _unauthorized("Sign in: this action needs a bearer token.")
    return principal
