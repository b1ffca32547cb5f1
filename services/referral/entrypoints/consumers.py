"""The referral service's event consumers: what notify reports about each delivery
(`delivery-events`), kept to show it on the referral."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Callable

import services.notify.contract as notify_contract  # registers the delivery event schemas
from haven.platform import events
from haven.platform.eventlog import EventLog, Record, worker

from ..service_layer.commands import DeliveryReport
from ..service_layer.referrals import Referrals

DELIVERY_STATUS_GROUP = "referral-delivery-status"


def delivery_report(data: dict) -> DeliveryReport:
    return DeliveryReport(delivery_id=data["delivery_id"], referral_id=data["referral_id"],
                          event_kind=data["event_kind"], channel=data["channel"],
                          recipient_kind=data["recipient_kind"], outcome=data["outcome"],
                          attempts=int(data["attempts"]),
                          at=datetime.fromisoformat(data["at"]).astimezone(timezone.utc))


def delivery_status_handler(referrals: Referrals) -> Callable[[Record], None]:
    def handle(record: Record) -> None:
        event = events.decode(record.value)  # InvalidEvent: dead-lettered by the worker
        if event.type in (notify_contract.DELIVERED, notify_contract.FAILED):
            referrals.delivery_status.record(delivery_report(event.data))

    return handle


def delivery_status(event_log: Callable[[], EventLog], referrals: Referrals,
                    instance: str) -> Callable[[threading.Event], None]:
    """The job: consume `delivery-events` as `instance` (the replica's stable name in the
    group) until stopped, on an event log made afresh for each run."""
    handle = delivery_status_handler(referrals)

    def run(stop: threading.Event) -> None:
        worker.run(event_log(), DELIVERY_STATUS_GROUP, [notify_contract.TOPIC], handle, stop, instance=instance)

    return run


__all__ = ["DELIVERY_STATUS_GROUP", "delivery_report", "delivery_status", "delivery_status_handler"]
