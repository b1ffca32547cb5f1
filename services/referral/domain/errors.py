"""What can go wrong in a referral, as exceptions the API maps to answers
(`entrypoints/problems.py`). The refusals of the use cases around the rules (no such
referral, a stale version, the directory) are `service_layer/errors.py`.

Each is one of the platform's refusals (`haven.platform.refusals`, pure Python like the
rest of the domain), so a rule the answer table does not name yet is still answered as
its kind (a 422, a 409, a 403), never as a 500.

Messages name fields and codes, never values: they end up in logs, and a value could be
a survivor's phone number.
"""
from __future__ import annotations

import haven.platform.refusals as refusals


class DomainError(refusals.Refusal):
    """Base of every referral rule violation."""


class InvalidReferral(DomainError, refusals.Invalid, ValueError):
    """A value the domain cannot accept: an unknown urgency, an empty reason, a naive time.
    `field` is the dotted path of the offending field (`consent.scope`, `reason`)."""


class ConsentRequired(DomainError, refusals.Invalid):
    """No informed consent that is valid at the time of the referral, and no supervisor
    override either. `field` says which part is missing or wrong."""


class IllegalTransition(DomainError, refusals.Conflict):
    """The action does not apply to a referral in this status (the API answers 409)."""

    def __init__(self, status: str, action: str, message: str | None = None):
        super().__init__(message or f"cannot {action} a referral that is {status}")
        self.status = status
        self.action = action


class NotPermitted(DomainError, refusals.NotPermitted):
    """The actor may not take this action: her organization is not the side of the
    referral that may, or she lacks the permission it needs (overriding consent)."""

    def __init__(self, action: str, message: str):
        super().__init__(message)
        self.action = action
