"""The indicators use case: who may see which referrals' figures, over which period, and
the table of them (`domain/indicators.py` computes and suppresses).

- ops and admin: every referral (optionally one organization's);
- a supervisor: the referrals her organization sent or received, and no other
  organization's (asking for one is refused, 403).
The period defaults to the programme year containing today in Vietnam.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from haven.platform.principal import Principal, permissions_for

from ..domain import indicators, sla
from ..domain.errors import NotPermitted
from ..domain.indicators import IncidentFacts, Period, ReferralFacts, Table
from ..domain.model import RECEIVING, REFERRING
from ..domain.reach import EVERYTHING, Reach
from .ports import Clock

AGGREGATES = "referral:aggregates"
STATS = "stats"

# The operator's own command on the server (`haven report yearly`) reads as ops does.
OPERATOR = Principal(subject="system:report", roles=("ops",), permissions=permissions_for(("ops",)))


@dataclass(frozen=True)
class StatsQuery:
    first: date | None = None
    last: date | None = None
    group_by: str | None = None
    province: str | None = None
    area: str | None = None  # a district or commune code
    kind: str | None = None
    organization: str | None = None


@dataclass(frozen=True)
class Scope:
    """Which referrals count: the caller's reach and the filters asked for."""

    reach: Reach
    province: str | None = None
    area: str | None = None
    kind: str | None = None
    organization: str | None = None


class Figures(Protocol):
    """The referral database as the statistics read it (codes, times, flags only)."""

    def referrals(self, scope: Scope, period: Period) -> list[ReferralFacts]:
        """Referrals within `scope` made in `period`."""

    def incidents(self, scope: Scope, period: Period) -> list[tuple[ReferralFacts, IncidentFacts]]:
        """Serious incidents discovered in `period`, of referrals within `scope`."""


class Stats:
    def __init__(self, figures: Figures, policy: sla.SlaPolicy, clock: Clock, min_cell: int):
        self.figures, self.policy, self.clock, self.min_cell = figures, policy, clock, min_cell

    def today(self) -> date:
        return indicators.vietnam_day(self.clock())

    def scope(self, principal: Principal, query: StatsQuery) -> Scope:
        """The caller's scope; NotPermitted (403) for a role without aggregates, and for a
        supervisor asking for another organization's figures."""
        if not principal.can(AGGREGATES):
            raise NotPermitted(STATS, "Indicators are for ops, admin and supervisors (their own organization).")
        reach, organization = EVERYTHING, query.organization
        if principal.limited_to_organization(AGGREGATES):
            own = principal.organization_id
            if not own:
                raise NotPermitted(STATS, "Your supervisor account is not bound to an organization.")
            if organization not in (None, own):
                raise NotPermitted(STATS, "A supervisor sees her own organization's figures only.")
            reach, organization = Reach(frozenset({REFERRING, RECEIVING}), own), None
        return Scope(reach, query.province, query.area, query.kind, organization)

    def indicators(self, principal: Principal, query: StatsQuery) -> Table:
        """The indicators of the referrals made in the period, in total and per group."""
        scope = self.scope(principal, query)
        period = indicators.period_of(query.first, query.last, self.today())
        return self.table(scope, period, query.group_by)

    def table(self, scope: Scope, period: Period, grouping: str | None) -> Table:
        return self.tables(scope, period, (grouping,))[grouping]

    def tables(self, scope: Scope, period: Period, groupings) -> dict[str | None, Table]:
        """The same referrals' tables in several groupings (read once, one `now`): the
        totals agree, and are suppressed alike, in every one."""
        facts, incidents = self.figures.referrals(scope, period), self.figures.incidents(scope, period)
        now = self.clock()
        return {g: indicators.table(facts, incidents, period, g, self.policy, now, self.min_cell) for g in groupings}


__all__ = ["OPERATOR", "Figures", "Scope", "Stats", "StatsQuery"]
