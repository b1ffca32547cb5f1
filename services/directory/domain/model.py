"""Directory domain: providers of help, in the words of HSDS and the GBV programme.

Pure Python: no Flask, no SQL. Every aggregate carries a `version` that grows by one on
each change; the API exposes it as an ETag so two administrators never silently
overwrite each other's edits.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class DirectoryError(Exception):
    pass


class NotFound(DirectoryError):
    def __init__(self, kind: str, id: str):
        super().__init__(f"{kind} {id} does not exist")
        self.kind = kind
        self.id = id


class VersionConflict(DirectoryError):
    """The caller edited an older version than the one stored."""

    def __init__(self, kind: str, id: str, expected: int, actual: int):
        super().__init__(f"{kind} {id} is at version {actual}, the change was made to version {expected}")
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class Organization:
    """An agency that provides services: a shelter operator, a social work centre, a
    district police station, the provincial Women's Union."""

    id: str
    name: str
    description: str = ""
    email: str | None = None
    website: str | None = None
    version: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    EDITABLE = ("name", "description", "email", "website")

    def revise(self, expected_version: int, **changes) -> "Organization":
        if expected_version != self.version:
            raise VersionConflict("organization", self.id, expected_version, self.version)
        unknown = set(changes) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        return replace(self, **changes, version=self.version + 1, updated_at=now())
