"""Use cases of the referral service: create, read, list, move through the lifecycle,
escalate missed deadlines. One database transaction each; the referral, its history, its
outbox events and its audit lines are written together or not at all.

Who sees what (the caller is a `Principal` from the platform's auth):
- caseworkers and supervisors: referrals their organization sent;
- agency staff: referrals addressed to their organization;
- ops and admin: every referral, never its personal fields;
- personal fields: the referring organization's caseworkers and supervisors, and the
  receiving organization's staff once they have accepted the referral.
A referral the caller may not see does not exist for them (NotFound, 404): no leak.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from haven.platform.auth import Principal
from haven.platform.field_cipher import FieldCipher
from haven.platform.outbox import Outbox

from .. import contract
from ..adapters import metrics
from ..adapters import notifications
from ..adapters.audit import AuditLog
from ..adapters.directory import DirectoryLookup, UnknownService
from ..adapters.orm import referrals as table
from ..adapters.repository import ReferralRepository, StaleReferral
from ..domain import sla
from ..domain.client import ClientProfile, PersonalDetails
from ..domain.consent import Consent, ConsentOverride
from ..domain.errors import InvalidReferral
from ..domain.model import ACCEPT, CANCELLED, WITHHELD, Actor, Referral, redacted, without_override_reason

log = logging.getLogger("haven.referral")

REFERRING_ROLES = {"caseworker", "supervisor"}
RECEIVING_ROLES = {"agency_staff"}
EVERY_REFERRAL_ROLES = {"ops", "admin"}


class NotFound(Exception):
    """No such referral, or none the caller may see."""


class Forbidden(Exception):
    """The caller may not do this (a permission, not a referral, is missing)."""


class IdempotencyConflict(Exception):
    """An Idempotency-Key reused with a different request."""


class ServiceNotReferable(Exception):
    """The receiving service exists but is not active."""


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit log."""

    source_ip: str | None = None
    request_id: str | None = None


@dataclass
class View:
    referral: Referral
    personal_visible: bool
    actions: tuple[str, ...]
    notifications: list = None  # what notify reported: channel, outcome, attempts (no addresses)
    deadlines: tuple = ()  # sla.DeadlineProgress of each deadline, under the policy in force


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.organization_id)


def sides_of(principal: Principal) -> set[str] | None:
    """Which side of referrals the caller reaches through their organization; None: every referral."""
    roles = set(principal.roles)
    if roles & EVERY_REFERRAL_ROLES:
        return None
    sides = set()
    if roles & REFERRING_ROLES:
        sides.add("referring")
    if roles & RECEIVING_ROLES:
        sides.add("receiving")
    return sides


def visible(principal: Principal, referral: Referral) -> bool:
    if not principal.can("referral:read"):
        return False
    sides = sides_of(principal)
    if sides is None:
        return True
    org = principal.organization_id
    return bool(org) and (("referring" in sides and referral.referring_organization_id == org)
                          or ("receiving" in sides and referral.receiving_organization_id == org))


def personal_visible(principal: Principal, referral: Referral) -> bool:
    """The referring organization always; the receiving one once it has accepted, and no
    longer once the referral is cancelled (she may have withdrawn her consent)."""
    if not principal.can("referral:personal") or not principal.organization_id:
        return False
    roles, org = set(principal.roles), principal.organization_id
    if roles & REFERRING_ROLES and referral.referring_organization_id == org:
        return True
    accepted = any(t.action == ACCEPT for t in referral.history)
    return (bool(roles & RECEIVING_ROLES) and referral.receiving_organization_id == org and accepted
            and referral.status != CANCELLED)


# What each action needs besides being on the right side of the referral.
ACTION_PERMISSIONS = {"acknowledge": "referral:respond", "accept": "referral:respond", "decline": "referral:respond",
                      "complete": "referral:respond", "cancel": "referral:cancel", "re_refer": "referral:create"}


def allowed_actions(principal: Principal, referral: Referral) -> tuple[str, ...]:
    if not principal.organization_id:
        return ()
    return tuple(a for a in referral.allowed_actions(actor_of(principal))
                 if principal.can(ACTION_PERMISSIONS.get(a, "")))


