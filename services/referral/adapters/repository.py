"""The referral database's repositories: referrals (with their history and Idempotency-Keys),
the audit log, and what notify reported about each delivery.

Referrals: personal fields encrypted on the way in and decrypted on the way out.

`get(id, personal=False)` never decrypts: a list, an ops view or a permission check needs
no personal data, so none is decrypted (or audited) for it. Saving a redacted view is
refused, because it would overwrite the personal data it hides. Who may see a referral
comes in as a `Reach` (data); here it becomes the query's condition.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from haven.platform.field_cipher import FieldCipher

from ..domain.client import ClientProfile, PersonalDetails
from ..domain.consent import Consent, ConsentOverride
from ..domain.incidents import DUE, LATE, MISSING, ON_TIME, SeriousIncident
from ..domain.model import ESCALATE, RECEIVING, REFERRING, WITHHELD, Deadline, Referral, Transition
from ..domain.place import ReceivingArea
from ..domain.reach import Reach
from ..service_layer.commands import AuditFilters, DeliveryReport, Page, ReferralFilters
from ..service_layer.errors import IdempotencyKeyTaken, StaleReferral
from .orm import audit_log, history, idempotency_keys, notifications, referrals, serious_incidents


def within(reach: Reach):
    """The SQL condition of `reach`: the referrals on whose given sides the organization stands."""
    if reach.everything:
        return sa.true()
    org = reach.organization_id
    conditions = []
    if REFERRING in reach.sides:
        conditions.append(referrals.c.referring_organization_id == org)
    if RECEIVING in reach.sides:
        conditions.append(referrals.c.receiving_organization_id == org)
    return sa.or_(*conditions) if conditions and org else sa.false()


# Where the receiving service was, by level: written at creation, never updated.
_AREA_COLUMNS = {"province": "receiving_province_code", "district": "receiving_district_code",
                 "commune": "receiving_commune_code"}


def _due_at(deadline: Deadline | None) -> datetime | None:
    return None if deadline is None else deadline.due_at


class ReferralRepository:
    """`track`: the unit of work's, called with every referral added or handed out."""

    def __init__(self, connection: Connection, cipher: FieldCipher, track: Callable[[Referral], Referral]):
        self.connection = connection
        self.cipher = cipher
        self.track = track
        self._loaded: dict[str, tuple[int, int]] = {}  # id -> (version, history length) as read

    # --- reading -------------------------------------------------------------------------

    def get(self, referral_id: str, *, personal: bool = False, for_update: bool = False, reach: Reach | None = None,
            skip_locked: bool = False, system: bool = False) -> Referral | None:
        """The referral, if it exists and is within `reach` (the caller's: checked in the same
        query, so a referral someone may not see costs them what a missing one does).

        `personal`: decrypt the personal fields. `system`: without them, yet changeable — for
        the SLA timer, whose changes (status stamps, history) never touch personal columns."""
        query = sa.select(referrals).where(referrals.c.id == referral_id)
        if reach is not None:
            query = query.where(within(reach))
        if for_update:
            query = query.with_for_update(skip_locked=skip_locked)
        row = self.connection.execute(query).mappings().first()
        if row is None:
            return None
        entries = self.connection.execute(sa.select(history).where(history.c.referral_id == referral_id)
                                          .order_by(history.c.seq)).mappings().all()
        referral = self._referral(row, entries, personal, withheld=not personal and not system)
        self._loaded[referral.id] = (referral.version, len(referral.history))
        return self.track(referral)

    def list(self, reach: Reach, filters: ReferralFilters, page: Page) -> tuple[int, list[Referral]]:
        """Referrals within `reach` matching `filters`, newest first, without personal data."""
        where = [within(reach)]
        for name in ("status", "urgency", "service_kind"):
            if getattr(filters, name):
                where.append(getattr(referrals.c, name) == getattr(filters, name))
        if filters.created_from:
            where.append(referrals.c.created_at >= filters.created_from.astimezone(timezone.utc))
        if filters.created_to:
            where.append(referrals.c.created_at < filters.created_to.astimezone(timezone.utc))
        where = sa.and_(*where)
        total = self.connection.execute(sa.select(sa.func.count()).select_from(referrals).where(where)).scalar_one()
        rows = self.connection.execute(sa.select(referrals).where(where)
                                       .order_by(referrals.c.created_at.desc(), referrals.c.id)
                                       .limit(page.size).offset(page.offset)).mappings().all()
        # A list shows how each deadline stands, escalated or not, but no history: only the
        # escalation steps are read (one query for the page), and these referrals are for
        # reading only (never tracked, so never saved with a cut history).
        escalations: dict[str, list] = {}
        if rows:
            for entry in self.connection.execute(
                    sa.select(history).where(history.c.referral_id.in_([row["id"] for row in rows]),
                                             history.c.action == ESCALATE).order_by(history.c.seq)).mappings():
                escalations.setdefault(entry["referral_id"], []).append(entry)
        return total, [self._referral(row, escalations.get(row["id"], ()), personal=False) for row in rows]

    def waiting(self) -> list[str]:
        """Ids of referrals that may still have a deadline (not in a final status)."""
        return list(self.connection.execute(sa.select(referrals.c.id).where(
            referrals.c.status.in_(("sent", "acknowledged", "accepted")))).scalars())

    def set_next_deadline(self, referral_id: str, next_deadline: Deadline | None) -> None:
        self.connection.execute(referrals.update().where(referrals.c.id == referral_id)
                                .values(next_deadline_at=_due_at(next_deadline)))

    def due(self, now: datetime, limit: int = 200) -> list[str]:
        """Ids of referrals whose next SLA deadline has come."""
        return list(self.connection.execute(
            sa.select(referrals.c.id).where(referrals.c.next_deadline_at.is_not(None),
                                            referrals.c.next_deadline_at <= now)
            .order_by(referrals.c.next_deadline_at).limit(limit)).scalars())

    def by_idempotency_key(self, user_id: str, key: str, not_before: datetime) -> tuple[str, str] | None:
        """(request hash, referral id) stored for this user's key since `not_before`, if any."""
        row = self.connection.execute(sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.referral_id)
                                      .where(idempotency_keys.c.user_id == user_id,
                                             idempotency_keys.c.key == key,
                                             idempotency_keys.c.created_at >= not_before)).first()
        return None if row is None else (row.request_hash, row.referral_id)

    # --- writing -------------------------------------------------------------------------

    def add(self, referral: Referral, next_deadline: Deadline | None) -> None:
        self._refuse_redacted(referral)
        self.connection.execute(referrals.insert().values(**self._row(referral),
                                                          next_deadline_at=_due_at(next_deadline)))
        self._append_history(referral, 0)
        self._loaded[referral.id] = (referral.version, len(referral.history))
        self.track(referral)

    def save(self, referral: Referral, next_deadline: Deadline | None) -> None:
        """Write the changes since `get`; StaleReferral if someone else wrote in between."""
        self._refuse_redacted(referral)
        version, known = self._loaded[referral.id]
        row = self._row(referral)
        for column in ("id", "created_at", "personal", "profile", "consent", "override_by", "override_at",
                       "override_reason", "referring_user_id", "referring_organization_id",
                       *_AREA_COLUMNS.values()):
            row.pop(column)  # fixed at creation
        changed = self.connection.execute(
            referrals.update().where(referrals.c.id == referral.id, referrals.c.version == version)
            .values(**row, next_deadline_at=_due_at(next_deadline))).rowcount
        if changed != 1:
            raise StaleReferral(referral.id)
        self._append_history(referral, known)
        self._loaded[referral.id] = (referral.version, len(referral.history))

    def remember_idempotency_key(self, user_id: str, key: str, request_hash: str, referral_id: str,
                                 at: datetime, expired_before: datetime) -> None:
        """Store the key; an expired use of the same key (not yet pruned) makes way for it.
        IdempotencyKeyTaken: another request stored it first."""
        self.connection.execute(idempotency_keys.delete().where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key,
            idempotency_keys.c.created_at < expired_before))
        try:
            self.connection.execute(idempotency_keys.insert().values(
                user_id=user_id, key=key, request_hash=request_hash, referral_id=referral_id, created_at=at))
        except IntegrityError:
            raise IdempotencyKeyTaken("another request stored this Idempotency-Key first") from None

    def forget_idempotency_keys(self, before: datetime) -> int:
        """Drop the keys stored before `before`; how many."""
        return self.connection.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < before)).rowcount

    # --- mapping -------------------------------------------------------------------------

    def _refuse_redacted(self, referral: Referral) -> None:
        if referral.personal_withheld:
            raise ValueError("a redacted view of a referral must never be saved")

    def _encrypt(self, text: str | None) -> str | None:
        return None if text is None else self.cipher.encrypt({"text": text})

    def _decrypt(self, token: str | None, personal: bool) -> str | None:
        if token is None:
            return None
        return self.cipher.decrypt(token)["text"] if personal else WITHHELD

    def _row(self, referral: Referral) -> dict:
        consent = referral.consent
        override = referral.override
        personal = referral.personal
        return dict(
            id=referral.id, status=referral.status, urgency=referral.urgency, risk_level=referral.risk_level,
            service_kind=referral.service_kind, receiving_service_id=referral.receiving_service_id,
            receiving_organization_id=referral.receiving_organization_id,
            **{column: getattr(referral.receiving_area, level) for level, column in _AREA_COLUMNS.items()},
            referring_organization_id=referral.referring_organization_id,
            referring_user_id=referral.referring_user_id, services_requested=list(referral.services_requested),
            profile=asdict(referral.profile),
            consent=None if consent is None else {
                "given": consent.given, "obtained_by": consent.obtained_by,
                "obtained_at": consent.obtained_at.isoformat(), "scope": list(consent.scope),
                "expires_at": consent.expires_at.isoformat() if consent.expires_at else None},
            override_by=override.by if override else None, override_at=override.at if override else None,
            override_reason=self._encrypt(override.reason) if override else None,
            personal=None if personal is None or not personal.filled() else self.cipher.encrypt(
                {**asdict(personal), "needs": list(personal.needs)}),
            created_at=referral.created_at, acknowledged_at=referral.acknowledged_at,
            decided_at=referral.decided_at, completed_at=referral.completed_at, cancelled_at=referral.cancelled_at,
            previous_referral_id=referral.previous_referral_id, next_referral_id=referral.next_referral_id,
            version=referral.version)

    def _append_history(self, referral: Referral, known: int) -> None:
        new = referral.history[known:]
        if new:
            self.connection.execute(history.insert(), [dict(
                referral_id=referral.id, seq=known + i, action=t.action, from_status=t.from_status,
                to_status=t.to_status, actor_user_id=t.actor_user_id, actor_organization_id=t.actor_organization_id,
                at=t.at, reason_code=t.reason_code, note=self._encrypt(t.note)) for i, t in enumerate(new)])

    def _referral(self, row, entries, personal: bool, withheld: bool | None = None) -> Referral:
        consent = row["consent"]
        override = None
        if row["override_by"]:
            override = ConsentOverride(by=row["override_by"], at=row["override_at"],
                                       reason=self._decrypt(row["override_reason"], personal))
        details = None
        if personal and row["personal"]:
            stored = self.cipher.decrypt(row["personal"])
            details = PersonalDetails(**{**stored, "needs": tuple(stored.get("needs") or ())})
        return Referral(
            id=row["id"], referring_user_id=row["referring_user_id"],
            referring_organization_id=row["referring_organization_id"],
            receiving_service_id=row["receiving_service_id"],
            receiving_organization_id=row["receiving_organization_id"], service_kind=row["service_kind"],
            receiving_area=ReceivingArea(**{level: row[column] for level, column in _AREA_COLUMNS.items()}),
            urgency=row["urgency"], risk_level=row["risk_level"],
            services_requested=tuple(row["services_requested"]), profile=ClientProfile(**row["profile"]),
            personal=details,
            consent=None if consent is None else Consent(
                given=consent["given"], obtained_by=consent["obtained_by"],
                obtained_at=datetime.fromisoformat(consent["obtained_at"]), scope=tuple(consent["scope"]),
                expires_at=datetime.fromisoformat(consent["expires_at"]) if consent["expires_at"] else None),
            override=override, created_at=row["created_at"], status=row["status"],
            acknowledged_at=row["acknowledged_at"], decided_at=row["decided_at"],
            completed_at=row["completed_at"], cancelled_at=row["cancelled_at"],
            previous_referral_id=row["previous_referral_id"], next_referral_id=row["next_referral_id"],
            history=tuple(Transition(e["action"], e["from_status"], e["to_status"], e["actor_user_id"],
                                     e["actor_organization_id"], e["at"], e["reason_code"],
                                     self._decrypt(e["note"], personal)) for e in entries),
            version=row["version"], personal_withheld=(not personal) if withheld is None else withheld)


