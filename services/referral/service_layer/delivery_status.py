"""Delivery status on the referral: what notify reported about each delivery of its
events, kept so that the referrer sees on the referral itself that the agency was told."""
from __future__ import annotations

from .commands import DeliveryReport
from .unit_of_work import UnitOfWorkFactory


class DeliveryStatus:
    def __init__(self, uow: UnitOfWorkFactory):
        self.uow = uow

    def record(self, report: DeliveryReport) -> None:
        """Idempotent (events arrive at least once): the newest report of a delivery wins."""
        with self.uow() as uow:
            uow.notifications.record(report)
            uow.commit()


__all__ = ["DeliveryStatus"]
