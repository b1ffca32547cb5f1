"""The few ways a use case refuses a request, shared by every service.

Pure Python (a service's `domain/` may subclass these): a rule says *what* went wrong; each
service's table in `entrypoints/problems.py` says which problem+json answers it, and
`haven.platform.errors.register_problems` installs that table. A refusal a table does not
name is answered by the nearest base class below (a `NotFound` subclass is a 404 even
before anyone maps it), so a new rule never becomes a 500.

Messages name fields and codes, never values: they reach logs and answers, and a value
could be a survivor's phone number.
"""
from __future__ import annotations


class Refusal(Exception):
    """A request the service will not carry out; nothing was changed."""


class NotFound(Refusal):
    """No such record, or none the caller may see (a 404 either way: no leak)."""


class NotPermitted(Refusal):
    """The caller is who they say, but may not do this (a permission or a side is missing)."""


class Conflict(Refusal):
    """The record is not in a state that allows this (its status, or something that uses it)."""


class PreconditionFailed(Refusal):
    """The caller acted on a version that is no longer the stored one."""


class Invalid(Refusal):
    """Well-formed input the rules cannot accept. `field` is the dotted path of the
    offending field (`consent.scope`), `location` where it was sent (json, query, headers)."""

    def __init__(self, field: str, message: str, *, location: str = "json"):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.location = location


class Unavailable(Refusal):
    """Something the use case needs (another service, a key) cannot be reached now; retry."""


__all__ = ["Conflict", "Invalid", "NotFound", "NotPermitted", "PreconditionFailed", "Refusal", "Unavailable"]
