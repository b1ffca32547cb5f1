"""The portal inbox: what was addressed to the caller, or to the organization they work at."""
from __future__ import annotations

from haven.platform.principal import Principal

from ..domain.errors import NotFound
from ..domain.inbox import InboxItem
from .commands import ListInbox, MarkInboxItemRead
from .common import parse_time, utcnow
from .ports import Clock
from .unit_of_work import UnitOfWorkFactory


def _moment(text: str | None):
    # A notice keeps the event's times as the text the event carried; answers carry moments
    # in UTC with their offset, like every other time.
    return parse_time(text) if text else None


def _body(item: InboxItem) -> dict:
    notice = item.notice
    return {"id": item.id, "recipient_kind": item.recipient_kind, "referral_id": item.referral_id,
            "event": notice.get("kind"), "audience": notice.get("audience"), "urgency": notice.get("urgency"),
            "service_kind": notice.get("service_kind"), "deadline": _moment(notice.get("deadline")),
            "deadline_kind": notice.get("deadline_kind"), "reason_code": notice.get("reason_code"),
            "link": notice.get("link"), "occurred_at": _moment(notice.get("occurred_at")),
            "created_at": item.created_at, "read_at": item.read_at, "read": item.read_at is not None}


class Inbox:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock = utcnow):
        self.uow, self.clock = uow, clock

    def list(self, principal: Principal, query: ListInbox) -> tuple[int, int, list]:
        with self.uow() as uow:
            total, unread, items = uow.inbox.page(principal.subject, principal.organization_id, query.unread_only,
                                                  query.page, query.per_page)
        return total, unread, [_body(item) for item in items]

    def mark_read(self, principal: Principal, command: MarkInboxItemRead) -> dict:
        with self.uow() as uow:
            item = uow.inbox.get(command.item_id, principal.subject, principal.organization_id)
            if item is None:
                raise NotFound(command.item_id)
            if item.read_at is None:
                uow.inbox.mark_read(command.item_id, self.clock(), principal.subject)
            item = uow.inbox.get(command.item_id, principal.subject, principal.organization_id)
            uow.commit()
        return _body(item)
