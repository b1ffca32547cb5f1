"""The referral aggregate: one survivor, referred with consent to one service.

Pure Python, no framework. A referral moves

    sent -> acknowledged -> accepted -> completed
    sent | acknowledged -> declined (with a reason code)
    sent | acknowledged | accepted -> cancelled (by the referring agency)

Every change appends an immutable `Transition` to `history` and a domain event to
`events`; the service layer saves the aggregate and drains `events` into the outbox in the
same transaction. `version` grows by one on every change, for optimistic locking (ETag).

Times come from the caller (the service layer's clock), must be timezone-aware, and never
run backwards within a referral: response times are the product, so they must not be
negative. Read the clock *after* loading the referral.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from . import checks, events
from .client import ClientProfile, PersonalDetails
from .consent import Consent, ConsentOverride, require_consent
from .errors import (
    ConsentRequired,
    DomainError,
    IllegalTransition,
    InvalidReferral,
    NotPermitted,
)
from .place import UNKNOWN_AREA, ReceivingArea

__all__ = [
    "Actor", "ClientProfile", "Consent", "ConsentOverride", "ConsentRequired", "Deadline", "DomainError",
    "IllegalTransition", "InvalidReferral", "NotPermitted", "PersonalDetails", "Referral", "Transition",
    "redacted", "without_override_reason",
]

URGENCIES = ("emergency", "high", "normal")

# Risk to the survivor, as the referring caseworker assessed it:
#   low      no current threat known
#   medium   a threat exists, no sign it will be carried out soon
#   high     recent serious violence, or threats likely to be carried out soon
#   severe   immediate danger to life: the only level at which consent may be overridden
RISK_LEVELS = ("low", "medium", "high", "severe")

SENT, ACKNOWLEDGED, ACCEPTED = "sent", "acknowledged", "accepted"
COMPLETED, DECLINED, CANCELLED = "completed", "declined", "cancelled"
STATUSES = (SENT, ACKNOWLEDGED, ACCEPTED, COMPLETED, DECLINED, CANCELLED)
FINAL_STATUSES = (COMPLETED, DECLINED, CANCELLED)

CREATE, ACKNOWLEDGE, ACCEPT, DECLINE = "create", "acknowledge", "accept", "decline"
COMPLETE, CANCEL, ESCALATE, RE_REFER = "complete", "cancel", "escalate", "re_refer"

# action -> (statuses it applies to, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    ACKNOWLEDGE: ((SENT,), ACKNOWLEDGED),
    ACCEPT: ((ACKNOWLEDGED,), ACCEPTED),
    DECLINE: ((SENT, ACKNOWLEDGED), DECLINED),
    COMPLETE: ((ACCEPTED,), COMPLETED),
    CANCEL: ((SENT, ACKNOWLEDGED, ACCEPTED), CANCELLED),
}
ACTIONS = tuple(TRANSITIONS)

# Which side of the referral may take each action.
RECEIVING, REFERRING = "receiving", "referring"
SIDES = {ACKNOWLEDGE: RECEIVING, ACCEPT: RECEIVING, DECLINE: RECEIVING, COMPLETE: RECEIVING,
         CANCEL: REFERRING, RE_REFER: REFERRING}

DECLINE_REASONS = (
    "no_capacity",  # no bed / no appointment free
    "not_eligible",  # outside who the service serves (age, gender, kind of case)
    "out_of_area",  # the survivor is outside the service's area
    "client_unreachable",  # tried the safe contact channel, no answer
    "client_declined",  # the survivor no longer wants this service
    "duplicate",  # the same survivor is already referred here
    "other",  # needs a note
)
CANCEL_REASONS = (
    "consent_withdrawn",  # the survivor withdrew consent: the referral must stop
    "client_safe",  # help is no longer needed
    "referred_elsewhere",
    "entered_in_error",
    "other",  # needs a note
)

# Deadline kinds (sla.py sets the times): the step each one waits for, and the statuses in
# which that step is still undone.
AWAITING = {ACKNOWLEDGE: (SENT,), "decide": (SENT, ACKNOWLEDGED)}

WITHHELD = "[withheld]"  # stands in for free text in a redacted view
NOTE_LIMIT = 4000


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Actor:
    """Who acts: a user and the organization she acts for (from her token)."""

    user_id: str
    organization_id: str | None

    def __post_init__(self):
        object.__setattr__(self, "user_id", checks.identifier(self.user_id, "actor.user_id"))


@dataclass(frozen=True)
class Transition:
    """One line of the referral's audit trail. `actor_*` are None for the system (escalation).
    `note` is free text, hence personal: hidden from `repr` and withheld in a redacted view."""

    action: str
    from_status: str | None  # None for the creation entry
    to_status: str
    actor_user_id: str | None
    actor_organization_id: str | None
    at: datetime
    reason_code: str | None = None  # decline/cancel reason; deadline kind for an escalation
    note: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Deadline:
    kind: str  # "acknowledge" or "decide"
    due_at: datetime


@dataclass(eq=False, kw_only=True)
class Referral:
    """The aggregate. Build a new one with `Referral.create`; the constructor is for
    repositories re-loading a stored one (it re-checks values and the consent rule, which
    depends only on stored times, so a valid stored referral always loads).

    `personal` is None when the survivor shared nothing personal, and in a redacted view.
    """

    id: str
    referring_user_id: str
    referring_organization_id: str
    receiving_service_id: str
    receiving_organization_id: str
    service_kind: str  # the receiving service's kind code ("shelter")
    receiving_area: ReceivingArea = UNKNOWN_AREA  # where that service was, when referred
    urgency: str
    risk_level: str
    services_requested: tuple[str, ...]  # kind codes of what is asked for
    profile: ClientProfile
    personal: PersonalDetails | None
    consent: Consent | None
    override: ConsentOverride | None = None
    created_at: datetime
    status: str = SENT
    acknowledged_at: datetime | None = None
    decided_at: datetime | None = None  # accepted or declined
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    previous_referral_id: str | None = None  # this referral re-refers that declined one
    next_referral_id: str | None = None  # this declined referral was re-referred as that one
    history: tuple[Transition, ...] = ()
    version: int = 1
    personal_withheld: bool = False  # a redacted view: must never be saved
    events: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        for name in ("id", "referring_user_id", "referring_organization_id", "receiving_service_id",
                     "receiving_organization_id"):
            setattr(self, name, checks.identifier(getattr(self, name), name))
        checks.code(self.service_kind, "service_kind")
        checks.code(self.urgency, "urgency", URGENCIES)
        checks.code(self.risk_level, "risk_level", RISK_LEVELS)
        checks.code(self.status, "status", STATUSES)
        if isinstance(self.services_requested, str) or not self.services_requested:
            raise InvalidReferral("services_requested", "must list at least one kind code")
        self.services_requested = tuple(checks.code(k, "services_requested") for k in self.services_requested)
        if not isinstance(self.profile, ClientProfile):
            raise InvalidReferral("profile", "is required")
        if self.personal is not None and not isinstance(self.personal, PersonalDetails):
            raise InvalidReferral("personal", "must be PersonalDetails or None")
        for name in ("created_at", "acknowledged_at", "decided_at", "completed_at", "cancelled_at"):
            setattr(self, name, checks.utc(getattr(self, name), name, required=name == "created_at"))
        self.history = tuple(self.history)
        require_consent(self.consent, self.override, at=self.created_at, risk_level=self.risk_level,
                        personal=self.personal)

    def __eq__(self, other):
        return isinstance(other, Referral) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    # --- creation ----------------------------------------------------------------------

    @classmethod
    def create(cls, *, referrer: Actor, receiving_service_id: str, receiving_organization_id: str,
               service_kind: str, urgency: str, risk_level: str, services_requested: tuple[str, ...],
               profile: ClientProfile, personal: PersonalDetails | None, consent: Consent | None,
               override: ConsentOverride | None = None, at: datetime, id: str | None = None,
               previous_referral_id: str | None = None, receiving_area: ReceivingArea = UNKNOWN_AREA) -> Referral:
        """A new referral in status `sent`, with a `create` history entry and a
        `ReferralCreated` event. Raises ConsentRequired, InvalidReferral."""
        if not referrer.organization_id:
            raise NotPermitted(CREATE, "only someone acting for an organization can refer")
        at = checks.utc(at, "at")
        referral = cls(id=id or new_id(), referring_user_id=referrer.user_id,
                       referring_organization_id=referrer.organization_id,
                       receiving_service_id=receiving_service_id, receiving_organization_id=receiving_organization_id,
                       service_kind=service_kind, receiving_area=receiving_area, urgency=urgency,
                       risk_level=risk_level, services_requested=services_requested, profile=profile, personal=personal,
                       consent=consent, override=override, created_at=at, previous_referral_id=previous_referral_id)
        referral.history = (Transition(CREATE, None, SENT, referrer.user_id, referrer.organization_id, at),)
        referral.events.append(events.ReferralCreated(
            **referral._event_fields(at), services_requested=referral.services_requested,
            consent_overridden=override is not None, previous_referral_id=previous_referral_id))
        return referral

    # --- who may do what ---------------------------------------------------------------

    def check_permitted(self, actor: Actor, action: str) -> None:
        """The receiving organization acknowledges, accepts, declines and completes; the
        referring organization cancels and re-refers. Raises NotPermitted."""
        side = SIDES.get(action)
        if side is None:
            raise InvalidReferral("action", f"unknown action {action!r}")
        organization = self.receiving_organization_id if side == RECEIVING else self.referring_organization_id
        if not actor.organization_id or actor.organization_id != organization:
            raise NotPermitted(action, f"only the {side} organization may {action.replace('_', '-')} this referral")

    def allowed_actions(self, actor: Actor) -> tuple[str, ...]:
        """What this actor may do now (for the UI to offer only live buttons)."""
        possible = [a for a, (sources, _) in TRANSITIONS.items() if self.status in sources]
        if self.status == DECLINED and self.next_referral_id is None:
            possible.append(RE_REFER)
        permitted = []
        for action in possible:
            try:
                self.check_permitted(actor, action)
            except NotPermitted:
                continue
            permitted.append(action)
        return tuple(permitted)

    # --- the lifecycle -----------------------------------------------------------------

    def acknowledge(self, actor: Actor, at: datetime) -> None:
        """The receiving organization has seen the referral."""
        at = self._move(ACKNOWLEDGE, actor, at)
        self.acknowledged_at = at
        self.events.append(events.Acknowledged(**self._event_fields(at), actor_user_id=actor.user_id))

    def accept(self, actor: Actor, at: datetime) -> None:
        """The receiving organization will provide the service."""
        at = self._move(ACCEPT, actor, at)
        self.decided_at = at
        self.events.append(events.Accepted(**self._event_fields(at), actor_user_id=actor.user_id))

    def decline(self, actor: Actor, at: datetime, reason: str, note: str | None = None) -> None:
        """The receiving organization will not; `reason` from DECLINE_REASONS, a note
        required for `other`. The referrer can then re-refer elsewhere."""
        self._prepare(DECLINE, actor)
        note = _reason_and_note(reason, note, DECLINE_REASONS, required=True)
        at = self._move(DECLINE, actor, at, reason_code=reason, note=note)
        self.decided_at = at
        self.events.append(events.Declined(**self._event_fields(at), actor_user_id=actor.user_id, reason_code=reason))

    def complete(self, actor: Actor, at: datetime, note: str | None = None) -> None:
        """The service was provided; `note` is an optional outcome note (personal)."""
        self._prepare(COMPLETE, actor)
        note = checks.text(note, "note", NOTE_LIMIT)
        at = self._move(COMPLETE, actor, at, note=note)
        self.completed_at = at
        self.events.append(events.Completed(**self._event_fields(at), actor_user_id=actor.user_id))

    def cancel(self, actor: Actor, at: datetime, reason: str | None = None, note: str | None = None) -> None:
        """The referring organization withdraws the referral before completion. `reason`
        is optional (from CANCEL_REASONS); a note is required for `other`."""
        self._prepare(CANCEL, actor)
        note = _reason_and_note(reason, note, CANCEL_REASONS, required=False)
        at = self._move(CANCEL, actor, at, reason_code=reason, note=note)
        self.cancelled_at = at
        self.events.append(events.Cancelled(**self._event_fields(at), actor_user_id=actor.user_id,
                                            reason_code=reason))

    def re_refer(self, actor: Actor, at: datetime, *, receiving_service_id: str, receiving_organization_id: str,
                 service_kind: str, urgency: str | None = None, risk_level: str | None = None,
                 services_requested: tuple[str, ...] | None = None, consent: Consent | None = None,
                 override: ConsentOverride | None = None, id: str | None = None,
                 receiving_area: ReceivingArea = UNKNOWN_AREA) -> Referral:
        """From a declined referral, a NEW referral of the same survivor to another service.

        The new one keeps the profile and personal details and points back through
        `previous_referral_id`; this one records `next_referral_id` and a `re_refer` history
        entry (its status stays `declined`), so the chain can be walked both ways. A
        declined referral is re-referred at most once: later attempts re-refer the newest
        link. Consent is checked again at `at`: the old consent if still valid, or a
        renewed `consent`; an old override never carries over, a new one must be given.
        Urgency, risk and services requested default to the old ones. The service layer
        saves both referrals in one unit of work. Raises NotPermitted, IllegalTransition,
        ConsentRequired, InvalidReferral.
        """
        self._prepare(RE_REFER, actor)
        if self.status != DECLINED:
            raise IllegalTransition(self.status, RE_REFER, f"only a declined referral can be re-referred, "
                                    f"this one is {self.status}")
        if self.next_referral_id is not None:
            raise IllegalTransition(self.status, RE_REFER, "this referral was already re-referred")
        if receiving_service_id == self.receiving_service_id:
            raise InvalidReferral("receiving_service_id", "a re-referral goes to another service")
        at = self._check_time(at)
        successor = Referral.create(
            referrer=actor, receiving_service_id=receiving_service_id,
            receiving_organization_id=receiving_organization_id, service_kind=service_kind,
            urgency=urgency or self.urgency, risk_level=risk_level or self.risk_level,
            services_requested=services_requested or self.services_requested, profile=self.profile,
            personal=self.personal, consent=consent or self.consent, override=override, at=at, id=id,
            previous_referral_id=self.id, receiving_area=receiving_area)
        self.next_referral_id = successor.id
        self._record(RE_REFER, DECLINED, actor.user_id, actor.organization_id, at)
        return successor

    # --- escalation (deadlines come from sla.py) ----------------------------------------

    @property
    def escalations(self) -> tuple[str, ...]:
        """Deadline kinds already escalated."""
        return tuple(t.reason_code for t in self.history if t.action == ESCALATE)

    def awaiting(self, deadline_kind: str) -> bool:
        """Is the step this deadline waits for still undone?"""
        return self.status in AWAITING[deadline_kind]

    def escalate(self, deadline: Deadline, at: datetime) -> events.Escalated:
        """Record that `deadline` passed with its step undone: an `escalate` history entry
        and an `Escalated` event. The status does not change. Refused (IllegalTransition)
        once the referral is final, once this deadline kind was escalated, or when the step
        was done; InvalidReferral if the deadline has not passed yet."""
        if deadline.kind not in AWAITING:
            raise InvalidReferral("deadline.kind", f"must be one of {', '.join(AWAITING)}")
        self._check_changeable()
        if self.status in FINAL_STATUSES:
            raise IllegalTransition(self.status, ESCALATE)
        if deadline.kind in self.escalations:
            raise IllegalTransition(self.status, ESCALATE, f"the {deadline.kind} deadline was already escalated")
        if not self.awaiting(deadline.kind):
            raise IllegalTransition(self.status, ESCALATE, f"nothing awaits the {deadline.kind} deadline")
        at = self._check_time(at)
        if at <= deadline.due_at:
            raise InvalidReferral("at", "the deadline has not passed")
        self._record(ESCALATE, self.status, None, None, at, reason_code=deadline.kind)
        event = events.Escalated(**self._event_fields(at), deadline_kind=deadline.kind, deadline=deadline.due_at,
                                 status=self.status)
        self.events.append(event)
        return event

    # --- steps beside the lifecycle (serious incidents: incidents.py) -------------------

    def record_step(self, action: str, actor: Actor, at: datetime) -> datetime:
        """A step that changes no status, in the history like every action; its time."""
        self._check_changeable()
        at = self._check_time(at)
        self._record(action, self.status, actor.user_id, actor.organization_id, at)
        return at

    def event_fields(self, at: datetime) -> dict:
        """What every event of this referral carries (for events raised beside the lifecycle)."""
        return self._event_fields(at)

    # --- response times ----------------------------------------------------------------

    @property
    def answered_at(self) -> datetime | None:
        """First answer from the receiving side: its acknowledgement, or a decline straight
        from `sent` (which tells the referrer just as much)."""
        return self.acknowledged_at or self.decided_at

    def time_to_acknowledge(self) -> timedelta | None:
        """created -> first answer (see `answered_at`); None while unanswered."""
        return None if self.answered_at is None else self.answered_at - self.created_at

    def time_to_decision(self) -> timedelta | None:
        """created -> accepted or declined; None while undecided."""
        return None if self.decided_at is None else self.decided_at - self.created_at

    def time_to_complete(self) -> timedelta | None:
        """created -> completed: the whole wait for help; None unless completed."""
        return None if self.completed_at is None else self.completed_at - self.created_at

    # --- internals ---------------------------------------------------------------------

    def _prepare(self, action: str, actor: Actor) -> None:
        """Permission, then status, then (in the caller) values: a stranger learns nothing
        about where the referral stands, and a 409 is not hidden behind a typo."""
        self.check_permitted(actor, action)
        self._check_changeable()
        if action in TRANSITIONS and self.status not in TRANSITIONS[action][0]:
            raise IllegalTransition(self.status, action)

    def _check_changeable(self) -> None:
        if self.personal_withheld:
            raise DomainError("a redacted view of a referral cannot change")

    def _move(self, action: str, actor: Actor, at: datetime, *, reason_code: str | None = None,
              note: str | None = None) -> datetime:
        self._prepare(action, actor)
        target = TRANSITIONS[action][1]
        at = self._check_time(at)
        self._record(action, target, actor.user_id, actor.organization_id, at, reason_code=reason_code, note=note)
        return at

    def _check_time(self, at: datetime) -> datetime:
        at = checks.utc(at, "at")
        last = self.history[-1].at if self.history else self.created_at
        if at < last:
            raise InvalidReferral("at", "is earlier than the referral's last recorded change")
        return at

    def _record(self, action: str, to_status: str, user_id: str | None, organization_id: str | None,
                at: datetime, *, reason_code: str | None = None, note: str | None = None) -> None:
        entry = Transition(action, self.status, to_status, user_id, organization_id, at, reason_code, note)
        self.history = self.history + (entry,)  # a new tuple: entries are never edited or removed
        self.status = to_status
        self.version += 1

    def _event_fields(self, at: datetime) -> dict:
        return dict(referral_id=self.id, occurred_at=at, urgency=self.urgency, service_kind=self.service_kind,
                    receiving_service_id=self.receiving_service_id,
                    receiving_organization_id=self.receiving_organization_id,
                    referring_organization_id=self.referring_organization_id,
                    referring_user_id=self.referring_user_id)


def _reason_and_note(reason: str | None, note: str | None, allowed: tuple[str, ...], *, required: bool) -> str | None:
    if reason is None and required:
        raise InvalidReferral("reason", f"is required, one of {', '.join(allowed)}")
    if reason is not None:
        checks.code(reason, "reason", allowed)
    note = checks.text(note, "note", NOTE_LIMIT)
    if reason == "other" and note is None:
        raise InvalidReferral("note", "is required when the reason is `other`")
    return note


def redacted(referral: Referral, *, notes_of: str | None = None) -> Referral:
    """The referral as operations staff and other non-permitted viewers may see it: personal
    details removed, and every piece of free text (transition notes, the override's
    reason) replaced by WITHHELD, so a viewer still sees *that* a note exists — except the
    notes organization `notes_of` wrote itself (an agency may always read its own decline
    or completion note). Consent stays (who asked, when, for what scope: no client data).
    The copy is marked `personal_withheld`, refuses every change, and has no pending
    events; a repository must refuse to save it, or it would erase the personal data it
    hides."""
    history = tuple(t if t.note is None or (notes_of and t.actor_organization_id == notes_of)
                    else replace(t, note=WITHHELD) for t in referral.history)
    return replace(without_override_reason(referral), personal=None, history=history, personal_withheld=True,
                   events=[])


def without_override_reason(referral: Referral) -> Referral:
    """A view without the override's reason (the referring organization's to read): that
    consent was overridden, by whom and when stay visible."""
    if referral.override is None or referral.override.reason == WITHHELD:
        return referral
    return replace(referral, override=replace(referral.override, reason=WITHHELD), events=[])
