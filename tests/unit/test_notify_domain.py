"""The notify domain: routing, what a message may say, signatures, backoff, breaker."""
import random
import time

from services.notify.domain import signature
from services.notify.domain.messages import render
from services.notify.domain.model import notice_from_event, recipients
from services.notify.domain.policy import Backoff, CircuitBreaker

DATA = {"referral_id": "r-1", "occurred_at": "2026-11-25T03:00:00+00:00", "urgency": "emergency",
        "service_kind": "shelter", "receiving_service_id": "s-1", "receiving_organization_id": "shelter",
        "referring_organization_id": "union", "referring_user_id": "lan", "acknowledge_by": "2026-11-25T03:15:00+00:00",
        "decide_by": "2026-11-25T04:00:00+00:00", "services_requested": ["shelter"], "consent_overridden": False}


def _who(kind, data=DATA, supervisors=("minh",)):
    return [(r.kind, r.id, r.audience) for r in recipients(kind, data, list(supervisors))]


def test_routing_follows_the_issue_table():
    agency = ("organization", "shelter", "receiving_agency")
    referrer = ("user", "lan", "referrer")
    assert _who("created") == [agency]
    assert _who("cancelled") == [agency]
    for kind in ("acknowledged", "accepted", "declined", "completed"):
        assert _who(kind) == [referrer]
    assert _who("escalated") == [agency, referrer, ("user", "minh", "supervisor")]
    assert _who("escalated", {**DATA, "urgency": "high"}) == [agency, referrer]
    assert _who("escalated", supervisors=("lan",)) == [agency, referrer]  # a supervisor who referred hears once


def test_a_notice_carries_whitelisted_fields_only():
    notice = notice_from_event("e-1", "created", {**DATA, "client_name": "Nguyễn Thị A"}, "https://portal/r/{id}")
    assert "Nguyễn" not in repr(notice.to_dict())
    assert notice.link == "https://portal/r/r-1" and notice.deadline_kind == "acknowledge"


def test_messages_in_vietnamese_and_english_show_vietnam_time_and_escape_html():
    notice = notice_from_event("e-1", "created", DATA, "https://portal/r/{id}?a=1&b=<2>").for_audience(
        "receiving_agency")
    vi, en = render(notice, "vi"), render(notice, "en")
    assert vi.subject == "Haven [KHẨN CẤP]: Tổ chức của bạn nhận một giới thiệu mới"
    assert "Hạn xác nhận: 10:15 25/11/2026 (UTC+7)" in vi.text and "nhà tạm lánh" in vi.text
    assert en.subject == "Haven [EMERGENCY]: A new referral for your organization"
    assert "Acknowledge by: 10:15 25/11/2026 (UTC+7)" in en.text
    assert "&amp;b=&lt;2&gt;" in en.html and "<2>" not in en.html
    assert len(vi.sms) < 250 and notice.link in vi.sms


def test_a_signature_verifies_only_for_its_body_secret_and_time():
    body, now = b'{"id":"1"}', int(time.time())
    header = signature.sign("whsec_a", body, now)
    assert header.startswith(f"t={now},v1=")
    assert signature.verify("whsec_a", header, body, now)
    assert not signature.verify("whsec_b", header, body, now)
    assert not signature.verify("whsec_a", header, body + b" ", now)
    assert not signature.verify("whsec_a", header, body, now + 301)  # a replay, five minutes later
    assert signature.verify("whsec_a", f"{header},v1=00", body, now)


def test_backoff_doubles_with_jitter_up_to_the_ceiling():
    backoff = Backoff(max_attempts=5, first=1.0, ceiling=10.0)
    assert [backoff.delay(n, lambda: 0.0) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 5, 5]
    assert [backoff.delay(n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    delays = {backoff.delay(3, random.random) for _ in range(20)}
    assert len(delays) > 1 and all(2 <= d <= 4 for d in delays)


def test_the_breaker_opens_after_consecutive_failures_and_lets_one_trial_through():
    now = [100.0]
    breaker = CircuitBreaker(failures=2, open_for=30, clock=lambda: now[0])
    breaker.failed("https://a")
    assert breaker.wait_until("https://a") is None
    breaker.failed("https://a")
    assert breaker.wait_until("https://a") == 130 and breaker.wait_until("https://b") is None
    now[0] = 131
    assert breaker.wait_until("https://a") is None  # the trial
    assert breaker.wait_until("https://a") is not None  # the others wait for its verdict
    breaker.succeeded("https://a")
    assert breaker.wait_until("https://a") is None and not breaker.is_open("https://a")


def test_a_trial_that_never_reports_back_does_not_shut_the_endpoint_for_good():
    now = [100.0]
    breaker = CircuitBreaker(failures=1, open_for=10, clock=lambda: now[0], trial_timeout=60)
    breaker.failed("smtp://mail")
    now[0] = 111
    assert breaker.wait_until("smtp://mail") is None  # the trial goes out ... and is never heard of
    assert breaker.wait_until("smtp://mail") is not None
    now[0] = 172
    assert breaker.wait_until("smtp://mail") is None  # another trial may go


def test_a_trial_that_sent_nothing_lets_the_next_delivery_be_the_trial():
    now = [100.0]
    breaker = CircuitBreaker(failures=1, open_for=10, clock=lambda: now[0])
    breaker.failed("smtp://mail")
    now[0] = 111
    assert breaker.wait_until("smtp://mail") is None
    breaker.release("smtp://mail")  # e.g. the directory could not say where to send it
    assert breaker.wait_until("smtp://mail") is None


def test_backoff_never_overflows_after_many_manual_retries():
    assert Backoff(first=2, ceiling=900).delay(5000, rand=lambda: 1.0) == 900
