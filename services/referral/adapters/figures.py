"""What the indicators read from the referral database: codes, times and flags of the
referrals made in a period (and of the serious incidents discovered in it), through
SQLAlchemy Core, the same on SQLite and PostgreSQL.

Only the columns a statistic needs are selected: never `personal`, `profile`, notes,
override reasons, user ids or authority names. The figures are computed in Python
(`domain/indicators.py`): medians and nearest-rank quantiles are not portable SQL, and a
province's year is thousands of rows, not millions.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..domain.indicators import IncidentFacts, Period, ReferralFacts
from ..domain.model import ACCEPT, DECLINE, ESCALATE
from ..service_layer.stats import Scope
from .orm import history, referrals, serious_incidents
from .repository import within

_COLUMNS = (referrals.c.id, referrals.c.created_at, referrals.c.status, referrals.c.urgency, referrals.c.risk_level,
            referrals.c.service_kind, referrals.c.receiving_province_code, referrals.c.receiving_district_code,
            referrals.c.receiving_commune_code, referrals.c.acknowledged_at, referrals.c.decided_at,
            referrals.c.completed_at, referrals.c.next_referral_id,
            referrals.c.override_by.is_not(None).label("overridden"))


class SqlFigures:
    def __init__(self, engine: Engine):
        self.engine = engine

    def referrals(self, scope: Scope, period: Period) -> list[ReferralFacts]:
        """The referrals within `scope` made in `period`."""
        condition = sa.and_(self._scope(scope), referrals.c.created_at >= period.starts_at,
                            referrals.c.created_at < period.ends_before)
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*_COLUMNS).where(condition)).all()
            steps = self._steps(connection, sa.select(referrals.c.id).where(condition))
        return [self._facts(row, steps.get(row.id, ())) for row in rows]

    def incidents(self, scope: Scope, period: Period) -> list[tuple[ReferralFacts, IncidentFacts]]:
        """The serious incidents discovered in `period`, of referrals within `scope`, each with
        its referral (which may have been made before the period)."""
        condition = sa.and_(self._scope(scope), serious_incidents.c.discovered_at >= period.starts_at,
                            serious_incidents.c.discovered_at < period.ends_before)
        joined = referrals.join(serious_incidents, serious_incidents.c.referral_id == referrals.c.id)
        query = sa.select(*_COLUMNS, serious_incidents.c.discovered_at, serious_incidents.c.due_at,
                          serious_incidents.c.report_sent_at).select_from(joined).where(condition)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
            steps = self._steps(connection, sa.select(referrals.c.id).select_from(joined).where(condition))
        return [(self._facts(row, steps.get(row.id, ())),
                 IncidentFacts(row.discovered_at, row.due_at, row.report_sent_at)) for row in rows]

    @staticmethod
    def _scope(scope: Scope):
        conditions = [within(scope.reach)]
        if scope.province:
            conditions.append(referrals.c.receiving_province_code == scope.province)
        if scope.area:
            conditions.append(sa.or_(referrals.c.receiving_district_code == scope.area,
                                     referrals.c.receiving_commune_code == scope.area))
        if scope.kind:
            conditions.append(referrals.c.service_kind == scope.kind)
        if scope.organization:
            conditions.append(sa.or_(referrals.c.referring_organization_id == scope.organization,
                                     referrals.c.receiving_organization_id == scope.organization))
        return sa.and_(*conditions)

    @staticmethod
    def _steps(connection, ids) -> dict[str, list[tuple[str, str | None]]]:
        """(action, reason code) of the accept, decline and escalate steps of the referrals
        `ids` selects: read in one query, beside the referrals, never their notes."""
        found: dict[str, list] = {}
        query = sa.select(history.c.referral_id, history.c.action, history.c.reason_code).where(
            history.c.referral_id.in_(ids), history.c.action.in_((ACCEPT, DECLINE, ESCALATE)))
        for row in connection.execute(query):
            found.setdefault(row.referral_id, []).append((row.action, row.reason_code))
        return found

    @staticmethod
    def _facts(row, steps) -> ReferralFacts:
        return ReferralFacts(
            created_at=row.created_at, status=row.status, urgency=row.urgency, risk_level=row.risk_level,
            kind=row.service_kind, province=row.receiving_province_code, district=row.receiving_district_code,
            commune=row.receiving_commune_code, acknowledged_at=row.acknowledged_at, decided_at=row.decided_at,
            completed_at=row.completed_at, accepted=any(action == ACCEPT for action, _ in steps),
            decline_reason=next((reason for action, reason in steps if action == DECLINE), None),
            re_referred=row.next_referral_id is not None, consent_overridden=bool(row.overridden),
            escalations=tuple(reason for action, reason in steps if action == ESCALATE and reason))


__all__ = ["SqlFigures"]
