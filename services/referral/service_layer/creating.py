"""Creating referrals: a new one (replayed for a retry with the same Idempotency-Key), or
a declined one sent on to another service. The receiving service is checked with the
directory before anything is written; the referral, its history, its `created` event and
its audit lines are written together or not at all."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from haven.platform.principal import Principal

from ..domain import sla
from ..domain.client import ClientProfile, PersonalDetails
from ..domain.consent import Consent, ConsentOverride
from ..domain.errors import InvalidReferral, NotPermitted
from ..domain.model import CREATE, RE_REFER, Referral
from .access import actor_of, disclose, reach_of, visible
from .commands import ConsentRecord, CreateReferral, Origin, Override, ReRefer
from .errors import IdempotencyKeyReused, IdempotencyKeyTaken, ReferralNotFound, ServiceNotReferable
from .ports import Clock, DirectoryLookup, Metrics, ServiceInfo
from .reading import Reading, View
from .unit_of_work import UnitOfWorkFactory


def fingerprint(command: CreateReferral) -> str:
    """The same request gives the same hash, whatever offset its times were written in."""
    def plain(value):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).isoformat()
        return str(value)

    return hashlib.sha256(json.dumps(asdict(command), sort_keys=True, default=plain).encode()).hexdigest()


def _consent(record: ConsentRecord | None) -> Consent | None:
    return Consent(**asdict(record)) if record else None


def _override(override: Override | None, principal: Principal, at: datetime) -> ConsentOverride | None:
    return ConsentOverride(by=principal.subject, at=at, reason=override.reason) if override else None


class Creating:
    def __init__(self, uow: UnitOfWorkFactory, directory: DirectoryLookup, metrics: Metrics,
                 policy: sla.SlaPolicy, clock: Clock, reading: Reading, idempotency_window: timedelta):
        self.uow, self.directory, self.metrics = uow, directory, metrics
        self.policy, self.clock, self.reading = policy, clock, reading
        # A retry within this window replays; later, the same key is a new request.
        self.idempotency_window = idempotency_window

    def create(self, principal: Principal, command: CreateReferral, origin: Origin,
               idempotency_key: str | None = None) -> tuple[View, bool]:
        """A new referral (True), or the one an earlier request with the same
        Idempotency-Key created (False). Raises UnknownService, ServiceNotReferable,
        DirectoryUnavailable, domain errors, IdempotencyKeyReused."""
        request_hash = fingerprint(command)
        if idempotency_key:
            replayed = self._replay(principal, idempotency_key, request_hash)
            if replayed is not None:
                return self.reading.view(principal, replayed, origin), False
        service = self._receiving_service(principal, CREATE, command)
        now = self.clock()
        referral = Referral.create(
            referrer=actor_of(principal), receiving_service_id=service.id,
            receiving_organization_id=service.organization_id, service_kind=service.kind,
            receiving_area=service.area, urgency=command.urgency, risk_level=command.risk_level,
            services_requested=command.services_requested or (service.kind,),
            profile=ClientProfile(**asdict(command.profile)),
            personal=PersonalDetails(**asdict(command.personal)) if command.personal else None,
            consent=_consent(command.consent), override=_override(command.override, principal, now), at=now)
        try:
            with self.uow() as uow:
                uow.referrals.add(referral, sla.next_deadline(referral, self.policy))
                if idempotency_key:
                    uow.referrals.remember_idempotency_key(principal.subject, idempotency_key, request_hash,
                                                           referral.id, now, now - self.idempotency_window)
                uow.audit.record(principal, "create", referral.id, origin, now,
                                 detail="consent overridden" if command.override else None)
                uow.commit()
        except IdempotencyKeyTaken:  # the same request raced itself: the first one won
            replayed = self._replay(principal, idempotency_key, request_hash)
            if replayed is not None:
                return self.reading.view(principal, replayed, origin), False
            raise
        self.metrics.step("create", referral.urgency, referral.service_kind)
        return self.reading.view(principal, referral, origin, audited=True), True

    def re_refer(self, principal: Principal, command: ReRefer, origin: Origin) -> View:
        """A declined referral sent on to another service, linked to it."""
        service = self._receiving_service(principal, RE_REFER, command)
        with self.uow() as uow:
            previous = uow.referrals.get(command.referral_id, personal=True, for_update=True,
                                         reach=reach_of(principal))
            if previous is None or not visible(principal, previous):
                raise ReferralNotFound(command.referral_id)
            now = max(self.clock(), previous.history[-1].at)
            successor = previous.re_refer(
                actor_of(principal), now, receiving_service_id=service.id,
                receiving_organization_id=service.organization_id, service_kind=service.kind,
                receiving_area=service.area, urgency=command.urgency, risk_level=command.risk_level,
                services_requested=command.services_requested or (service.kind,),
                consent=_consent(command.consent), override=_override(command.override, principal, now))
            uow.referrals.save(previous, None)
            uow.referrals.add(successor, sla.next_deadline(successor, self.policy))
            uow.audit.record(principal, "re_refer", previous.id, origin, now, detail=f"as {successor.id}")
            uow.audit.record(principal, "create", successor.id, origin, now,
                             detail="consent overridden" if command.override else None)
            shown = disclose(principal, successor)[2]
            if shown:
                uow.audit.record(principal, "read_personal", successor.id, origin, now, detail=shown)
            uow.commit()
        self.metrics.step("create", successor.urgency, successor.service_kind)
        return self.reading.view(principal, successor, origin, audited=True)

    def forget_expired_idempotency_keys(self) -> int:
        """The worker's pruning: keys past the window replay nothing, so they go."""
        with self.uow() as uow:
            count = uow.referrals.forget_idempotency_keys(self.clock() - self.idempotency_window)
            uow.commit()
        return count

    def _receiving_service(self, principal: Principal, action: str, command: CreateReferral | ReRefer) -> ServiceInfo:
        """Before anything is written: may this caller override consent (if asked), and is
        the receiving service real, active, and are the kinds asked for ones it knows?"""
        if command.override is not None and not principal.can("referral:consent_override"):
            raise NotPermitted(action, "Overriding consent needs the 'referral:consent_override' permission "
                                       "(supervisors).")
        service = self.directory.service(command.receiving_service_id)
        if not service.active:
            raise ServiceNotReferable(service.id)
        if command.services_requested:
            unknown = sorted(set(command.services_requested) - self.directory.kinds())
            if unknown:
                raise InvalidReferral("services_requested", "names a kind the directory does not know "
                                      "(GET /v1/kinds on the directory)")
        return service

    def _replay(self, principal: Principal, key: str, request_hash: str) -> Referral | None:
        with self.uow() as uow:
            found = uow.referrals.by_idempotency_key(principal.subject, key, self.clock() - self.idempotency_window)
            if found is None:
                return None
            if found[0] != request_hash:
                raise IdempotencyKeyReused()
            return uow.referrals.get(found[1], personal=True)


__all__ = ["Creating", "fingerprint"]
