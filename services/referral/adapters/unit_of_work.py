"""The referral unit of work on the referral database: one transaction, the referral,
audit and delivery-report repositories on its connection, and the referrals' events
written to the outbox at commit (`contract.messages` says how each one is published)."""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from haven.platform.field_cipher import FieldCipher
from haven.platform.sql_unit_of_work import SqlUnitOfWork
from haven.platform.unit_of_work import EventMessages

from ..service_layer.unit_of_work import ReferralUnitOfWork
from .orm import outbox
from .repository import AuditLog, DeliveryReportRepository, IncidentRepository, ReferralRepository


class SqlReferralUnitOfWork(SqlUnitOfWork, ReferralUnitOfWork):
    def __init__(self, engine: Engine, cipher: FieldCipher, messages: EventMessages):
        super().__init__(engine, outbox, messages)
        self.cipher = cipher

    def open(self, connection: Connection) -> None:
        self.referrals = ReferralRepository(connection, self.cipher, self.track)
        self.audit = AuditLog(connection)
        self.notifications = DeliveryReportRepository(connection)
        self.incidents = IncidentRepository(connection, self.cipher)


__all__ = ["SqlReferralUnitOfWork"]
