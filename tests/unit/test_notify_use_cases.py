"""Notify's use cases on in-memory fakes: who a referral event reaches, what the dispatcher
sends and publishes, retries, dead letters, and that nothing personal leaves."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from haven.platform.principal import Principal, permissions_for
from services.notify import contract
from services.notify.domain.errors import DeliveryNotRetryable, NotFound, NotOwnOrganization, TargetRefused
from services.notify.domain.policy import Backoff, CircuitBreaker
from services.notify.service_layer import commands as c
from services.notify.service_layer.deliveries import Deliveries
from services.notify.service_layer.dispatch import Dispatch
from services.notify.service_layer.fanout import Fanout
from services.notify.service_layer.inbox import Inbox
from services.notify.service_layer.ports import Contact, Result
from services.notify.service_layer.subscriptions import Subscriptions
from tests.support.referral_events import referral_event
from tests.unit.notify_fakes import (FakeChannel, FakeContacts, FakeMetrics, FakeNotifyUnitOfWork, FakePeople,
                                     FakeSecrets, FakeTargets, FixedClock, Immediately)

SHELTER, UNION = "org-shelter", "org-union"
BACKOFF = Backoff(max_attempts=3, first=10.0, ceiling=60.0)
LINK = "https://haven.example/v1/referrals/{id}"


def staff(organization_id=SHELTER, subject="staff-1"):
    return Principal(subject, ("agency_staff",), organization_id, permissions_for(["agency_staff"]))


class Notify:
    """The use cases wired on one fake unit of work, a fixed clock and fake channels."""

    def __init__(self, *, webhook=None, email=None, sms=None, people=None, contacts=None, backoff=BACKOFF):
        self.uow, self.clock, self.metrics = FakeNotifyUnitOfWork(), FixedClock(), FakeMetrics()
        self.channels = {"webhook": webhook or FakeChannel("webhook"), "email": email or FakeChannel("email"),
                         "sms": sms or FakeChannel("sms")}
        factory = lambda: self.uow  # noqa: E731
        self.subscriptions = Subscriptions(factory, backoff, FakeSecrets(), FakeTargets(), clock=self.clock)
        self.deliveries = Deliveries(factory, backoff, clock=self.clock)
        self.inbox = Inbox(factory, clock=self.clock)
        self.fanout = Fanout(factory, people or FakePeople(), LINK, self.channels, backoff, clock=self.clock)
        self.dispatch = Dispatch(factory, self.channels, contacts or FakeContacts({SHELTER: "desk@shelter.example"}),
                                 backoff, CircuitBreaker(5, 30.0, self.clock.seconds), FakeSecrets(), self.metrics,
                                 clock=self.clock)

    def subscribe(self, channel, target, organization_id=SHELTER, **extra):
        return self.subscriptions.create(staff(organization_id), c.Subscribe(channel, target, "en",
                                                                             organization_id, **extra))

    def send_due(self) -> int:
        return self.dispatch.dispatch_due(Immediately())

    def stored(self):
        return sorted(self.uow.deliveries.rows.values(), key=lambda d: d.channel)


def test_a_new_referral_reaches_the_receiving_agencys_subscriptions_and_inbox():
    notify = Notify()
    hook = notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    notify.subscribe("email", "truc.ban@shelter.example")
    notify.subscribe("email", "someone@elsewhere.example", organization_id="org-elsewhere")
    event = referral_event("created", receiving_organization_id=SHELTER)
    assert notify.fanout.handle(event) == 2
    email, webhook = notify.stored()
    assert (webhook.subscription_id, webhook.target) == (hook["id"], "https://hooks.shelter.example/haven")
    assert email.target == "truc.ban@shelter.example"  # its own address, so no directory contact as well
    assert {(d.status, d.recipient_id) for d in (email, webhook)} == {("pending", SHELTER)}
    assert {d.event_id for d in (email, webhook)} == {event.id}
    [item] = notify.uow.inbox.rows.values()
    assert (item.recipient_kind, item.recipient_id, item.referral_id) == ("organization", SHELTER,
                                                                         event.data["referral_id"])


def test_an_agency_without_an_email_subscription_is_mailed_at_its_directory_contact():
    notify = Notify()
    notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    [delivery] = notify.stored()
    assert (delivery.channel, delivery.target) == ("email", None)  # looked up when sent
    notify.send_due()
    assert [o.target for o in notify.channels["email"].sent] == ["desk@shelter.example"]


def test_the_same_event_twice_makes_no_second_delivery_nor_inbox_item():
    notify = Notify()
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    event = referral_event("created", receiving_organization_id=SHELTER)
    assert notify.fanout.handle(event) == 2
    assert notify.fanout.handle(event) == 0
    assert len(notify.stored()) == 2 and len(notify.uow.inbox.rows) == 1


def test_the_referrer_is_told_of_a_status_change_by_mail_and_through_their_agencys_webhook():
    people = FakePeople({"cw-lan": Contact("lan@union.example", "+84901234567", "vi")})
    notify = Notify(people=people)
    hook = notify.subscribe("webhook", "https://hooks.union.example/haven", organization_id=UNION)
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")  # the receiving agency's: not told
    event = referral_event("accepted", referring_organization_id=UNION, referring_user_id="cw-lan")
    assert notify.fanout.handle(event) == 2  # no SMS: not an emergency
    email, webhook = notify.stored()
    assert (email.recipient_kind, email.recipient_id, email.target) == ("user", "cw-lan", "lan@union.example")
    assert webhook.subscription_id == hook["id"] and webhook.organization_id == UNION
    assert {d.notice["audience"] for d in (email, webhook)} == {"referrer"}
    [item] = notify.uow.inbox.rows.values()
    assert (item.recipient_kind, item.recipient_id) == ("user", "cw-lan")


def test_a_delivery_sent_publishes_delivered_with_its_state_change():
    notify = Notify()
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    notify.subscribe("email", "truc.ban@shelter.example")
    event = referral_event("created", receiving_organization_id=SHELTER)
    notify.fanout.handle(event)
    assert notify.send_due() == 2
    [sent] = notify.channels["webhook"].sent
    assert sent.secret and sent.target == "https://hooks.shelter.example/haven"
    assert {d.status for d in notify.stored()} == {"delivered"}
    assert notify.uow.event_types() == [contract.DELIVERED] * 2
    assert {o.key for o in notify.uow.outbox} == {event.data["referral_id"]}
    assert {o.event.data["outcome"] for o in notify.uow.outbox} == {"delivered"}
    assert ("agency_notified", "high", "shelter") in notify.metrics.seen


def test_a_failure_schedules_a_retry_with_backoff_and_publishes_nothing():
    notify = Notify(webhook=FakeChannel("webhook", Result(False, 503, "http_503")))
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    notify.subscribe("email", "truc.ban@shelter.example")
    notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    notify.send_due()
    webhook = notify.uow.deliveries.get([d.id for d in notify.stored() if d.channel == "webhook"][0])
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("pending", 1, "http_503")
    wait = webhook.next_attempt_at - notify.clock()
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)  # the first wait, jittered between half and all
    assert notify.uow.event_types() == [contract.DELIVERED]  # the e-mail's only
    assert notify.send_due() == 0  # not due yet
    notify.clock.advance(10)
    assert notify.send_due() == 1


def test_the_last_failure_dead_letters_and_publishes_failed_then_a_retry_sends_it_again():
    notify = Notify(webhook=FakeChannel("webhook", Result(False, 500, "http_500")))
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    notify.subscribe("email", "truc.ban@shelter.example")
    notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    for _ in range(BACKOFF.max_attempts):
        notify.send_due()
        notify.clock.advance(60)
    [webhook] = [d for d in notify.stored() if d.channel == "webhook"]
    assert (webhook.status, webhook.attempts) == ("dead", 3) and len(notify.channels["webhook"].sent) == 3
    [failed] = [o.event for o in notify.uow.outbox if o.event.data["channel"] == "webhook"]
    assert failed.type == contract.FAILED and failed.data["outcome"] == "dead" and failed.data["attempts"] == 3
    assert notify.dispatch.count_dead_letters() == 1 and ("dead_letters", 1) in notify.metrics.seen

    with pytest.raises(NotFound):
        notify.deliveries.retry(staff("org-elsewhere"), c.RetryDelivery(webhook.id))
    notify.channels["webhook"].results = [Result(True, 200)]
    retried = notify.deliveries.retry(staff(), c.RetryDelivery(webhook.id))
    assert (retried["status"], retried["max_attempts"]) == ("pending", 3 + BACKOFF.max_attempts)
    notify.send_due()
    assert notify.uow.deliveries.get(webhook.id).status == "delivered"
    with pytest.raises(DeliveryNotRetryable) as refused:
        notify.deliveries.retry(staff(), c.RetryDelivery(webhook.id))
    assert refused.value.status == "delivered"


def test_an_unreachable_agency_without_contact_is_undeliverable_and_says_so():
    notify = Notify(contacts=FakeContacts({}))
    event = referral_event("created", receiving_organization_id=SHELTER)
    notify.fanout.handle(event)
    notify.send_due()
    [delivery] = notify.stored()
    assert (delivery.status, delivery.last_error) == ("undeliverable", "no_contact_address")
    assert notify.channels["email"].sent == []
    [failed] = [o.event for o in notify.uow.outbox]
    assert failed.type == contract.FAILED and failed.data["outcome"] == "undeliverable"


def test_nothing_personal_is_sent_or_published():
    people = FakePeople({"cw-lan": Contact("lan@union.example", "+84901234567", "vi")})
    notify = Notify(people=people)
    notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    notify.subscribe("webhook", "https://hooks.union.example/haven", organization_id=UNION)
    personal = {"client_name": "Nguyễn Thị Hoa", "client_phone": "+84 912 345 678",
                "client_address": "12 Phố Huế, Hà Nội", "notes": "bạo lực gia đình"}
    for kind in ("created", "escalated", "declined"):
        event = referral_event(kind, urgency="emergency", receiving_organization_id=SHELTER,
                               referring_organization_id=UNION)
        notify.fanout.handle(replace(event, data={**event.data, **personal}))  # a field added upstream later
    notify.send_due()
    sent = [o for channel in notify.channels.values() for o in channel.sent]
    assert len(sent) >= 6
    everything = json.dumps([[o.notice.to_dict() for o in sent], [o.event.data for o in notify.uow.outbox],
                             [d.notice for d in notify.stored()], [i.notice for i in notify.uow.inbox.rows.values()]],
                            ensure_ascii=False)
    assert not any(value in everything for value in personal.values())
    # addresses go to their channel only, never into an event
    assert "lan@union.example" not in json.dumps([o.event.data for o in notify.uow.outbox])


def test_subscriptions_are_an_organizations_own_and_a_refused_host_is_refused_naming_target():
    notify = Notify()
    with pytest.raises(NotOwnOrganization):
        notify.subscriptions.create(staff(SHELTER), c.Subscribe("email", "x@union.example", "vi", UNION))
    notify.subscriptions.targets = FakeTargets({"http://10.0.0.1/": "must be a public address"})
    with pytest.raises(TargetRefused) as refused:
        notify.subscribe("webhook", "http://10.0.0.1/")
    assert (refused.value.field, refused.value.message) == ("target", "must be a public address")
    created = notify.subscribe("webhook", "https://hooks.shelter.example/haven")
    [stored] = notify.uow.subscriptions.rows.values()
    assert created["secret"].startswith("whsec_") and created["secret"] not in stored.secret
    total, [listed] = notify.subscriptions.list(staff(), c.ListSubscriptions(1, 20))
    assert total == 1 and "secret" not in listed
    assert notify.subscriptions.list(staff(UNION), c.ListSubscriptions(1, 20)) == (0, [])
    with pytest.raises(NotFound):
        notify.subscriptions.delete(staff(UNION), c.Unsubscribe(created["id"]))


def test_an_inbox_item_is_marked_read_for_its_addressee_only():
    notify = Notify()
    notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    total, unread, [item] = notify.inbox.list(staff(), c.ListInbox(1, 20))
    assert (total, unread, item["read"]) == (1, 1, False)
    with pytest.raises(NotFound):
        notify.inbox.mark_read(staff(UNION), c.MarkInboxItemRead(item["id"]))
    read = notify.inbox.mark_read(staff(), c.MarkInboxItemRead(item["id"]))
    assert read["read"] is True and read["read_at"] == notify.clock()
    assert notify.inbox.list(staff(), c.ListInbox(1, 20, unread_only=True))[:2] == (0, 0)
