"""Identity and permissions from signed bearer tokens (JWT), shared by every service.

Roles are what an identity provider assigns; permissions are what code checks. The map
between them lives here, once. In the embedded default Haven is its own issuer: an EC key
pair in HAVEN_DATA_DIR signs short-lived tokens (`haven token`), and every service
verifies with the public half. In production tokens come from an OIDC provider and are
verified against its JWKS (HAVEN_AUTH_JWKS_URL).
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import g, request

from .errors import Problem, problem_type

ROLES = ("caseworker", "agency_staff", "supervisor", "directory_admin", "ops", "admin")

# Shelter addresses go to those who must know them to do their job, and nobody else.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "caseworker": frozenset(),
    "agency_staff": frozenset({"directory:capacity"}),
    "supervisor": frozenset({"directory:confidential"}),
    "directory_admin": frozenset({"directory:write", "directory:capacity", "directory:confidential"}),
    "ops": frozenset(),
    "admin": frozenset({"directory:write", "directory:capacity", "directory:confidential"}),
}
ALGORITHM = "ES256"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: tuple[str, ...] = ()
    organization_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal(subject="anonymous")


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


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


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    jwks_url: str | None = None
    local_keys: LocalKeys | None = None
    leeway_seconds: int = 30

    def _key(self, token: str):
        if self.jwks_url:
            return _jwks_client(self.jwks_url).get_signing_key_from_jwt(token).key
        return self.local_keys.public_key()

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._key(token), algorithms=["ES256", "RS256"], audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway_seconds,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError, ValueError) as exc:
            raise InvalidToken(f"The token is not valid ({type(exc).__name__}).") from None
        roles = tuple(r for r in claims.get("roles", ()) if r in ROLES)
        return Principal(subject=str(claims["sub"]), roles=roles, organization_id=claims.get("org"),
                         permissions=permissions_for(roles))


_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_client(url: str) -> jwt.PyJWKClient:
    if url not in _jwks_clients:
        _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
    return _jwks_clients[url]


class InvalidToken(Exception):
    pass


def mint_token(keys: LocalKeys, *, issuer: str, audience: str, subject: str, roles: Iterable[str],
               organization_id: str | None = None, ttl_seconds: int = 3600) -> str:
    """Sign a token with the embedded issuer's key (the `haven token` command, tests)."""
    issued = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": subject, "roles": list(roles), "iat": issued,
              "exp": issued + ttl_seconds, "jti": uuid.uuid4().hex}
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
            raise _unauthorized(str(exc))
    g.haven_principal = principal
    return principal


def require(verifier: TokenVerifier, permission: str) -> Principal:
    principal = current_principal(verifier)
    if principal is ANONYMOUS:
        raise _unauthorized("Sign in: this action needs a bearer token.")
    if not principal.can(permission):
        raise Problem(403, f"This action needs the '{permission}' permission.", title="Forbidden",
                      type=problem_type("forbidden"))
    return principal
