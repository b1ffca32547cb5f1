"""Serious incidents' use cases: mark a referral, record the written report, read one or a
list, and the reminder timer's round. Each writes the incident, the referral's history step,
its audit line and (for a reminder) its event in one transaction.

Who may do what (conservative, as the rest of `access`):
- mark: the referring organization's caseworkers and supervisors (they know the case and
  answer for it). The receiving agency's staff do not: they tell the referring caseworker,
  who reports; ops and admin do not act on cases.
- record the written report: the referring organization's supervisors only (the report
  goes out under the head of the organization's name).
- read one: whoever may read the referral; the note only the referring organization's
  caseworkers and supervisors, and that read is audited.
- the list: supervisors for the referrals their organization sent; ops and admin all.
A referral the caller may not see is not found (404), as everywhere; one they may see but
not act on this way is NotPermitted (403)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from haven.platform import refusals
from haven.platform.principal import Principal

from ..domain import sla
from ..domain.errors import IllegalTransition, NotPermitted
from ..domain.incidents import MARK, REPORT, SeriousIncident
from ..domain.model import WITHHELD, Referral
from .access import EVERY_REFERRAL_ROLES, REFERRING_ROLES, SYSTEM, actor_of, reach_of, visible
from .commands import IncidentFilters, MarkIncident, Origin, Page, RecordWrittenReport
from .errors import ReferralNotFound
from .ports import Clock
from .rounds import each_on_its_own
from .unit_of_work import ReferralUnitOfWork, UnitOfWorkFactory


SUPERVISOR = "supervisor"


class IncidentNotFound(refusals.NotFound):
    """The referral was not marked as a serious incident."""


@dataclass
class IncidentView:
    """An incident as one caller is shown it, the state at the time of the answer."""

    incident: SeriousIncident
    state: str
    actions: tuple[str, ...]


def _refers(principal: Principal, incident: SeriousIncident) -> bool:
    return bool(set(principal.roles) & REFERRING_ROLES) and \
        principal.organization_id == incident.referring_organization_id


def shown(principal: Principal, uow: ReferralUnitOfWork, referral_id: str, now: datetime) -> IncidentView | None:
    """The referral's incident as `principal` (who may read the referral) sees it, or None.
    The note is decrypted only for the referring organization; the caller audits that read
    (`note_read`)."""
    incident = uow.incidents.get(referral_id)
    if incident is None:
        return None
    if incident.note is not None and _refers(principal, incident):
        incident = uow.incidents.get(referral_id, note=True)
    return IncidentView(incident, incident.state(now),
                        incident.allowed_actions(actor_of(principal), supervisor=SUPERVISOR in principal.roles))


def note_read(view: IncidentView | None) -> bool:
    """The view shows the note's text (a read of free text, audited as one)."""
    return view is not None and view.incident.note not in (None, WITHHELD)


