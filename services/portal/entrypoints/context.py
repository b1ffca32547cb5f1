"""What a portal page reads from its app and its request: the wired use cases, the
signed-in person and their token."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g

from ..domain.errors import NotPermitted, SignInRequired
from ..domain.session import Identity, Session
from ..service_layer.ports import ServiceApi


@dataclass
class Wiring:
    """What bootstrap built: the three APIs, the sign-in use case, and the pages' use cases
    by name (bootstrap.use_cases)."""
    directory: ServiceApi
    referral: ServiceApi
    notify: ServiceApi
    signing_in: Any
    oidc: Any = None  # the OpenID Connect client, when HAVEN_AUTH_OIDC_ISSUER is set
    use_cases: dict = field(default_factory=dict)


def wiring() -> Wiring:
    return current_app.extensions["haven.portal"]


def use_case(name: str):
    return wiring().use_cases[name]


def session_or_none() -> Session | None:
    return g.get("portal_session")


def signed_in() -> Session:
    """The person's session; raises SignInRequired (the page then asks them to sign in and
    brings them back) when there is none."""
    found = session_or_none()
    if found is None:
        raise SignInRequired("not signed in")
    return found


def person() -> Identity:
    return signed_in().identity


def token() -> str:
    return signed_in().tokens.access_token


def require(permission: str) -> Identity:
    identity = person()
    if not identity.can(permission):
        raise NotPermitted(permission)
    return identity
