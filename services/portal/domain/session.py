"""A person's session in the portal: who they are, their tokens, and when it ends.

Pure rules, no Flask: the entrypoint keeps a `Session` in a signed cookie and asks it, on
every request, whether it is still alive and whether its token needs renewing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

RENEW_BEFORE_SECONDS = 120  # renew a token this long before it expires, not after


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

    def idle_for(self, now: float) -> float:
        return max(0.0, now - self.last_seen)

    def expired(self, now: float, idle_limit_seconds: float) -> bool:
        """Idle too long (a shared office computer left alone), or a token past its end that
        can no longer be renewed."""
        if self.idle_for(now) >= idle_limit_seconds:
            return True
        return now >= self.tokens.expires_at and not self.renewable

    @property
    def renewable(self) -> bool:
        return self.via == "local" or bool(self.tokens.refresh_token)

    def needs_renewal(self, now: float) -> bool:
        return now >= self.tokens.expires_at - RENEW_BEFORE_SECONDS

    def seen(self, now: float) -> "Session":
        return replace(self, last_seen=now)

    def renewed(self, tokens: Tokens) -> "Session":
        return replace(self, tokens=tokens)
