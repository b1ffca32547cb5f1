"""The portal inbox: what was addressed to the caller, or to the organization they work at."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from haven.platform.auth import Principal

from ..adapters.orm import inbox
from ..domain.model import ORGANIZATION, USER
from .common import NotFound, parse_time, utcnow


def _mine(principal: Principal):
    condition = sa.and_(inbox.c.recipient_kind == USER, inbox.c.recipient_id == principal.subject)
    if principal.organization_id:
        condition = sa.or_(condition, sa.and_(inbox.c.recipient_kind == ORGANIZATION,
                                              inbox.c.recipient_id == principal.organization_id))
    return condition


def _moment(text: str | None):
    # A notice keeps the event's times as the text the event carried; answers carry moments
    # in UTC with their offset, like every other time.
    return parse_time(text) if text else None


def _body(row) -> dict:
    notice = row.notice
    return {"id": row.id, "recipient_kind": row.recipient_kind, "referral_id": row.referral_id,
            "event": notice.get("kind"), "audience": notice.get("audience"), "urgency": notice.get("urgency"),
            "service_kind": notice.get("service_kind"), "deadline": _moment(notice.get("deadline")),
            "deadline_kind": notice.get("deadline_kind"), "reason_code": notice.get("reason_code"),
            "link": notice.get("link"), "occurred_at": _moment(notice.get("occurred_at")),
            "created_at": row.created_at, "read_at": row.read_at, "read": row.read_at is not None}


class Inbox:
    def __init__(self, engine: Engine):
        self.engine = engine

    def list(self, principal: Principal, unread_only: bool, page: int, per_page: int) -> tuple[int, int, list]:
        condition = _mine(principal)
        with self.engine.connect() as connection:
            count = sa.select(sa.func.count()).select_from(inbox)
            total = connection.execute(count.where(condition, inbox.c.read_at.is_(None) if unread_only
                                                   else sa.true())).scalar()
            unread = connection.execute(count.where(condition, inbox.c.read_at.is_(None))).scalar()
            query = sa.select(inbox).where(condition)
            if unread_only:
                query = query.where(inbox.c.read_at.is_(None))
            rows = connection.execute(query.order_by(inbox.c.created_at.desc(), inbox.c.id)
                                      .limit(per_page).offset((page - 1) * per_page)).all()
        return total, unread, [_body(row) for row in rows]

    def mark_read(self, principal: Principal, item_id: str) -> dict:
        with self.engine.begin() as connection:
            row = connection.execute(sa.select(inbox).where(inbox.c.id == item_id, _mine(principal))).first()
            if row is None:
                raise NotFound(item_id)
            if row.read_at is None:
                connection.execute(inbox.update().where(inbox.c.id == item_id)
                                   .values(read_at=utcnow(), read_by=principal.subject))
            row = connection.execute(sa.select(inbox).where(inbox.c.id == item_id)).first()
        return _body(row)
