"""The open-breaker gauge notify exports: how many endpoints of each channel are resting now
(the alert "a circuit breaker on notify is open" reads it)."""
from services.notify.service_layer.ports import Result
from tests.support.referral_events import referral_event
from tests.unit.notify_fakes import FakeChannel
from tests.unit.test_notify_use_cases import SHELTER, Notify

HOOK = "https://hooks.shelter.example/haven"


def test_an_endpoint_that_keeps_failing_counts_as_one_open_breaker_until_it_rests_out():
    notify = Notify(webhook=FakeChannel("webhook", Result(False, 503, "http_503")))
    notify.subscribe("webhook", HOOK)
    assert notify.dispatch.count_open_breakers() == {"webhook": 0, "email": 0, "sms": 0}
    for _ in range(5):  # the breaker opens after 5 failures in a row (Notify's CircuitBreaker(5, 30 s))
        notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    notify.send_due()
    assert len(notify.channels["webhook"].sent) == 5
    assert notify.dispatch.count_open_breakers() == {"webhook": 1, "email": 0, "sms": 0}
    assert ("breakers_open", "webhook", 1) in notify.metrics.seen
    notify.clock.advance(31)  # rested: the next delivery is the trial, the breaker no longer open
    assert notify.dispatch.count_open_breakers()["webhook"] == 0


def test_a_failure_below_the_threshold_opens_nothing():
    notify = Notify(webhook=FakeChannel("webhook", Result(False, 503, "http_503")))
    notify.subscribe("webhook", HOOK)
    notify.fanout.handle(referral_event("created", receiving_organization_id=SHELTER))
    notify.send_due()
    assert notify.dispatch.count_open_breakers()["webhook"] == 0
