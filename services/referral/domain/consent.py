"""Consent first: no referral without the survivor's informed consent, recorded.

The one exception (DOMAIN.md) is immediate danger to life: a supervisor may override,
and the override is recorded with its reason. Whether the person holds the
`referral:consent_override` permission is the service layer's check; this module checks
that the record itself makes sense and that the referral has one or the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import checks
from .client import CONSENT_SCOPES, PersonalDetails
from .errors import ConsentRequired, InvalidReferral

# Overriding consent is for immediate danger to life, which is what risk level `severe` means.
OVERRIDE_RISK_LEVELS = ("severe",)


@dataclass(frozen=True)
class Consent:
    """The survivor's answer, as the caseworker recorded it. `given=False` records a refusal:
    a referral can then go ahead only under an override. `scope` lists what may be shared
    with the receiving agency (see `client.SCOPE_FIELDS`); an empty scope consents to the
    referral itself and to nothing personal."""

    given: bool
    obtained_by: str  # user id of the caseworker who asked
    obtained_at: datetime
    scope: tuple[str, ...] = ()
    expires_at: datetime | None = None

    def __post_init__(self):
        if not isinstance(self.given, bool):
            raise InvalidReferral("consent.given", "must be true or false")
        object.__setattr__(self, "obtained_by", checks.identifier(self.obtained_by, "consent.obtained_by"))
        object.__setattr__(self, "obtained_at", checks.utc(self.obtained_at, "consent.obtained_at"))
        object.__setattr__(self, "expires_at", checks.utc(self.expires_at, "consent.expires_at", required=False))
        if isinstance(self.scope, str):
            raise InvalidReferral("consent.scope", "must be a list")
        for item in self.scope:
            checks.code(item, "consent.scope", CONSENT_SCOPES)
        object.__setattr__(self, "scope", tuple(dict.fromkeys(self.scope)))  # order kept, duplicates dropped
        if self.expires_at is not None and self.expires_at <= self.obtained_at:
            raise InvalidReferral("consent.expires_at", "must be after consent.obtained_at")

    def problem_at(self, at: datetime) -> tuple[str, str] | None:
        """(field, why) if this consent does not cover a referral made at `at`, else None."""
        if not self.given:
            return "consent.given", "the survivor did not consent"
        if self.obtained_at > at:
            return "consent.obtained_at", "is later than the referral; consent must come first"
        if self.expires_at is not None and self.expires_at <= at:
            return "consent.expires_at", "the consent had expired when the referral was made"
        return None


@dataclass(frozen=True)
class ConsentOverride:
    """A supervisor's decision to refer without valid consent because a life is in danger.
    `reason` is free text and therefore personal (hidden like personal details)."""

    by: str  # user id of the supervisor
    at: datetime
    reason: str = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "by", checks.identifier(self.by, "override.by"))
        object.__setattr__(self, "at", checks.utc(self.at, "override.at"))
        reason = checks.text(self.reason, "override.reason", 2000)
        if reason is None:
            raise ConsentRequired("override.reason", "an override of consent must say why")
        object.__setattr__(self, "reason", reason)


def require_consent(consent: Consent | None, override: ConsentOverride | None, *, at: datetime,
                    risk_level: str, personal: PersonalDetails | None) -> None:
    """Refuse a referral made at `at` that neither valid consent nor an override covers.

    With valid consent and no override, personal details must stay inside the consent's
    scope: what she did not agree to share is never stored with the referral. An override
    lifts the scope too (whoever overrides has judged what the agency must know to keep
    her alive, and is audited for it); it is accepted only at risk level `severe`.
    """
    if override is not None:
        if risk_level not in OVERRIDE_RISK_LEVELS:
            raise ConsentRequired("override", "consent may be overridden only when the risk level is severe "
                                  "(immediate danger to life)")
        if override.at > at:
            raise ConsentRequired("override.at", "is later than the referral; the override must come first")
        return
    if consent is None:
        raise ConsentRequired("consent", "a referral needs the survivor's recorded consent or a supervisor override")
    problem = consent.problem_at(at)
    if problem is not None:
        raise ConsentRequired(problem[0], f"{problem[1]}; record a new consent or a supervisor override")
    outside = personal.outside(consent.scope) if personal is not None else ()
    if outside:
        raise ConsentRequired(f"personal.{outside[0]}", f"the consent's scope does not allow sharing "
                              f"{', '.join(outside)}")
