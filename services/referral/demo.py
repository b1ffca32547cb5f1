"""Demo referrals for a first start (`haven run`), so the indicators and the yearly report
show figures, not only `<5`: a year of fictional referrals from a demo Women's Union to
the demo directory's services in Hà Nội and Lạng Sơn, each walked through its lifecycle
(acknowledged, accepted, declined, completed, cancelled, escalated when a deadline passed)
at plausible times, some in the programme year that has just begun.

Nothing personal: a pseudonymous reference, an age group, consent to the referral only.
The demo users' organizations are on neither side of them: what a demo caseworker, agency
or supervisor sees in her lists is only what she does herself (the portal's journeys rely
on it); ops and admin see the figures.
They are history, so they raise no events: notify sends nothing for them. Every random
choice comes from one seed, so every first start makes the same set (relative to today).
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from functools import partial

from haven.platform import db
from haven.platform.field_cipher import cipher_for

from . import contract
from .adapters.unit_of_work import SqlReferralUnitOfWork
from .domain import indicators, sla
from .domain.client import ClientProfile
from .domain.consent import Consent
from .domain.model import Actor, Referral
from .domain.place import ReceivingArea

PROVINCES = ("01", "20")  # Hà Nội, Lạng Sơn: where the demo year's referrals go
REFERRALS = 240
THIS_YEAR = 40  # of them, made since the programme year began (or in the last 30 days)
CASEWORKER = "demo-history-caseworker"  # no account: these referrals' makers only
STAFF = "demo-history-staff"


def load(config, database_url: str, now: datetime | None = None, seed: int = 2026) -> int:
    """Write the demo referrals; how many."""
    from services.directory import demo_data
    from services.directory.demo import demo_organizations

    providers = demo_data.providers()
    users = set(demo_organizations(providers).values())
    womens_union = next(org.id for org, _, _ in providers
                        if org.name.startswith("Hội Liên hiệp Phụ nữ") and org.id not in users)
    targets = [(service, next(loc for loc in locations if loc.id == service.location_ids[0]))
               for _, locations, services in providers for service in services
               if service.location_ids and service.kind != "hotline" and service.organization_id not in users]
    targets = [(s, loc) for s, loc in targets if loc.province_code in PROVINCES]
    policy = sla.SlaPolicy.parse(config.referral_sla)
    uow = partial(SqlReferralUnitOfWork, db.create_engine(database_url), cipher_for(config), contract.messages(policy))
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    rng = random.Random(seed)
    year_began = indicators.programme_year(indicators.programme_year_of(indicators.vietnam_day(now))).starts_at
    recent_from = min(max(year_began, now - timedelta(days=30)), now - timedelta(minutes=30))
    made = 0
    for i in range(REFERRALS):
        if i < THIS_YEAR:
            at = recent_from + (now - timedelta(minutes=10) - recent_from) * rng.random()
        else:
            at = now - timedelta(days=365) + timedelta(days=335) * rng.random()
        service, location = rng.choice(targets)
        referral = _walked(rng, policy, now, at, womens_union, service, location, i)
        with uow() as work:
            work.referrals.add(referral, sla.next_deadline(referral, policy))
            referral.events.clear()  # history, not news: nobody is notified of it
            work.commit()
        made += 1
    return made


def _walked(rng: random.Random, policy: sla.SlaPolicy, now: datetime, at: datetime, womens_union: str,
            service, location, number: int) -> Referral:
    urgency = rng.choices(("emergency", "high", "normal"), (15, 35, 50))[0]
    caseworker = Actor(CASEWORKER, womens_union)
    # What the directory tells anyone of a confidential location: not its commune.
    area = ReceivingArea(location.province_code, location.district_code,
                         None if location.confidential else location.commune_code)
    referral = Referral.create(
        referrer=caseworker, receiving_service_id=service.id, receiving_organization_id=service.organization_id,
        service_kind=service.kind, receiving_area=area, urgency=urgency,
        risk_level=rng.choices(("low", "medium", "high", "severe"), (20, 40, 30, 10))[0],
        services_requested=(service.kind,),
        profile=ClientProfile(f"DEMO-{number + 1:04d}", rng.choice(("18_24", "25_59", "25_59", "60_plus")),
                              "female"),
        personal=None, consent=Consent(True, CASEWORKER, at - timedelta(minutes=10), ()), at=at)
    staff = Actor(STAFF, service.organization_id)
    # A typical time to acknowledge: most are within the deadline (15 min, 4 h, 24 h), some not.
    hours = {"emergency": 0.15, "high": 2.0, "normal": 12.0}[urgency]
    acknowledged = at + timedelta(hours=hours * rng.lognormvariate(0, 0.6))
    decided = acknowledged + timedelta(hours=hours * rng.lognormvariate(0.5, 0.6))
    fate = rng.choices(("sent", "acknowledged", "accepted", "declined", "cancelled"), (8, 7, 62, 15, 8))[0]
    steps: list[tuple[datetime, str]] = []
    if fate == "cancelled":
        steps.append((at + timedelta(hours=hours * rng.uniform(0.2, 1.5)), "cancel"))
    if fate in ("acknowledged", "accepted", "declined"):
        steps.append((acknowledged, "acknowledge"))
    if fate in ("accepted", "declined"):
        steps.append((decided, "accept" if fate == "accepted" else "decline"))
    if fate == "accepted" and rng.random() < 0.7:
        steps.append((decided + timedelta(days=rng.uniform(1, 20)), "complete"))
    for deadline in sla.deadlines(referral, policy):
        steps.append((deadline.due_at + timedelta(minutes=1), "escalate"))  # the SLA timer looks
    for moment, step in sorted(steps):
        if moment > now:
            break
        if step == "escalate":
            sla.escalate_overdue(referral, policy, moment)
        elif step == "acknowledge":
            referral.acknowledge(staff, moment)
        elif step == "accept":
            referral.accept(staff, moment)
        elif step == "decline":
            referral.decline(staff, moment, rng.choice(("no_capacity", "no_capacity", "not_eligible", "out_of_area")))
        elif step == "complete":
            referral.complete(staff, moment)
        elif step == "cancel":
            referral.cancel(caseworker, moment, "client_safe")
    return referral


__all__ = ["load"]