SYSTEM = Principal(subject="system:sla-timer", roles=())


def visibility_condition(principal: Principal):
    sides = sides_of(principal)
    if sides is None:
        return sa.true()
    org = principal.organization_id
    conditions = []
    if "referring" in sides:
        conditions.append(table.c.referring_organization_id == org)
    if "receiving" in sides:
        conditions.append(table.c.receiving_organization_id == org)
    return sa.or_(*conditions) if conditions and org else sa.false()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _fingerprint(request: dict) -> str:
    """The same request gives the same hash, whatever offset its times were written in."""
    def plain(value):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat()
        return str(value)

    return hashlib.sha256(json.dumps(request, sort_keys=True, default=plain).encode()).hexdigest()


def _what_is_shown(referral: Referral) -> str | None:
    """Names (never values) of the personal things a view shows, for the audit log; None
    when it shows none (then nothing personal was read, and nothing is audited as read)."""
    shown = list(referral.personal.filled()) if referral.personal else []
    if any(t.note is not None and t.note != WITHHELD for t in referral.history):
        shown.append("notes")
    if referral.override is not None and referral.override.reason != WITHHELD:
        shown.append("override.reason")
    return ",".join(shown) or None


def _refers(principal: Principal, referral: Referral) -> bool:
    """Acts for the referring organization in a referring role."""
    return bool(set(principal.roles) & REFERRING_ROLES) and principal.organization_id == referral.referring_organization_id


def may_hold_own_notes(principal: Principal, referral: Referral) -> bool:
    """The caller's organization is a side of the referral, so it may have written notes."""
    return bool(principal.organization_id) and principal.organization_id in (
        referral.referring_organization_id, referral.receiving_organization_id)


def disclose(principal: Principal, referral: Referral) -> tuple[Referral, bool, str | None]:
    """What of `referral` (loaded with its personal fields) this caller is shown: the view,
    whether its personal details are in it, and the names of the personal things it shows
    (what the audit log records as read).

    Personal details: see `personal_visible`. The override's reason: only the referring
    organization's caseworkers and supervisors (it is their judgement, not the survivor's
    data the receiving agency needs). Transition notes: with the personal details, and
    always those the caller's own organization wrote (an agency reads its own decline or
    completion note, whatever became of the referral)."""
    if personal_visible(principal, referral) and not referral.personal_withheld:
        view = referral if _refers(principal, referral) else without_override_reason(referral)
        return view, True, _what_is_shown(view)
    own = principal.organization_id if principal.can("referral:read") else None
    view = redacted(referral, notes_of=own) if not referral.personal_withheld else referral
    return view, False, _what_is_shown(view)


class UnitOfWork:
    def __init__(self, engine: Engine, cipher: FieldCipher):
        self.engine, self.cipher = engine, cipher

    def __enter__(self) -> UnitOfWork:
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.referrals = ReferralRepository(self.connection, self.cipher)
        self.audit = AuditLog(self.connection)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()

    def commit(self) -> None:
        self.transaction.commit()