class AuditLog:
    """The audit log: who did what to which referral, when, and from where.

    Rows are only ever inserted. `detail` holds field names and reason codes, never values:
    the audit log itself must not become a copy of the personal data it watches over."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def record(self, principal, action: str, referral_id: str | None, origin, at: datetime,
               detail: str | None = None) -> None:
        self.connection.execute(audit_log.insert().values(
            at=at, actor_user_id=principal.subject, actor_organization_id=principal.organization_id,
            actor_roles=",".join(principal.roles)[:200], action=action, referral_id=referral_id,
            detail=detail[:500] if detail else None, source_ip=(origin.source_ip or "")[:64] or None,
            request_id=(origin.request_id or "")[:128] or None))

    def list(self, filters: AuditFilters, page: Page) -> tuple[int, list[dict]]:
        where = []
        if filters.referral_id:
            where.append(audit_log.c.referral_id == filters.referral_id)
        if filters.actor:
            where.append(audit_log.c.actor_user_id == filters.actor)
        if filters.since:
            where.append(audit_log.c.at >= filters.since.astimezone(timezone.utc))
        if filters.until:
            where.append(audit_log.c.at < filters.until.astimezone(timezone.utc))
        condition = sa.and_(sa.true(), *where)
        total = self.connection.execute(sa.select(sa.func.count()).select_from(audit_log).where(condition)).scalar_one()
        rows = self.connection.execute(sa.select(audit_log).where(condition)
                                       .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                                       .limit(page.size).offset(page.offset)).mappings().all()
        return total, [dict(row) for row in rows]


class DeliveryReportRepository:
    """Delivery status on the referral: the outcomes the notify service publishes on
    `delivery-events`, kept per delivery (the newest report wins; a redelivered event changes
    nothing)."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def record(self, report: DeliveryReport) -> None:
        """Upsert one delivery's outcome (idempotent: at-least-once delivery of events)."""
        row = asdict(report)  # its fields are the table's columns
        changed = self.connection.execute(notifications.update().where(
            notifications.c.delivery_id == report.delivery_id, notifications.c.at <= report.at).values(**row)).rowcount
        if not changed and self.connection.execute(sa.select(notifications.c.delivery_id).where(
                notifications.c.delivery_id == report.delivery_id)).first() is None:
            self.connection.execute(notifications.insert().values(**row))

    def of_referral(self, referral_id: str) -> list[dict]:
        return self.of_referrals([referral_id]).get(referral_id, [])

    def of_referrals(self, referral_ids: list[str]) -> dict[str, list[dict]]:
        if not referral_ids:
            return {}
        rows = self.connection.execute(sa.select(notifications).where(notifications.c.referral_id.in_(referral_ids))
                                       .order_by(notifications.c.at, notifications.c.delivery_id)).mappings().all()
        found: dict[str, list[dict]] = {}
        for row in rows:
            found.setdefault(row["referral_id"], []).append(
                {k: row[k] for k in ("event_kind", "channel", "recipient_kind", "outcome", "attempts", "at")})
        return found


