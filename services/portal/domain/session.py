"""A person's session in the portal: who they are, their tokens, and when it ends.

Pure rules, no Flask: the entrypoint keeps a `Session` in a signed cookie and asks it, on
every request, whether it is still alive and whether its token needs renewing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

RENEW_BEFORE_SECONDS = 120  # renew a token at least this long before it expires, not after
RENEW_AT_MOST_EVERY_SECONDS = 60  # ...and, to last the idle window, no more often than this
# However busy the person, a session ends this long after signing in: a copy of its cookie
# (which the portal, keeping no store, cannot revoke) is not good for ever.
MAX_SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: float  # epoch seconds
    refresh_token: str | None = None  # an OpenID provider's; local tokens renew with themselves


@dataclass(frozen=True)
class Identity:
    subject: str
    name: str
    roles: tuple[str, ...]
    organization_id: str | None
    permissions: frozenset[str] = field(default_factory=frozenset)
    language: str | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def is_caseworker(self) -> bool:
        return "caseworker" in self.roles

    @property
    def is_agency_staff(self) -> bool:
        return "agency_staff" in self.roles

    @property
    def is_supervisor(self) -> bool:
        return "supervisor" in self.roles

    @property
    def may_override_consent(self) -> bool:
        return self.can("referral:consent_override")


@dataclass(frozen=True)
class Session:
    identity: Identity
    tokens: Tokens
    last_seen: float  # epoch seconds of the last request the person made (not a background poll)
    via: str = "local"  # "local" or "oidc": how to renew and how to sign out
    signed_in_at: float | None = None  # epoch seconds; None in a cookie of an older portal: last_seen counts

    def idle_for(self, now: float) -> float:
        return max(0.0, now - self.last_seen)

    def expired(self, now: float, idle_limit_seconds: float) -> bool:
        """Idle too long (a shared office computer left alone), signed in too long ago, or a
        token past its end that can no longer be renewed."""
        if self.idle_for(now) >= idle_limit_seconds:
            return True
        if now - (self.signed_in_at if self.signed_in_at is not None else self.last_seen) >= MAX_SESSION_SECONDS:
            return True
        return now >= self.tokens.expires_at and not self.renewable

    @property
    def renewable(self) -> bool:
        return self.via == "local" or bool(self.tokens.refresh_token)

    def needs_renewal(self, now: float, idle_limit_seconds: float = 0) -> bool:
        """Renew so that the token outlives the idle window that starts now: a person who
        steps away for a little less than the idle limit comes back still signed in. (A
        token the services issue for less than the idle limit is renewed on each request.)"""
        keep = max(RENEW_BEFORE_SECONDS, idle_limit_seconds - RENEW_AT_MOST_EVERY_SECONDS)
        return self.tokens.expires_at - now < keep

    def seen(self, now: float) -> "Session":
        return replace(self, last_seen=now)

    def renewed(self, tokens: Tokens) -> "Session":
        return replace(self, tokens=tokens)
