"""The audit log: who did what to which referral, when, and from where.

Rows are only ever inserted. `detail` holds field names and reason codes, never values:
the audit log itself must not become a copy of the personal data it watches over.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..service_layer.commands import AuditFilters, Page
from .orm import audit_log


class AuditLog:
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