class Incidents:
    def __init__(self, uow: UnitOfWorkFactory, policy: sla.SlaPolicy, clock: Clock):
        self.uow, self.policy, self.clock = uow, policy, clock

    def get(self, principal: Principal, referral_id: str, origin: Origin) -> IncidentView:
        with self.uow() as uow:
            self._referral(uow, principal, referral_id)
            view = shown(principal, uow, referral_id, self.clock())
            if view is None:
                raise IncidentNotFound(f"referral {referral_id} is not marked as a serious incident")
            if note_read(view):
                uow.audit.record(principal, "read_personal", referral_id, origin, self.clock(), detail="incident.note")
                uow.commit()
        return view

    def mark(self, principal: Principal, command: MarkIncident, origin: Origin) -> IncidentView:
        """Raises ReferralNotFound, NotPermitted, IllegalTransition (already marked), InvalidReferral."""
        with self.uow() as uow:
            referral = self._referral(uow, principal, command.referral_id, for_update=True)
            if not set(principal.roles) & REFERRING_ROLES:
                raise NotPermitted(MARK, "only the referring organization's caseworkers and supervisors may mark "
                                         "a serious incident")
            if uow.incidents.get(referral.id) is not None:
                raise IllegalTransition(referral.status, MARK, "this referral is already marked as a serious "
                                                               "incident")
            now = max(self.clock(), referral.history[-1].at)
            incident = SeriousIncident.mark(referral, actor_of(principal), discovered_at=command.discovered_at,
                                            phoned_at=command.phoned_at, phoned_to=command.phoned_to,
                                            note=command.note, at=now)
            uow.incidents.add(incident)
            uow.referrals.save(referral, sla.next_deadline(referral, self.policy))
            uow.audit.record(principal, MARK, referral.id, origin, now)
            uow.commit()
        return self.get(principal, command.referral_id, origin)

    def record_written_report(self, principal: Principal, command: RecordWrittenReport,
                              origin: Origin) -> IncidentView:
        """Raises ReferralNotFound, IncidentNotFound, NotPermitted, IllegalTransition (recorded
        already), InvalidReferral."""
        with self.uow() as uow:
            referral = self._referral(uow, principal, command.referral_id, for_update=True)
            incident = uow.incidents.get(referral.id, for_update=True)
            if incident is None:
                raise IncidentNotFound(f"referral {referral.id} is not marked as a serious incident")
            if SUPERVISOR not in principal.roles:
                raise NotPermitted(REPORT, "only a supervisor of the referring organization records the written "
                                           "report")
            now = max(self.clock(), referral.history[-1].at)
            incident.record_written_report(referral, actor_of(principal), sent_at=command.sent_at,
                                           sent_to=command.sent_to, at=now)
            uow.incidents.save(incident)
            uow.referrals.save(referral, sla.next_deadline(referral, self.policy))
            uow.audit.record(principal, REPORT, referral.id, origin, now)
            uow.commit()
        return self.get(principal, command.referral_id, origin)

    def list(self, principal: Principal, filters: IncidentFilters, page: Page) -> tuple[int, list[IncidentView]]:
        roles = set(principal.roles)
        if roles & EVERY_REFERRAL_ROLES:
            organization = None
        elif SUPERVISOR in roles and principal.organization_id:
            organization = principal.organization_id
        else:
            raise NotPermitted("list_incidents", "the list of serious incidents is for supervisors, ops and admin")
        now = self.clock()
        with self.uow() as uow:
            total, found = uow.incidents.list(organization, filters, page, now)
        actor, supervisor = actor_of(principal), SUPERVISOR in roles
        return total, [IncidentView(i, i.state(now), i.allowed_actions(actor, supervisor=supervisor)) for i in found]

    # --- the reminder timer -----------------------------------------------------------------

    def remind_due(self, limit: int = 200) -> int:
        """Publish each reminder whose time has come (before the deadline, and when it is
        missed), once; how many. An incident that fails is logged and skipped."""
        now = self.clock()
        with self.uow() as uow:
            due = uow.incidents.to_remind(now, limit)
        return each_on_its_own(due, lambda referral_id: self._remind(referral_id, now), "an incident reminder")

    def _remind(self, referral_id: str, now: datetime) -> int:
        with self.uow() as uow:
            incident = uow.incidents.get(referral_id, for_update=True)
            referral = uow.referrals.get(referral_id, system=True)
            if incident is None or referral is None:
                return 0
            event = incident.remind(referral, now)  # raised on the referral: the outbox takes it at commit
            uow.incidents.save(incident)
            if event is not None:
                uow.audit.record(SYSTEM, "incident_reminded", referral_id, Origin(), now, detail=event.type)
            uow.commit()
        return int(event is not None)

    def _referral(self, uow: ReferralUnitOfWork, principal: Principal, referral_id: str,
                  for_update: bool = False) -> Referral:
        # `system`: changeable without decrypting personal fields (a step touches none).
        referral = uow.referrals.get(referral_id, system=True, for_update=for_update, reach=reach_of(principal))
        if referral is None or not visible(principal, referral):
            raise ReferralNotFound(referral_id)
        return referral


__all__ = ["IncidentNotFound", "IncidentView", "Incidents", "note_read", "shown"]
