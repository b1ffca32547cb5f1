"""The directory's refusals, in the words of its records. Each subclasses one of the
platform's (`haven.platform.refusals`); `entrypoints/problems.py` says how each is answered."""
from __future__ import annotations

from haven.platform import refusals


class NotFound(refusals.NotFound):
    def __init__(self, kind: str, id: str):
        super().__init__(f"{kind} {id} does not exist")
        self.kind = kind
        self.id = id


class VersionConflict(refusals.PreconditionFailed):
    """The caller edited an older version than the one stored."""

    def __init__(self, kind: str, id: str, expected: int, actual: int):
        super().__init__(f"{kind} {id} is at version {actual}, the change was made to version {expected}")
        self.expected = expected
        self.actual = actual


class InvalidReference(refusals.Invalid):
    """A record names something that does not exist (an area, a kind, an organization), or
    does not fit it (a shelter at a public location). The message is the whole detail."""

    def __init__(self, field: str, message: str):
        refusals.Refusal.__init__(self, message)  # not Invalid's "field: message": the detail is the message
        self.field = field
        self.message = message
        self.location = "json"


class InUse(refusals.Conflict):
    """A record cannot be removed while others refer to it."""


class NotOwnOrganization(refusals.NotPermitted):
    """Agency staff act on their own organization's services only."""
