"""What a receiving agency's inbox puts first, as pure rules (no Flask, no HTTP).

Emergency before high before normal; within one urgency, the deadline nearest (or most
overdue) first: a shelter worker on a night shift sees at the top the survivor who has
waited longest past the time allowed. The deadline that matters is the one the agency owes
next: confirm it has seen the referral (while sent), then decide (while acknowledged).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from .times import moment

URGENCY_ORDER = {"emergency": 0, "high": 1, "normal": 2}
WAITING = ("sent", "acknowledged")  # the agency owes an answer
IN_HAND = ("accepted",)  # help under way, to be completed
OPEN = WAITING + IN_HAND
CLOSED = ("completed", "declined", "cancelled")
UNDONE = ("pending", "overdue")  # deadline states of a step not yet taken
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Deadline:
    kind: str  # acknowledge | decide
    due_at: datetime

    def seconds_left(self, now: datetime) -> float:
        """Negative once overdue."""
        return (self.due_at - now).total_seconds()

    def overdue(self, now: datetime) -> bool:
        return self.seconds_left(now) < 0


def deadline_owed(deadlines: Iterable[dict]) -> Deadline | None:
    """The earliest deadline of a step still undone (the API's `deadlines` of one referral)."""
    owed = [Deadline(d.get("kind", ""), due) for d in deadlines or ()
            if d.get("state") in UNDONE and d.get("done_at") is None and (due := moment(d.get("due_at")))]
    return min(owed, key=lambda d: d.due_at, default=None)


@dataclass(frozen=True)
class Entry:
    """One referral of the inbox: the API's summary (no personal fields), the deadline the
    agency owes (None when it owes none, or when its deadlines could not be read), and the
    names of its service and of the organization that sent it."""
    referral: dict
    deadline: Deadline | None = None
    service_name: str | None = None
    sender_name: str | None = None

    @property
    def id(self) -> str:
        return str(self.referral.get("id"))

    @property
    def status(self) -> str:
        return str(self.referral.get("status"))

    @property
    def urgency(self) -> str:
        return str(self.referral.get("urgency"))

    @property
    def created_at(self) -> datetime | None:
        return moment(self.referral.get("created_at"))


def priority(entry: Entry) -> tuple:
    """The sort key: urgency, then the deadline owed (none last), then the oldest first."""
    return (URGENCY_ORDER.get(entry.urgency, len(URGENCY_ORDER)),
            entry.deadline.due_at if entry.deadline else FAR_FUTURE,
            entry.created_at or FAR_FUTURE, entry.id)


def by_priority(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=priority)


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.created_at or FAR_FUTURE), reverse=True)


def fingerprint(summaries: Iterable[dict]) -> str:
    """A short value that changes when a referral arrives, leaves or changes status: the
    live inbox asks for the whole list again only then."""
    parts = sorted(f"{s.get('id')}:{s.get('status')}" for s in summaries)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


__all__ = ["CLOSED", "Deadline", "Entry", "IN_HAND", "OPEN", "URGENCY_ORDER", "WAITING", "by_priority",
           "deadline_owed", "fingerprint", "newest_first", "priority"]
