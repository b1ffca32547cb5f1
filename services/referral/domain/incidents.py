"""Serious incidents (vụ việc nghiêm trọng): reported at once by phone, then in writing to
the higher authority within 5 days of discovery (DOMAIN.md). Pure Python.

A referral's referring organization marks it as a serious incident: when it was
discovered, when the phone report was made and to which authority (an authority's name,
never a person's), and an optional note that stays in the referral service. A supervisor
of that organization later records the written report: when it was sent, to which
authority. Marking and recording are steps in the referral's history.

The written-report deadline counts **calendar days in Vietnam time**, as the Civil Code
counts a period in days (arts. 147-148): the day of discovery is not counted, and the
period ends at 24:00 of its fifth day. Discovered at 15:00 on 1 December (UTC+7), the
report is due before 00:00 on 7 December (UTC+7). A weekend or holiday on the last day
does not extend it here (the Code would move it to the next working day): Haven keeps the
stricter date, so it never tells a supervisor she is on time when she might not be.

The state is derived, never stored: `due`, `missing` (not sent, deadline passed),
`on_time` (sent before the deadline), `late` (sent at or after it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from . import checks, events
from .errors import InvalidReferral, NotPermitted
from .model import Actor, IllegalTransition, Referral

VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: UTC+7 all year
REPORT_DAYS = 5
REMIND_BEFORE = timedelta(days=1)  # the reminder before the deadline: at the start of its last day
# A phone's clock runs a little ahead: a time this close to now is not "in the future".
CLOCK_SKEW = timedelta(minutes=5)

DUE, ON_TIME, LATE, MISSING = "due", "on_time", "late", "missing"
STATES = (DUE, ON_TIME, LATE, MISSING)

# Steps in the referral's history (the status does not change).
MARK, REPORT = "incident_marked", "incident_reported"
# The reminders (the kind of event each publishes).
REMIND_DUE, REMIND_MISSED = events.IncidentReportDue.type, events.IncidentReportMissed.type
RECORD_WRITTEN_REPORT = "record_written_report"  # what a supervisor may do next

AUTHORITY_LIMIT = 200
NOTE_LIMIT = 2000


def written_report_due(discovered_at: datetime) -> datetime:
    """24:00 (Vietnam time) of the fifth calendar day after the day of discovery, in UTC."""
    day = checks.utc(discovered_at, "discovered_at").astimezone(VIETNAM).date()
    return datetime.combine(day + timedelta(days=REPORT_DAYS + 1), time(0), VIETNAM).astimezone(timezone.utc)


def report_state(due_at: datetime, sent_at: datetime | None, now: datetime) -> str:
    """How the written report stands at `now` (the one rule the list, stats and reports use)."""
    if sent_at is not None:
        return ON_TIME if sent_at < due_at else LATE
    return DUE if now < due_at else MISSING


def _authority(value, field: str) -> str:
    name = checks.text(value, field, AUTHORITY_LIMIT)
    if name is None:
        raise InvalidReferral(field, "names the authority (an office, not a person) and is required")
    return name


def _not_future(value: datetime | None, field: str, now: datetime) -> datetime:
    value = checks.utc(value, field)
    if value > now + CLOCK_SKEW:
        raise InvalidReferral(field, "is in the future")
    return value


@dataclass(kw_only=True)
class SeriousIncident:
    """One referral's serious incident. `note` is free text (personal): kept encrypted, shown
    only to the referring organization, never in an event or a notification."""

    referral_id: str
    referring_organization_id: str
    receiving_organization_id: str
    discovered_at: datetime
    phoned_at: datetime
    phoned_to: str
    note: str | None
    marked_by: str
    marked_at: datetime
    report_sent_at: datetime | None = None
    report_sent_to: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime | None = None
    reminded_due_at: datetime | None = None
    reminded_missed_at: datetime | None = None

    @property
    def due_at(self) -> datetime:
        return written_report_due(self.discovered_at)

    def state(self, now: datetime) -> str:
        return report_state(self.due_at, self.report_sent_at, now)

    @classmethod
    def mark(cls, referral: Referral, actor: Actor, *, discovered_at: datetime, phoned_at: datetime,
             phoned_to: str, note: str | None, at: datetime) -> SeriousIncident:
        """The referring organization marks `referral`; an `incident_marked` step in its
        history. Raises NotPermitted, InvalidReferral."""
        if not actor.organization_id or actor.organization_id != referral.referring_organization_id:
            raise NotPermitted(MARK, "only the referring organization may mark a serious incident")
        at = checks.utc(at, "at")
        discovered_at = _not_future(discovered_at, "discovered_at", at)
        phoned_at = _not_future(phoned_at, "phoned_at", at)
        if phoned_at < discovered_at:
            raise InvalidReferral("phoned_at", "is earlier than the discovery")
        incident = cls(referral_id=referral.id, referring_organization_id=referral.referring_organization_id,
                       receiving_organization_id=referral.receiving_organization_id, discovered_at=discovered_at,
                       phoned_at=phoned_at, phoned_to=_authority(phoned_to, "phoned_to"),
                       note=checks.text(note, "note", NOTE_LIMIT), marked_by=actor.user_id,
                       marked_at=referral.record_step(MARK, actor, at))
        return incident

    def record_written_report(self, referral: Referral, actor: Actor, *, sent_at: datetime, sent_to: str,
                              at: datetime) -> None:
        """A supervisor of the referring organization (the service layer checks the role)
        records the written report, once. Raises NotPermitted, IllegalTransition,
        InvalidReferral."""
        if not actor.organization_id or actor.organization_id != self.referring_organization_id:
            raise NotPermitted(REPORT, "only the referring organization may record the written report")
        if self.report_sent_at is not None:
            raise IllegalTransition(referral.status, REPORT, "the written report was already recorded")
        at = checks.utc(at, "at")
        sent_at = _not_future(sent_at, "sent_at", at)
        if sent_at < self.discovered_at:
            raise InvalidReferral("sent_at", "is earlier than the discovery")
        self.report_sent_to = _authority(sent_to, "sent_to")
        self.report_sent_at, self.recorded_by = sent_at, actor.user_id
        self.recorded_at = referral.record_step(REPORT, actor, at)

    # --- reminders --------------------------------------------------------------------------

    @property
    def next_reminder_at(self) -> datetime | None:
        """When the timer must look at this incident again; None once nothing is left to remind."""
        if self.report_sent_at is not None or self.reminded_missed_at is not None:
            return None
        return self.due_at if self.reminded_due_at is not None else self.due_at - REMIND_BEFORE

    def remind(self, referral: Referral, now: datetime) -> events.ReferralEvent | None:
        """The reminder due at `now`, raised on `referral` for the outbox, or None. Each goes
        out once; when the deadline has already passed, only the missed one (a "due
        tomorrow" after the fact would mislead)."""
        if self.report_sent_at is not None or self.reminded_missed_at is not None:
            return None
        now = checks.utc(now, "now")
        if now >= self.due_at:
            self.reminded_missed_at = now
            event = events.IncidentReportMissed(**referral.event_fields(now), deadline=self.due_at)
        elif now >= self.due_at - REMIND_BEFORE and self.reminded_due_at is None:
            self.reminded_due_at = now
            event = events.IncidentReportDue(**referral.event_fields(now), deadline=self.due_at)
        else:
            return None
        referral.events.append(event)
        return event

    def allowed_actions(self, actor: Actor, *, supervisor: bool) -> tuple[str, ...]:
        if supervisor and self.report_sent_at is None and actor.organization_id == self.referring_organization_id:
            return (RECORD_WRITTEN_REPORT,)
        return ()


__all__ = ["DUE", "LATE", "MARK", "MISSING", "ON_TIME", "REPORT", "STATES", "SeriousIncident", "VIETNAM",
           "report_state", "written_report_due"]
