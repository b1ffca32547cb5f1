"""What one row of a referral list says about the agency's deadlines and about who was told,
as pure rules (no Flask, no HTTP).

The referral API's list gives each row its deadlines (how each stands now) and what notify
reported of each message (channel, recipient, final outcome): no personal field, no address.
A row says first what is owed next and whether it is late; then, in one short line, whether
the agency was reached; the details of every message are a click away.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from .times import moment

DONE_STATES = ("met", "missed")  # the step was taken: in time, or late
LATE_STATES = ("overdue", "missed")
AGENCY, REFERRER = "organization", "user"  # notify's recipient kinds (the agency; a person who referred)
CHANNEL_ORDER = ("email", "sms", "webhook")


@dataclass(frozen=True)
class DeadlineMark:
    """One of the agency's deadlines as it stands (the API's `deadlines` item)."""
    kind: str  # acknowledge | decide
    due_at: datetime
    done_at: datetime | None
    state: str  # pending | overdue | met | missed | not_needed
    escalated: bool = False

    @property
    def done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def owed(self) -> bool:
        return self.done_at is None and self.state in ("pending", "overdue")


def deadline_marks(deadlines: Iterable[dict] | None) -> tuple[DeadlineMark, ...]:
    """The API's deadlines, read; an item without a readable time is left out, not guessed."""
    marks = []
    for item in deadlines or ():
        due = moment(item.get("due_at")) if isinstance(item, dict) else None
        if due is None:
            continue
        marks.append(DeadlineMark(str(item.get("kind") or ""), due, moment(item.get("done_at")),
                                  str(item.get("state") or ""), bool(item.get("escalated"))))
    return tuple(sorted(marks, key=lambda m: m.due_at))


def next_owed(marks: Iterable[DeadlineMark]) -> DeadlineMark | None:
    """The earliest deadline of a step still undone: what the agency owes next."""
    return min((m for m in marks if m.owed), key=lambda m: m.due_at, default=None)


def is_late(marks: Iterable[DeadlineMark], now: datetime) -> bool:
    """A deadline passed undone (the API's state, or the clock since the page was read)."""
    return any(m.state == "overdue" or (m.owed and m.due_at < now) for m in marks)


@dataclass(frozen=True)
class Notice:
    """One message notify sent about the referral, and how it ended."""
    event_kind: str  # created, acknowledged, ..., escalated
    channel: str  # email | sms | webhook
    recipient_kind: str  # organization (the agency) | user (the referrer, or a supervisor)
    outcome: str  # delivered | dead | undeliverable
    attempts: int
    at: datetime | None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


def notices(notifications: Iterable[dict] | None) -> tuple[Notice, ...]:
    """The API's notifications, oldest first."""
    found = []
    for item in notifications or ():
        if not isinstance(item, dict) or not item.get("channel"):
            continue
        try:
            attempts = int(item.get("attempts") or 0)
        except (TypeError, ValueError):
            attempts = 0
        found.append(Notice(str(item.get("event_kind") or ""), str(item["channel"]),
                            str(item.get("recipient_kind") or ""), str(item.get("outcome") or ""), attempts,
                            moment(item.get("at"))))
    return tuple(sorted(found, key=lambda n: (n.at is None, n.at or datetime.min)))


@dataclass(frozen=True)
class Told:
    """Whether one recipient was reached, channel by channel. The API names no address, so
    two addresses on one channel (two webhooks) look alike: a channel is reached when any
    message on it arrived; `partial` are reached channels where a message still failed (no
    later message of the same step arrived: a retry that got through settles a failure)."""
    recipient_kind: str
    delivered: tuple[str, ...]
    failed: tuple[str, ...]  # nothing on this channel arrived
    partial: tuple[str, ...] = ()


def _channel_rank(channel: str) -> tuple:
    return (CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else len(CHANNEL_ORDER), channel)


def _unsettled(notice: Notice, later: Iterable[Notice]) -> bool:
    return not notice.delivered and not any(
        n.delivered and n.event_kind == notice.event_kind and (n.at or datetime.min) >= (notice.at or datetime.min)
        for n in later)


# Reminders to the referring organization's supervisors about a serious incident's written
# report: not news for the agency or the referrer, so not in the "who was told" line.
SUPERVISOR_REMINDERS = frozenset({"incident_due", "incident_missed"})


def told(found: Iterable[Notice]) -> tuple[Told, ...]:
    """The summary line's facts: the agency first, then the referrer's side."""
    by_channel: dict[tuple[str, str], list[Notice]] = {}
    for notice in found:
        if notice.event_kind in SUPERVISOR_REMINDERS:
            continue
        by_channel.setdefault((notice.recipient_kind, notice.channel), []).append(notice)
    summary = []
    for recipient in (AGENCY, REFERRER):
        channels = sorted((c for (r, c) in by_channel if r == recipient), key=_channel_rank)
        if not channels:
            continue
        sent = {c: by_channel[(recipient, c)] for c in channels}
        reached = tuple(c for c in channels if any(n.delivered for n in sent[c]))
        summary.append(Told(recipient, reached, tuple(c for c in channels if c not in reached),
                            tuple(c for c in reached if any(_unsettled(n, sent[c]) for n in sent[c]))))
    return tuple(summary)


__all__ = ["AGENCY", "DeadlineMark", "Notice", "REFERRER", "SUPERVISOR_REMINDERS", "Told", "deadline_marks", "is_late", "next_owed",
           "notices", "told"]
