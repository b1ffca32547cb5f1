"""From a referral event to the deliveries and inbox items it causes.

One transaction per event: the event is marked consumed, and every delivery and inbox item
it causes is written, together or not at all. An event delivered twice (the event log is
at-least-once) finds itself already consumed and creates nothing, so it can never cause a
second notification. Sending happens later, in the dispatcher: a slow webhook never holds up
the consumer, and what is written here survives a crash.

Routing (the issue's table, `domain.model.recipients`): the receiving organization hears of
created, escalated and cancelled; the referrer of acknowledged, accepted, declined,
completed and escalated; the referring organization's supervisors when an emergency
escalates. Through which channels:
- an organization: its organization-wide subscriptions (webhooks, e-mails, phones); without
  an e-mail subscription, e-mail to its contact address in the directory (as receiving
  agency);
- a person: their own subscriptions, their e-mail from the local user store (and SMS to
  their phone for emergencies), and — for the referrer — the organization-wide
  subscriptions of the referring organization, whose systems follow the referrals it sent;
- everyone: an item in the portal inbox.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

from haven.platform.events import CloudEvent

from ..domain.delivery import Delivery
from ..domain.inbox import InboxItem
from ..domain.model import (EMAIL, ORGANIZATION, RECEIVING_AGENCY, REFERRER, SMS, USER, Notice, Recipient,
                            needs_supervisors, notice_from_event, recipients)
from ..domain.policy import Backoff
from .common import new_id, parse_time, utcnow
from .ports import Clock, People
from .unit_of_work import Duplicate, NotifyUnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class Route:
    channel: str
    target: str | None  # None: the organization's directory contact, looked up when sent
    language: str
    subscription_id: str | None = None


def referral_kind(event_type: str) -> str:
    return event_type.split(".")[3]  # org.haven.referral.<kind>.v1


class Fanout:
    def __init__(self, uow: UnitOfWorkFactory, people: People, link_template: str,
                 enabled_channels: Iterable[str], backoff: Backoff, default_language: str = "vi",
                 clock: Clock = utcnow):
        self.uow, self.people, self.link_template = uow, people, link_template
        self.enabled = frozenset(enabled_channels)
        self.backoff, self.default_language, self.clock = backoff, default_language, clock

    def handle(self, event: CloudEvent) -> int:
        """Record the deliveries a referral event causes; returns how many (0 when the event
        was handled before)."""
        kind, data = referral_kind(event.type), event.data
        supervisors = self.people.supervisors(data["referring_organization_id"]) if needs_supervisors(kind, data) \
            else []
        notice = notice_from_event(event.id, kind, data, self.link_template)
        now = self.clock()
        created = 0
        try:
            with self.uow() as uow:
                uow.consumed_events.add(event.id, now)
                for recipient in recipients(kind, data, supervisors):
                    addressed = notice.for_audience(recipient.audience)
                    uow.inbox.add(InboxItem(
                        id=new_id(), recipient_kind=recipient.kind, recipient_id=recipient.id,
                        organization_id=recipient.organization_id, event_id=event.id,
                        referral_id=data["referral_id"], notice=addressed.to_dict(), created_at=now))
                    for route in self._routes(uow, recipient, data):
                        uow.deliveries.add(self._delivery(recipient, route, addressed,
                                                          parse_time(data["occurred_at"]), now))
                        created += 1
                uow.commit()
        except Duplicate:
            if self._consumed(event.id):
                return 0  # a redelivered event: everything it causes exists already
            raise
        return created

    def _consumed(self, event_id: str) -> bool:
        with self.uow() as uow:
            return uow.consumed_events.contains(event_id)

    def _routes(self, uow: NotifyUnitOfWork, recipient: Recipient, data: dict) -> list[Route]:
        if recipient.kind == ORGANIZATION:
            subscribed = uow.subscriptions.of_organization(recipient.id)
        else:
            subscribed = uow.subscriptions.of_person(recipient.organization_id, recipient.id,
                                                     organization_wide=recipient.audience == REFERRER)
        routes = [Route(s.channel, s.target, s.language, s.id) for s in subscribed]
        if recipient.kind == ORGANIZATION and recipient.audience == RECEIVING_AGENCY \
                and not any(route.channel == EMAIL for route in routes):
            routes.append(Route(EMAIL, None, self.default_language))
        if recipient.kind == USER:
            contact = self.people.contact(recipient.id)
            if contact and contact.email:
                routes.append(Route(EMAIL, contact.email, contact.language))
            if contact and contact.phone and data.get("urgency") == "emergency":
                routes.append(Route(SMS, contact.phone, contact.language))
        seen, chosen = set(), []
        for route in routes:  # one message per address, however many ways it was registered
            key = (route.channel, (route.target or "").lower())
            if route.channel in self.enabled and key not in seen:
                seen.add(key)
                chosen.append(route)
        return chosen

    def _delivery(self, recipient: Recipient, route: Route, notice: Notice, event_time, now) -> Delivery:
        identity = "|".join((notice.event_id, recipient.kind, recipient.id, route.channel,
                             route.subscription_id or (route.target or "directory-contact").lower()))
        return Delivery(
            id=new_id(), dedupe_key=hashlib.sha256(identity.encode("utf-8")).hexdigest(),
            event_id=notice.event_id, event_kind=notice.kind, referral_id=notice.referral_id,
            recipient_kind=recipient.kind, recipient_id=recipient.id, organization_id=recipient.organization_id,
            channel=route.channel, subscription_id=route.subscription_id, target=route.target,
            language=route.language, notice=notice.to_dict(), status="pending", attempts=0,
            max_attempts=self.backoff.max_attempts, next_attempt_at=now, event_time=event_time, created_at=now)
