"""Reading referrals: one (with its history), a page of them, the audit log; and the view
every use case answers with. Every read of personal data is audited."""
from __future__ import annotations

from dataclasses import dataclass, field

from haven.platform.principal import Principal

from ..domain import sla
from ..domain.model import Referral
from .access import allowed_actions, disclose, may_hold_own_notes, personal_visible, reach_of, visible
from .commands import AuditFilters, Origin, Page, ReferralFilters
from .errors import ReferralNotFound
from .incidents import note_read, shown as incident_shown
from .ports import Clock
from .unit_of_work import UnitOfWorkFactory


@dataclass
class View:
    """A referral as one caller is shown it."""

    referral: Referral
    personal_visible: bool
    actions: tuple[str, ...]
    notifications: list = field(default_factory=list)  # what notify reported: channel, outcome, attempts (no addresses)
    deadlines: tuple = ()  # sla.DeadlineProgress of each deadline, under the policy in force
    incident: object = None  # incidents.IncidentView when marked as a serious incident


@dataclass
class Listed:
    """A referral as a list shows it: its summary (never personal fields), how its deadlines
    stand and what notify reported, so a list can say what is overdue and who was told."""

    referral: Referral
    deadlines: tuple = ()
    notifications: list = field(default_factory=list)


class Reading:
    def __init__(self, uow: UnitOfWorkFactory, policy: sla.SlaPolicy, clock: Clock):
        self.uow, self.policy, self.clock = uow, policy, clock

    def get(self, principal: Principal, referral_id: str, origin: Origin) -> View:
        with self.uow() as uow:
            referral = uow.referrals.get(referral_id, reach=reach_of(principal))
            if referral is None or not visible(principal, referral):
                raise ReferralNotFound(referral_id)
            # Decrypted only for a caller who may see some of it; `disclose` cuts it down.
            if personal_visible(principal, referral) or may_hold_own_notes(principal, referral):
                referral = uow.referrals.get(referral_id, personal=True)
        return self.view(principal, referral, origin)

    def list(self, principal: Principal, filters: ReferralFilters, page: Page) -> tuple[int, list[Listed]]:
        with self.uow() as uow:
            total, found = uow.referrals.list(reach_of(principal), filters, page)
            sent = uow.notifications.of_referrals([r.id for r in found])
        now = self.clock()
        return total, [Listed(r, sla.progress(r, self.policy, now), sent.get(r.id, [])) for r in found]

    def audit(self, filters: AuditFilters, page: Page) -> tuple[int, list[dict]]:
        with self.uow() as uow:
            return uow.audit.list(filters, page)

    def view(self, principal: Principal, referral: Referral, origin: Origin, audited: bool = False) -> View:
        """The answer for `principal`; `audited`: the use case already recorded the read of
        what it shows."""
        view, personal, shown = disclose(principal, referral)
        with self.uow() as uow:
            sent = uow.notifications.of_referral(referral.id)
            incident = incident_shown(principal, uow, referral.id, self.clock())
            # Every read of personal data is audited (own transaction: the read happened);
            # the use case may have recorded that of the referral already, not the incident's note.
            note = "incident.note" if note_read(incident) else None
            read = ",".join(filter(None, (None if audited else shown, note)))
            if read:
                uow.audit.record(principal, "read_personal", referral.id, origin, self.clock(), detail=read)
                uow.commit()
        return View(view, personal, allowed_actions(principal, referral), sent,
                    sla.progress(referral, self.policy, self.clock()), incident)


__all__ = ["Listed", "Reading", "View"]
