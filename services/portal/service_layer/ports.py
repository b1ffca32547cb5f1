"""What the portal's use cases need from outside, as small interfaces (adapters implement
them; tests give fakes). Every call takes the signed-in person's token: the portal acts
with that person's rights and no others, and keeps nothing of what it is given.

Every method may raise the refusals of domain/errors.py (ServiceDown when a service does
not answer, Rejected with field errors, NotFound, Conflict, Stale, SignInRequired...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..domain.session import Identity, Tokens


@dataclass(frozen=True)
class Reply:
    body: Any  # the decoded JSON
    etag: str | None = None  # the record's version, for If-Match on the next change
    headers: dict = field(default_factory=dict)


class ServiceApi(Protocol):
    """One of Haven's public HTTP APIs (directory, referral or notify)."""
    service: str

    def get(self, path: str, token: str | None, params: dict | None = None) -> Reply: ...

    def send(self, method: str, path: str, token: str | None, body: dict | None = None,
             headers: dict | None = None) -> Reply: ...


class IdentityPort(Protocol):
    """Local users, through the services' /v1/auth endpoints."""

    def sign_in(self, username: str, password: str, client_address: str) -> Tokens: ...

    def refresh(self, tokens: Tokens) -> Tokens: ...

    def identify(self, access_token: str) -> Identity: ...
