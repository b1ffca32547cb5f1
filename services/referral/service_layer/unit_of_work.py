"""The unit of work the referral use cases see: one transaction, its repositories, and
(from the platform's base) the referral's events moved into the outbox at commit.

The repositories are described here as the use cases call them; `adapters/repository.py`
holds them in SQL, `adapters/unit_of_work.py` the transaction, the unit tests fakes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from haven.platform.principal import Principal
from haven.platform.unit_of_work import UnitOfWork

from ..domain.incidents import SeriousIncident
from ..domain.model import Deadline, Referral
from ..domain.reach import Reach
from .commands import AuditFilters, DeliveryReport, IncidentFilters, Origin, Page, ReferralFilters


class ReferralRepository(Protocol):
    """Referrals, their history and the Idempotency-Keys that created them. Every referral
    it adds or hands out is tracked by the unit of work (its events are published at
    commit). `next_deadline` is stored for the SLA timer to select on."""

    def get(self, referral_id: str, *, personal: bool = False, for_update: bool = False,
            reach: Reach | None = None, skip_locked: bool = False, system: bool = False) -> Referral | None:
        """The referral, if it exists and is within `reach`. `personal`: with its personal
        fields; `system`: without them, yet changeable (the SLA timer); neither: a
        redacted view."""

    def list(self, reach: Reach, filters: ReferralFilters, page: Page) -> tuple[int, list[Referral]]:
        """How many referrals within `reach` match, and one page of them (newest first,
        redacted)."""

    def add(self, referral: Referral, next_deadline: Deadline | None) -> None: ...

    def save(self, referral: Referral, next_deadline: Deadline | None) -> None:
        """Write the changes since `get`; StaleReferral if someone else wrote in between."""

    def waiting(self) -> list[str]:
        """Ids of referrals that may still have a deadline (not in a final status)."""

    def set_next_deadline(self, referral_id: str, next_deadline: Deadline | None) -> None: ...

    def due(self, now: datetime, limit: int = 200) -> list[str]:
        """Ids of referrals whose next deadline has come, earliest first."""

    def by_idempotency_key(self, user_id: str, key: str, not_before: datetime) -> tuple[str, str] | None:
        """(request fingerprint, referral id) stored for this user's key since `not_before`."""

    def remember_idempotency_key(self, user_id: str, key: str, request_hash: str, referral_id: str,
                                 at: datetime, expired_before: datetime) -> None:
        """Store the key (IdempotencyKeyTaken if another request stored it first); an
        expired use of the same key makes way for it."""

    def forget_idempotency_keys(self, before: datetime) -> int:
        """Drop the keys stored before `before`; how many."""


class AuditTrail(Protocol):
    """Who did what to which referral, when and from where; only ever appended to."""

    def record(self, principal: Principal, action: str, referral_id: str | None, origin: Origin, at: datetime,
               detail: str | None = None) -> None: ...

    def list(self, filters: AuditFilters, page: Page) -> tuple[int, list[dict]]: ...


class DeliveryReports(Protocol):
    """What notify reported about the deliveries of each referral's events."""

    def record(self, report: DeliveryReport) -> None:
        """Keep the newest report of each delivery (an older or repeated one changes nothing)."""

    def of_referral(self, referral_id: str) -> list[dict]:
        """channel, recipient kind, outcome, attempts and time of each delivery, oldest first."""

    def of_referrals(self, referral_ids: list[str]) -> dict[str, list[dict]]:
        """`of_referral` for each of a page of referrals, in one read (those with none are absent)."""


class SeriousIncidents(Protocol):
    """Serious incidents, one per referral (`domain/incidents.py`)."""

    def get(self, referral_id: str, *, note: bool = False, for_update: bool = False) -> SeriousIncident | None:
        """`note`: with the note's text; otherwise `[withheld]` where there is one."""

    def add(self, incident: SeriousIncident) -> None: ...

    def save(self, incident: SeriousIncident) -> None: ...

    def list(self, organization_id: str | None, filters: IncidentFilters, page: Page,
             now: datetime) -> tuple[int, list[SeriousIncident]]:
        """Those of referrals `organization_id` sent (None: all) matching `filters` at `now`,
        earliest deadline first, without notes."""

    def to_remind(self, now: datetime, limit: int = 200) -> list[str]:
        """Referral ids of incidents whose next reminder has come."""


class ReferralUnitOfWork(UnitOfWork):
    referrals: ReferralRepository
    audit: AuditTrail
    notifications: DeliveryReports
    incidents: SeriousIncidents


UnitOfWorkFactory = Callable[[], ReferralUnitOfWork]

__all__ = ["AuditTrail", "DeliveryReports", "ReferralRepository", "SeriousIncidents", "ReferralUnitOfWork", "UnitOfWorkFactory"]