class Referrals:
    def __init__(self, engine: Engine, cipher: FieldCipher, directory: DirectoryLookup, outbox: Outbox,
                 policy: sla.SlaPolicy, clock: Callable[[], datetime] = _now,
                 idempotency_window: timedelta = timedelta(hours=24)):
        self.engine = engine
        self.cipher = cipher
        self.directory = directory
        self.outbox = outbox
        # A retry within this window replays; later, the same key is a new request.
        self.idempotency_window = idempotency_window
        self.policy = policy
        self.clock = clock

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.cipher)

    # --- create ------------------------------------------------------------------------

    def create(self, principal: Principal, request: dict, origin: Origin,
               idempotency_key: str | None = None) -> tuple[View, bool]:
        """A new referral (True), or the one an earlier request with the same
        Idempotency-Key created (False). Raises UnknownService, ServiceNotReferable,
        DirectoryUnavailable, domain errors, IdempotencyConflict."""
        request_hash = _fingerprint(request)
        if idempotency_key:
            replayed = self._replay(principal, idempotency_key, request_hash)
            if replayed is not None:
                return self._view(principal, replayed, origin), False
        override = request.get("override")
        service = self._receiving_service(principal, request)
        now = self.clock()
        referral = Referral.create(
            referrer=actor_of(principal), receiving_service_id=service.id,
            receiving_organization_id=service.organization_id, service_kind=service.kind,
            urgency=request["urgency"], risk_level=request["risk_level"],
            services_requested=tuple(request.get("services_requested") or (service.kind,)),
            profile=ClientProfile(**request["profile"]),
            personal=PersonalDetails(**request["personal"]) if request.get("personal") else None,
            consent=Consent(**request["consent"]) if request.get("consent") else None,
            override=ConsentOverride(by=principal.subject, at=now, reason=override["reason"]) if override else None,
            at=now)
        try:
            with self._uow() as uow:
                uow.referrals.add(referral, self._next_deadline(referral))
                if idempotency_key:
                    uow.referrals.remember_idempotency_key(principal.subject, idempotency_key, request_hash,
                                                           referral.id, now, now - self.idempotency_window)
                self._publish(uow, referral)
                uow.audit.record(principal, "create", referral.id, origin, now,
                                 detail="consent overridden" if override else None)
                uow.commit()
        except IntegrityError:
            if idempotency_key:  # the same request raced itself: the first one won
                replayed = self._replay(principal, idempotency_key, request_hash)
                if replayed is not None:
                    return self._view(principal, replayed, origin), False
            raise
        metrics.TRANSITIONS.labels("create", referral.urgency, referral.service_kind).inc()
        return self._view(principal, referral, origin, audited=True), True

    def _receiving_service(self, principal: Principal, request: dict):
        """Before anything is written: may this caller override consent (if asked), and is
        the receiving service real, active, and are the kinds asked for ones it knows?"""
        if request.get("override") is not None and not principal.can("referral:consent_override"):
            raise Forbidden("Overriding consent needs the 'referral:consent_override' permission (supervisors).")
        service = self.directory.service(str(request["receiving_service_id"]))
        if not service.active:
            raise ServiceNotReferable(service.id)
        self._check_kinds(request.get("services_requested"))
        return service

    def _check_kinds(self, requested) -> None:
        if requested:
            unknown = sorted(set(requested) - self.directory.kinds())
            if unknown:
                raise InvalidReferral("services_requested", "names a kind the directory does not know "
                                      "(GET /v1/kinds on the directory)")

    def _replay(self, principal: Principal, key: str, request_hash: str) -> Referral | None:
        with self._uow() as uow:
            found = uow.referrals.by_idempotency_key(principal.subject, key,
                                                     self.clock() - self.idempotency_window)
            if found is None:
                return None
            if found[0] != request_hash:
                raise IdempotencyConflict(key)
            return uow.referrals.get(found[1], personal=True)

    def forget_expired_idempotency_keys(self) -> int:
        """The worker's pruning: keys past the window replay nothing, so they go."""
        with self._uow() as uow:
            count = uow.referrals.forget_idempotency_keys(self.clock() - self.idempotency_window)
            uow.commit()
        return count

    # --- read --------------------------------------------------------------------------

    def get(self, principal: Principal, referral_id: str, origin: Origin) -> View:
        with self._uow() as uow:
            referral = uow.referrals.get(referral_id, where=visibility_condition(principal))
            if referral is None or not visible(principal, referral):
                raise NotFound(referral_id)
            # Decrypted only for a caller who may see some of it; `disclose` cuts it down.
            if personal_visible(principal, referral) or may_hold_own_notes(principal, referral):
                referral = uow.referrals.get(referral_id, personal=True)
        return self._view(principal, referral, origin)

    def _view(self, principal: Principal, referral: Referral, origin: Origin, audited: bool = False) -> View:
        view, personal, shown = disclose(principal, referral)
        if shown and not audited:
            # Every read of personal data is audited (own transaction: the read happened).
            with self._uow() as uow:
                uow.audit.record(principal, "read_personal", referral.id, origin, self.clock(), detail=shown)
                uow.commit()
        with self.engine.connect() as connection:
            sent = notifications.of_referral(connection, referral.id)
        return View(view, personal, allowed_actions(principal, referral), sent,
                    sla.progress(referral, self.policy, self.clock()))

    def history(self, principal: Principal, referral_id: str, origin: Origin) -> View:
        return self.get(principal, referral_id, origin)

    def list(self, principal: Principal, filters: dict, page: int, per_page: int) -> tuple[int, list[Referral]]:
        where = [visibility_condition(principal)]
        for name in ("status", "urgency", "service_kind"):
            if filters.get(name):
                where.append(getattr(table.c, name) == filters[name])
        if filters.get("created_from"):
            where.append(table.c.created_at >= filters["created_from"].astimezone(timezone.utc))
        if filters.get("created_to"):
            where.append(table.c.created_at < filters["created_to"].astimezone(timezone.utc))
        with self._uow() as uow:
            return uow.referrals.list(sa.and_(*where), limit=per_page, offset=(page - 1) * per_page)

    def audit(self, *, page: int, per_page: int, referral_id: str | None = None, actor: str | None = None,
              since: datetime | None = None, until: datetime | None = None) -> tuple[int, list[dict]]:
        with self._uow() as uow:
            return uow.audit.list(referral_id=referral_id, actor=actor, since=since, until=until,
                                  limit=per_page, offset=(page - 1) * per_page)

    # --- lifecycle ---------------------------------------------------------------------

    def act(self, principal: Principal, referral_id: str, action: str, origin: Origin,
            expected_version: int | None = None, **details) -> View:
        """acknowledge / accept / decline / complete / cancel. Raises NotFound, domain
        errors (NotPermitted, IllegalTransition, InvalidReferral), StaleReferral."""
        with self._uow() as uow:
            referral = uow.referrals.get(referral_id, personal=True, for_update=True,
                                         where=visibility_condition(principal))
            if referral is None or not visible(principal, referral):
                raise NotFound(referral_id)
            if expected_version is not None and expected_version != referral.version:
                raise StaleReferral(referral_id)
            now = max(self.clock(), referral.history[-1].at)  # never before the last step (clock skew)
            getattr(referral, action)(actor_of(principal), now, **details)
            uow.referrals.save(referral, self._next_deadline(referral))
            self._publish(uow, referral)
            uow.audit.record(principal, action, referral.id, origin, now, detail=details.get("reason"))
            shown = disclose(principal, referral)[2]
            if shown:  # the answer shows personal data: a read, too
                uow.audit.record(principal, "read_personal", referral.id, origin, now, detail=shown)
            uow.commit()
        self._observe(action, referral)
        return self._view(principal, referral, origin, audited=True)

    def re_refer(self, principal: Principal, referral_id: str, request: dict, origin: Origin) -> View:
        """A declined referral sent on to another service, linked to it."""
        override = request.get("override")
        service = self._receiving_service(principal, request)
        with self._uow() as uow:
            previous = uow.referrals.get(referral_id, personal=True, for_update=True,
                                         where=visibility_condition(principal))
            if previous is None or not visible(principal, previous):
                raise NotFound(referral_id)
            now = max(self.clock(), previous.history[-1].at)
            successor = previous.re_refer(
                actor_of(principal), now, receiving_service_id=service.id,
                receiving_organization_id=service.organization_id, service_kind=service.kind,
                urgency=request.get("urgency"), risk_level=request.get("risk_level"),
                services_requested=tuple(request["services_requested"]) if request.get("services_requested")
                else (service.kind,),
                consent=Consent(**request["consent"]) if request.get("consent") else None,
                override=ConsentOverride(by=principal.subject, at=now, reason=override["reason"]) if override else None)
            uow.referrals.save(previous, None)
            uow.referrals.add(successor, self._next_deadline(successor))
            self._publish(uow, previous)
            self._publish(uow, successor)
            uow.audit.record(principal, "re_refer", previous.id, origin, now, detail=f"as {successor.id}")
            uow.audit.record(principal, "create", successor.id, origin, now,
                             detail="consent overridden" if override else None)
            shown = disclose(principal, successor)[2]
            if shown:
                uow.audit.record(principal, "read_personal", successor.id, origin, now, detail=shown)
            uow.commit()
        metrics.TRANSITIONS.labels("create", successor.urgency, successor.service_kind).inc()
        return self._view(principal, successor, origin, audited=True)

    # --- SLA timers --------------------------------------------------------------------

    def escalate_due(self, limit: int = 200) -> int:
        """Escalate every missed deadline whose time has come; returns how many escalations.
        One referral that cannot be handled is logged and skipped, never blocking the rest;
        personal fields are neither decrypted nor touched."""
        now = self.clock()
        with self._uow() as uow:
            due = uow.referrals.due(now, limit)
        raised = 0
        for referral_id in due:
            try:
                raised += self._escalate(referral_id, now)
            except Exception as exc:  # noqa: BLE001 — the next referral must still be escalated
                log.error("escalating a referral failed; skipped until the next round",
                          extra={"referral_id": referral_id, "error": type(exc).__name__})
        return raised

    def _escalate(self, referral_id: str, now: datetime) -> int:
        with self._uow() as uow:
            # skip_locked: another timer (a second worker) already has it
            referral = uow.referrals.get(referral_id, system=True, for_update=True, skip_locked=True)
            if referral is None:
                return 0
            at = max(now, referral.history[-1].at)
            escalations = sla.escalate_overdue(referral, self.policy, at)
            uow.referrals.save(referral, self._next_deadline(referral))
            self._publish(uow, referral)
            for event in escalations:
                uow.audit.record(SYSTEM, "escalate", referral.id, Origin(), at, detail=event.deadline_kind)
            uow.commit()
        for event in escalations:
            metrics.SLA_BREACHES.labels(event.deadline_kind, referral.urgency, referral.service_kind).inc()
        return len(escalations)

    def restamp_deadlines(self) -> int:
        """After a change of REFERRAL_SLA: store each waiting referral's next deadline under
        the policy in force now (the timer selects on it). Returns how many moved."""
        moved = 0
        with self._uow() as uow:
            for referral_id in uow.referrals.waiting():
                referral = uow.referrals.get(referral_id, system=True)
                due = self._next_deadline(referral)
                uow.referrals.set_next_deadline(referral_id, due)
                moved += 1
            uow.commit()
        return moved

    # --- internals ---------------------------------------------------------------------

    def _next_deadline(self, referral: Referral) -> datetime | None:
        deadline = sla.next_deadline(referral, self.policy)
        return None if deadline is None else deadline.due_at

    def _publish(self, uow: UnitOfWork, referral: Referral) -> None:
        for event in referral.events:
            extra = {}
            if event.type == "created":
                extra = {f"{d.kind}_by": d.due_at for d in sla.deadlines(referral, self.policy)}
            self.outbox.add(uow.connection, contract.TOPIC, referral.id, contract.to_cloud_event(event, **extra))
        referral.events.clear()

    def _observe(self, action: str, referral: Referral) -> None:
        labels = (referral.urgency, referral.service_kind)
        metrics.TRANSITIONS.labels(action, *labels).inc()
        if action in ("acknowledge", "decline") and referral.history[-1].from_status == "sent":
            metrics.TIME_TO_ACKNOWLEDGE.labels(*labels).observe(referral.time_to_acknowledge().total_seconds())
        if action in ("accept", "decline"):
            metrics.TIME_TO_DECISION.labels(*labels).observe(referral.time_to_decision().total_seconds())
        if action == "complete":
            metrics.TIME_TO_COMPLETE.labels(*labels).observe(referral.time_to_complete().total_seconds())


__all__ = ["Forbidden", "IdempotencyConflict", "InvalidReferral", "NotFound", "Origin", "Referrals",
           "ServiceNotReferable", "StaleReferral", "UnknownService", "View"]
