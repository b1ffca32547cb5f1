"""What can go wrong in a referral, as exceptions the API maps to answers
(`entrypoints/problems.py`). The refusals of the use cases around the rules (no such
referral, a stale version, the directory) are `service_layer/errors.py`.

Pure Python like the rest of the domain: these classes subclass nothing but the standard
library's, so the answer table names each one (a refusal of the platform's vocabulary,
`haven.platform.refusals`, would need an import from outside the standard library).

Messages name fields and codes, never values: they end up in logs, and a value could be
a survivor's phone number.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base of every referral rule violation."""


class InvalidReferral(DomainError, ValueError):
    """A value the domain cannot accept: an unknown urgency, an empty reason, a naive time.
    `field` is the dotted path of the offending field (`consent.scope`, `reason`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class ConsentRequired(DomainError):
    """No informed consent that is valid at the time of the referral, and no supervisor
    override either. `field` says which part is missing or wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class IllegalTransition(DomainError):
    """The action does not apply to a referral in this status (the API answers 409)."""

    def __init__(self, status: str, action: str, message: str | None = None):
        super().__init__(message or f"cannot {action} a referral that is {status}")
        self.status = status
        self.action = action


class NotPermitted(DomainError):
    """The actor may not take this action: her organization is not the side of the
    referral that may, or she lacks the permission it needs (overriding consent)."""

    def __init__(self, action: str, message: str):
        super().__init__(message)
        self.action = action
