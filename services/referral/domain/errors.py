"""What can go wrong in a referral, as exceptions the API maps to answers.

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
    """The actor's organization is not the side of the referral that may take this action."""

    def __init__(self, action: str, message: str):
        super().__init__(message)
        self.action = action
