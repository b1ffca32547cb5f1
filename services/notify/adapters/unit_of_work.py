"""The notify unit of work on its database: one transaction, the repositories on it, and
the delivery outcomes it publishes written to notify's outbox in that same transaction."""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from haven.platform.sql_unit_of_work import SqlUnitOfWork

from ..service_layer.unit_of_work import NotifyUnitOfWork
from .orm import outbox
from .repository import ConsumedEventRepository, DeliveryRepository, InboxRepository, SubscriptionRepository


class SqlNotifyUnitOfWork(SqlUnitOfWork, NotifyUnitOfWork):
    def __init__(self, engine: Engine):
        super().__init__(engine, outbox)

    def open(self, connection: Connection) -> None:
        self.subscriptions = SubscriptionRepository(connection)
        self.deliveries = DeliveryRepository(connection)
        self.inbox = InboxRepository(connection)
        self.consumed_events = ConsumedEventRepository(connection)


__all__ = ["SqlNotifyUnitOfWork"]
