"""The time from a referral to its agency's first notice is counted once per referral, even
when two channels (a webhook and an e-mail) succeed at the same moment on two threads: on
SQLite and on PostgreSQL, whose default isolation lets two transactions miss each other's
uncommitted change."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from haven.cli import SERVICES
from haven.platform import db
from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
from services.notify.domain.delivery import Delivery
from services.notify.domain.model import ORGANIZATION

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
EVENT = "evt-created-1"


@pytest.fixture
def engine(database_url):
    SERVICES["notify"].migrations().upgrade(database_url)
    engine = db.create_engine(database_url)
    yield engine
    engine.dispose()


def sending(engine, channel: str) -> tuple[str, int]:
    """A delivery of the event to the agency, claimed and with its attempt started."""
    delivery_id = f"dlv-{channel}"
    with SqlNotifyUnitOfWork(engine) as uow:
        uow.deliveries.add(Delivery(
            id=delivery_id, dedupe_key=f"{EVENT}:{channel}", event_id=EVENT, event_kind="created",
            referral_id="ref-1", recipient_kind=ORGANIZATION, recipient_id="org-shelter",
            organization_id="org-shelter", channel=channel, subscription_id=None, target=None, language="vi",
            notice={"urgency": "high", "service_kind": "shelter"}, status="sending", attempts=1, max_attempts=8,
            next_attempt_at=None, event_time=T0, created_at=T0))
        attempt = uow.deliveries.start_attempt(delivery_id, 1, T0)
        uow.commit()
    return delivery_id, attempt


def settle_delivered(engine, delivery: tuple[str, int], before_commit=lambda: None) -> bool:
    """What the dispatcher does when a send succeeds; returns whether this was the first notice."""
    delivery_id, attempt = delivery
    with SqlNotifyUnitOfWork(engine) as uow:
        uow.deliveries.finish_attempt(attempt, 12.0, "delivered", 200, None)
        first = not uow.deliveries.organization_told(EVENT)
        uow.deliveries.settle(delivery_id, "delivered", None, "x", 200, None, T0 + timedelta(seconds=1))
        before_commit()
        uow.commit()
    return first


def test_two_channels_succeeding_together_make_one_first_notice(engine):
    webhook, email = sending(engine, "webhook"), sending(engine, "email")
    checked, release, answers = threading.Event(), threading.Event(), {}

    def hold():  # the webhook's transaction has looked and written, and has not committed yet
        checked.set()
        release.wait(10)

    first = threading.Thread(target=lambda: answers.__setitem__("webhook", settle_delivered(engine, webhook, hold)))
    first.start()
    assert checked.wait(10)
    second = threading.Thread(target=lambda: answers.__setitem__("email", settle_delivered(engine, email)))
    second.start()
    second.join(1.0)  # the e-mail's settle runs (or waits its turn) while the webhook's is open
    release.set()
    first.join(10)
    second.join(10)
    assert answers == {"webhook": True, "email": False}


def test_a_later_channel_after_the_first_notice_is_not_first(engine):
    webhook, email = sending(engine, "webhook"), sending(engine, "email")
    assert settle_delivered(engine, webhook) is True
    assert settle_delivered(engine, email) is False
