"""Response deadlines: how long a receiving agency may take, by urgency.

Both deadlines run from the moment the referral was sent: `decide` measures how long the
survivor waits for a yes or no, whatever happened in between. Deadlines are computed from
the policy in force, not stored: changing the policy moves the deadlines of referrals
still waiting.

Escalation is an alarm for a step still undone when the deadline passes, raised once per
deadline and never again. A step done late but before the scheduler looked raises no
alarm (there is nobody left to chase); its lateness shows in `time_to_acknowledge` /
`time_to_decision`, which is what the KPIs count. A final referral raises nothing.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import checks
from .errors import InvalidReferral
from .events import Escalated
from .model import ACKNOWLEDGE, URGENCIES, Deadline, Referral

DECIDE = "decide"
DEADLINE_KINDS = (ACKNOWLEDGE, DECIDE)

DEFAULT_ACKNOWLEDGE = {"emergency": timedelta(minutes=15), "high": timedelta(hours=4), "normal": timedelta(hours=24)}
DEFAULT_DECIDE = {"emergency": timedelta(hours=1), "high": timedelta(hours=24), "normal": timedelta(hours=72)}

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class SlaPolicy:
    """Time allowed to acknowledge and to decide, per urgency. Every urgency must be
    covered, every time positive, and deciding may not be due before acknowledging."""

    acknowledge: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_ACKNOWLEDGE))
    decide: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_DECIDE))

    def __post_init__(self):
        for kind in DEADLINE_KINDS:
            limits = dict(getattr(self, kind))
            for urgency in URGENCIES:
                limit = limits.get(urgency)
                if not isinstance(limit, timedelta) or limit <= timedelta(0):
                    raise InvalidReferral(f"sla.{kind}.{urgency}", "must be a positive duration")
            if set(limits) - set(URGENCIES):
                raise InvalidReferral(f"sla.{kind}", f"urgencies are {', '.join(URGENCIES)}")
            object.__setattr__(self, kind, limits)
        for urgency in URGENCIES:
            if self.decide[urgency] < self.acknowledge[urgency]:
                raise InvalidReferral(f"sla.decide.{urgency}", "cannot be shorter than the time to acknowledge")

    def allowed(self, kind: str, urgency: str) -> timedelta:
        return getattr(self, kind)[urgency]

    @classmethod
    def parse(cls, text: str | None) -> SlaPolicy:
        """From a config value such as `emergency=15m/1h, high=4h/24h, normal=1d/3d`
        (acknowledge/decide; units m, h, d). Urgencies left out keep their defaults;
        None or blank gives the defaults."""
        acknowledge, decide = dict(DEFAULT_ACKNOWLEDGE), dict(DEFAULT_DECIDE)
        for part in (text or "").split(","):
            if not part.strip():
                continue
            urgency, _, times = part.partition("=")
            urgency = urgency.strip()
            if urgency not in URGENCIES:
                raise InvalidReferral("sla", f"unknown urgency {urgency!r}; urgencies are {', '.join(URGENCIES)}")
            ack, slash, dec = times.partition("/")
            if not slash:
                raise InvalidReferral(f"sla.{urgency}", "must be `<acknowledge>/<decide>`, e.g. 15m/1h")
            acknowledge[urgency] = _duration(ack, f"sla.{urgency}")
            decide[urgency] = _duration(dec, f"sla.{urgency}")
        return cls(acknowledge, decide)

    @classmethod
    def from_minutes(cls, acknowledge: Mapping[str, int], decide: Mapping[str, int]) -> SlaPolicy:
        """From minutes per urgency (missing urgencies keep their defaults)."""
        return cls({**DEFAULT_ACKNOWLEDGE, **{u: timedelta(minutes=m) for u, m in acknowledge.items()}},
                   {**DEFAULT_DECIDE, **{u: timedelta(minutes=m) for u, m in decide.items()}})


def _duration(value: str, field: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if not match:
        raise InvalidReferral(field, "durations look like 15m, 4h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def deadlines(referral: Referral, policy: SlaPolicy) -> tuple[Deadline, Deadline]:
    """Both deadlines of a referral (acknowledge, decide), whether met or not."""
    return tuple(Deadline(kind, referral.created_at + policy.allowed(kind, referral.urgency))
                 for kind in DEADLINE_KINDS)


# How a deadline stands, as the caseworker and the agency see it on the referral.
PENDING, OVERDUE, MET, MISSED, NOT_NEEDED = "pending", "overdue", "met", "missed", "not_needed"
DEADLINE_STATES = (PENDING, OVERDUE, MET, MISSED, NOT_NEEDED)


@dataclass(frozen=True)
class DeadlineProgress:
    """One deadline of one referral: when the step is due, when it was done (None while
    undone), and so whether it was met. `not_needed`: the referral ended (cancelled) before
    the step, so nobody owes it any more. `escalated`: the alarm was raised when it passed."""

    kind: str
    due_at: datetime
    done_at: datetime | None
    state: str
    escalated: bool


def progress(referral: Referral, policy: SlaPolicy, now: datetime) -> tuple[DeadlineProgress, ...]:
    """Both deadlines of the referral as they stand at `now`, under the policy in force."""
    now = checks.utc(now, "now")
    done = {ACKNOWLEDGE: referral.answered_at, DECIDE: referral.decided_at}
    report = []
    for deadline in deadlines(referral, policy):
        done_at = done[deadline.kind]
        if done_at is not None:
            state = MET if done_at <= deadline.due_at else MISSED
        elif not referral.awaiting(deadline.kind):
            state = NOT_NEEDED
        else:
            state = OVERDUE if now > deadline.due_at else PENDING
        report.append(DeadlineProgress(deadline.kind, deadline.due_at, done_at, state,
                                       deadline.kind in referral.escalations))
    return tuple(report)


def _open(referral: Referral, policy: SlaPolicy) -> list[Deadline]:
    """Deadlines that can still be missed: the step is undone (never so in a final status)
    and no alarm was raised."""
    escalated = referral.escalations
    return [d for d in deadlines(referral, policy) if referral.awaiting(d.kind) and d.kind not in escalated]


def overdue(referral: Referral, policy: SlaPolicy, now: datetime) -> list[Deadline]:
    now = checks.utc(now, "now")
    return [d for d in _open(referral, policy) if now > d.due_at]


def escalate_overdue(referral: Referral, policy: SlaPolicy, now: datetime) -> list[Escalated]:
    """Escalate every deadline missed by `now` and not yet escalated; returns the events
    raised (also appended to `referral.events`). Calling it again raises nothing new."""
    return [referral.escalate(deadline, now) for deadline in overdue(referral, policy, now)]


def next_deadline(referral: Referral, policy: SlaPolicy) -> Deadline | None:
    """The earliest deadline that could still need an escalation, or None. A scheduler can
    store `due_at` with the referral and pick the ones whose time has come; it may be in
    the past (missed, not yet escalated)."""
    return min(_open(referral, policy), key=lambda d: d.due_at, default=None)


__all__ = ["ACKNOWLEDGE", "DEADLINE_KINDS", "DEADLINE_STATES", "DECIDE", "DeadlineProgress", "SlaPolicy",
           "deadlines", "escalate_overdue", "next_deadline", "overdue", "progress"]