class IncidentRepository:
    """Serious incidents, one per referral (`domain/incidents.py`); the note encrypted. The
    state is derived from the times (`incidents.report_state`), so its filter is SQL on them."""

    FIELDS = ("referral_id", "referring_organization_id", "receiving_organization_id", "discovered_at",
              "phoned_at", "phoned_to", "marked_by", "marked_at", "report_sent_at", "report_sent_to",
              "recorded_by", "recorded_at", "reminded_due_at", "reminded_missed_at")

    def __init__(self, connection: Connection, cipher: FieldCipher):
        self.connection = connection
        self.cipher = cipher

    def get(self, referral_id: str, *, note: bool = False, for_update: bool = False) -> SeriousIncident | None:
        """`note`: decrypted; otherwise WITHHELD where one exists."""
        query = sa.select(serious_incidents).where(serious_incidents.c.referral_id == referral_id)
        if for_update:
            query = query.with_for_update()
        row = self.connection.execute(query).mappings().first()
        return None if row is None else self._incident(row, note)

    def add(self, incident: SeriousIncident) -> None:
        self.connection.execute(serious_incidents.insert().values(**self._row(incident)))

    def save(self, incident: SeriousIncident) -> None:
        row = self._row(incident)
        for fixed in ("referral_id", "note", "discovered_at", "phoned_at", "phoned_to", "marked_by", "marked_at"):
            row.pop(fixed)
        self.connection.execute(serious_incidents.update()
                                .where(serious_incidents.c.referral_id == incident.referral_id).values(**row))

    def list(self, organization_id: str | None, filters, page, now: datetime) -> tuple[int, list[SeriousIncident]]:
        """Incidents of referrals `organization_id` sent (None: all), most urgent deadline first,
        without their notes."""
        t = serious_incidents.c
        where = [sa.true()]
        if organization_id is not None:
            where.append(t.referring_organization_id == organization_id)
        if filters.discovered_from:
            where.append(t.discovered_at >= filters.discovered_from.astimezone(timezone.utc))
        if filters.discovered_to:
            where.append(t.discovered_at < filters.discovered_to.astimezone(timezone.utc))
        if filters.state:
            where.append({DUE: sa.and_(t.report_sent_at.is_(None), t.due_at > now),
                          MISSING: sa.and_(t.report_sent_at.is_(None), t.due_at <= now),
                          ON_TIME: t.report_sent_at < t.due_at,
                          LATE: t.report_sent_at >= t.due_at}[filters.state])
        condition = sa.and_(*where)
        total = self.connection.execute(sa.select(sa.func.count()).select_from(serious_incidents)
                                        .where(condition)).scalar_one()
        rows = self.connection.execute(sa.select(serious_incidents).where(condition)
                                       .order_by(t.due_at, t.referral_id)
                                       .limit(page.size).offset(page.offset)).mappings().all()
        return total, [replace(self._incident(row, False), note=None) for row in rows]

    def to_remind(self, now: datetime, limit: int = 200) -> list[str]:
        t = serious_incidents.c
        return list(self.connection.execute(
            sa.select(t.referral_id).where(t.next_reminder_at.is_not(None), t.next_reminder_at <= now)
            .order_by(t.next_reminder_at).limit(limit)).scalars())

    def _row(self, incident: SeriousIncident) -> dict:
        row = {name: getattr(incident, name) for name in self.FIELDS}
        return dict(row, note=None if incident.note is None else self.cipher.encrypt({"text": incident.note}),
                    due_at=incident.due_at, next_reminder_at=incident.next_reminder_at)

    def _incident(self, row, note: bool) -> SeriousIncident:
        text = row["note"]
        if text is not None:
            text = self.cipher.decrypt(text)["text"] if note else WITHHELD
        return SeriousIncident(**{name: row[name] for name in self.FIELDS}, note=text)
