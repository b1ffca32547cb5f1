"""Notify on the running stack (`haven run`): referrals made through the referral API reach
a real webhook receiver that verifies the signature, a real SMTP server and an SMS gateway
stand-in; receivers that go away or fail are retried, dead-lettered and retried by hand;
and nothing any of them received holds the client's personal details."""
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from haven.platform.local_users import LocalUser, LocalUsers
from tests.support.auth import bearer
from tests.support.haven_process import RunningHaven
from tests.support.smtp_sink import SmtpSink
from tests.support.webhook_receiver import WebhookReceiver

# The client's personal values: none of them may leave Haven in a notification.
PERSONAL = {"name": "Nguyễn Thị Hồng Nhung", "phone": "+84 987 654 321", "address": "Số 12 ngõ 34 phố Hoa Mai",
            "safe_contact_time": "sau 21 giờ", "safety_notes": "Chồng kiểm soát điện thoại của chị"}
CLIENT_REF = "HN-2026-0042"
REFERRER_EMAIL = "lan.caseworker@union.example"


@pytest.fixture(scope="module")
def sinks():
    smtp, sms = SmtpSink().start(), WebhookReceiver(verify=False).start()
    receivers: list[WebhookReceiver] = []
    yield {"smtp": smtp, "sms": sms, "receivers": receivers}
    smtp.stop()
    sms.stop()
    for receiver in receivers:
        receiver.stop()


def receiver_for(sinks) -> WebhookReceiver:
    receiver = WebhookReceiver().start()
    sinks["receivers"].append(receiver)
    return receiver


def start_haven(data_dir, sinks, **settings) -> RunningHaven:
    haven = RunningHaven(data_dir, NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(sinks["smtp"].port),
                         NOTIFY_SMS_GATEWAY_URL=sinks["sms"].url("/sms"), NOTIFY_SMS_GATEWAY_TOKEN="gateway-token",
                         NOTIFY_WEBHOOK_PRIVATE_TARGETS="true", **settings)  # local receivers
    haven.env.update(REFERRAL_DIRECTORY_URL=haven.url("directory"), NOTIFY_DIRECTORY_URL=haven.url("directory"),
                     NOTIFY_REFERRAL_LINK=haven.url("referral") + "/v1/referrals/{id}")
    return haven.start()


@pytest.fixture(scope="module")
def haven(tmp_path_factory, sinks):
    running = start_haven(tmp_path_factory.mktemp("notify") / "data", sinks, NOTIFY_RETRY_MAX_ATTEMPTS="4",
                          NOTIFY_RETRY_FIRST_SECONDS="0.2", NOTIFY_RETRY_MAX_SECONDS="1")
    yield running
    if running.process.poll() is None:
        running.stop()
    running.kill_everything()


class Agencies:
    """A receiving agency in the directory, a referring one with a caseworker who has an e-mail."""

    def __init__(self, haven: RunningHaven, tag: str):
        self.haven = haven
        admin = bearer(haven.data_dir, "directory_admin")
        directory = haven.url("directory")
        self.contact_email = f"contact-{tag}@shelter.example"
        organization = requests.post(f"{directory}/v1/organizations", headers=admin, timeout=5,
                                     json={"name": f"Trung tâm CTXH {tag}", "email": self.contact_email}).json()
        self.receiving = organization["id"]
        self.service = requests.post(f"{directory}/v1/services", headers=admin, timeout=5, json={
            "organization_id": self.receiving, "name": f"Tư vấn và hỗ trợ {tag}", "kind": "social_work",
            "always_open": True}).json()["id"]
        self.referring = f"union-{tag}"
        self.caseworker = f"cw-{tag}"
        LocalUsers(haven.data_dir).add(LocalUser(self.caseworker, "Lan", ("caseworker",), self.referring,
                                                 language="vi", email=REFERRER_EMAIL), "password-123")
        self.staff = bearer(haven.data_dir, "agency_staff", organization_id=self.receiving, subject=f"staff-{tag}")
        self.referrer = bearer(haven.data_dir, "caseworker", organization_id=self.referring, subject=self.caseworker)

    def subscribe(self, headers, **body):
        answer = requests.post(self.haven.url("notify") + "/v1/subscriptions", json=body, headers=headers, timeout=5)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def refer(self) -> str:
        now = datetime.now(timezone.utc)
        answer = requests.post(self.haven.url("referral") + "/v1/referrals", headers=self.referrer, timeout=5, json={
            "receiving_service_id": self.service, "urgency": "high", "risk_level": "high",
            "profile": {"client_ref": CLIENT_REF, "age_group": "25_59", "gender": "female"},
            "personal": PERSONAL,
            "consent": {"given": True, "obtained_by": self.caseworker,
                        "obtained_at": (now - timedelta(minutes=5)).isoformat(), "scope": ["contact", "safety_notes"]}})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def act(self, referral_id: str, action: str) -> None:
        answer = requests.post(f"{self.haven.url('referral')}/v1/referrals/{referral_id}/{action}", json={},
                               headers=self.staff, timeout=5)
        assert answer.status_code == 200, answer.text

    def deliveries(self, referral_id: str, channel: str | None = None) -> list[dict]:
        query = {"referral_id": referral_id, **({"channel": channel} if channel else {})}
        answer = requests.get(self.haven.url("notify") + "/v1/deliveries", params=query, headers=self.staff, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    def wait_for_status(self, referral_id: str, channel: str, status: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.deliveries(referral_id, channel)
            if found and found[0]["status"] == status:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(self.deliveries(referral_id, channel))


def test_the_receiving_agency_then_the_referrer_are_told_by_webhook_email_and_sms(haven, sinks):
    agencies = Agencies(haven, "a")
    receiver = receiver_for(sinks)
    receiver.secrets["/agency"] = agencies.subscribe(agencies.staff, channel="webhook",
                                                     target=receiver.url("/agency"))["secret"]
    agencies.subscribe(agencies.staff, channel="sms", target="+84 900 000 001")
    admin = bearer(haven.data_dir, "admin")
    receiver.secrets["/referrer"] = agencies.subscribe(
        admin, channel="webhook", target=receiver.url("/referrer"), organization_id=agencies.referring,
        user_id=agencies.caseworker)["secret"]

    referral_id = agencies.refer()
    created_at = time.time()
    [hook] = receiver.wait_for(1, "/agency", timeout=1.0)
    assert hook.at - created_at <= 1.0, "the signed CloudEvent arrives within a second"
    event = hook.json
    assert event["type"] == "org.haven.notify.referral.created.v1" and event["subject"] == referral_id
    assert event["data"]["audience"] == "receiving_agency" and event["data"]["service_kind"] == "social_work"
    assert event["data"]["link"] == f"{haven.url('referral')}/v1/referrals/{referral_id}"
    [mail] = sinks["smtp"].wait_for(agencies.contact_email)  # no e-mail subscription: the directory's contact
    assert "Tổ chức của bạn nhận một giới thiệu mới" in mail.message["Subject"]
    assert referral_id in mail.part("plain") and referral_id in mail.part("html")
    [sms] = sinks["sms"].wait_for(1, "/sms")
    assert sms.json["to"] == "+84900000001" and referral_id in sms.json["message"]
    assert sms.headers["Authorization"] == "Bearer gateway-token"

    agencies.act(referral_id, "acknowledge")
    agencies.act(referral_id, "accept")
    told = receiver.wait_for(2, "/referrer", timeout=5)
    assert sorted(r.json["data"]["event"] for r in told) == ["accepted", "acknowledged"]
    mails = sinks["smtp"].wait_for(REFERRER_EMAIL, 2)
    assert any("Giới thiệu của bạn đã được chấp nhận" in m.message["Subject"] for m in mails)
    assert not receiver.accepted("/agency")[1:], "the agency is not told of its own answers"

    records = agencies.deliveries(referral_id)
    assert {(r["channel"], r["recipient_kind"], r["status"]) for r in records} >= {
        ("webhook", "organization", "delivered"), ("email", "organization", "delivered"),
        ("sms", "organization", "delivered")}
    assert all(r["attempt_log"][-1]["outcome"] == "delivered" for r in records if r["status"] == "delivered")
    haven.metrics("notify", r'haven_referral_time_to_notify_seconds_count\{service_kind="social_work",urgency="high"\} 1\.0',
                  r'haven_notify_delivery_latency_seconds_count\{channel="webhook"\} [1-9]',
                  r'haven_notify_attempts_total\{channel="email",outcome="delivered"\} [1-9]')

    # the referrer sees on the referral itself that the agency was told, and how
    deadline, shown = time.monotonic() + 15, []
    while time.monotonic() < deadline:
        shown = requests.get(f"{haven.url('referral')}/v1/referrals/{referral_id}", headers=agencies.referrer,
                             timeout=5).json()["notifications"]
        if {("created", "webhook", "organization", "delivered")} <= {
                (n["event_kind"], n["channel"], n["recipient_kind"], n["outcome"]) for n in shown}:
            break
        time.sleep(0.2)
    assert ("created", "webhook", "organization", "delivered") in {
        (n["event_kind"], n["channel"], n["recipient_kind"], n["outcome"]) for n in shown}
    assert "target" not in str(shown) and "@" not in str(shown)  # no addresses on the referral
    # ...and so does the list of its referrals (the portal's "my referrals" shows it per row)
    listed = requests.get(f"{haven.url('referral')}/v1/referrals", headers=agencies.referrer, timeout=5).json()
    row = next(i for i in listed["items"] if i["id"] == referral_id)
    assert ("created", "webhook", "organization", "delivered") in {
        (n["event_kind"], n["channel"], n["recipient_kind"], n["outcome"]) for n in row["notifications"]}
    assert [d["kind"] for d in row["deadlines"]] == ["acknowledge", "decide"] and "personal" not in row


def test_an_always_failing_receiver_is_dead_lettered_and_the_retry_endpoint_redelivers(haven, sinks):
    agencies = Agencies(haven, "b")
    receiver = receiver_for(sinks)
    receiver.status = 500
    receiver.secrets["/agency"] = agencies.subscribe(agencies.staff, channel="webhook",
                                                     target=receiver.url("/agency"))["secret"]
    referral_id = agencies.refer()
    dead = agencies.wait_for_status(referral_id, "webhook", "dead", timeout=15)
    assert dead["attempts"] == 4 and len(receiver.received) == 4
    assert [a["status_code"] for a in dead["attempt_log"]] == [500] * 4
    haven.metrics("notify", r'haven_notify_failures_total\{channel="webhook",outcome="dead"\} [1-9]')

    receiver.status = 200  # the agency fixed its server
    retried = requests.post(f"{haven.url('notify')}/v1/deliveries/{dead['id']}/retry", headers=agencies.staff,
                            timeout=5)
    assert retried.status_code == 202
    delivered = agencies.wait_for_status(referral_id, "webhook", "delivered", timeout=10)
    assert len(receiver.accepted("/agency")) == 1 and delivered["attempts"] == 5


def test_a_receiver_down_for_30_seconds_gets_the_notification_after_recovery(tmp_path, sinks):
    # Its own stack: enough attempts to outlast the outage, and a breaker that rests 3 s.
    haven = start_haven(tmp_path / "data", sinks, NOTIFY_RETRY_MAX_ATTEMPTS="30", NOTIFY_RETRY_FIRST_SECONDS="0.5",
                        NOTIFY_RETRY_MAX_SECONDS="2", NOTIFY_BREAKER_FAILURES="3", NOTIFY_BREAKER_OPEN_SECONDS="3")
    try:
        agencies = Agencies(haven, "c")
        receiver = receiver_for(sinks)
        receiver.secrets["/agency"] = agencies.subscribe(agencies.staff, channel="webhook",
                                                         target=receiver.url("/agency"))["secret"]
        receiver.stop()
        down_at = time.monotonic()
        referral_id = agencies.refer()
        time.sleep(30 - (time.monotonic() - down_at))
        assert not receiver.received
        receiver.start()
        [hook] = receiver.wait_for(1, "/agency", timeout=10)
        assert hook.json["subject"] == referral_id
        delivered = agencies.wait_for_status(referral_id, "webhook", "delivered", timeout=5)
        log = delivered["attempt_log"]
        assert [a["outcome"] for a in log].count("delivered") == 1 and log[-1]["outcome"] == "delivered"
        assert all(a["error"] == "ConnectionError" for a in log[:-1])
        assert len(log) < 20, "the open breaker spared the dead endpoint most attempts"
        time.sleep(1)
        assert len(receiver.received) == 1
    finally:
        if haven.process.poll() is None:
            haven.stop()
        haven.kill_everything()


def _sent_texts(sinks) -> list[str]:
    texts = []
    for receiver in [*sinks["receivers"], sinks["sms"]]:
        texts += [r.body.decode("utf-8") for r in receiver.received]
        texts += [str(r.headers) for r in receiver.received]
    for mail in sinks["smtp"].mails:
        message = mail.message
        texts += [mail.raw.decode("utf-8", "replace"), str(message["Subject"]), mail.part("plain"), mail.part("html")]
    return texts


def test_nothing_sent_holds_the_clients_personal_details(sinks):
    """Runs last: scans every webhook body, e-mail and SMS the tests above caused."""
    texts = _sent_texts(sinks)
    assert len(texts) > 20, "run the whole module: this test scans what the tests above sent"
    values = [*PERSONAL.values(), CLIENT_REF, "987654321", "987 654 321", "Nhung", "Hoa Mai"]
    leaks = [(value, text[:200]) for text in texts for value in values if value.lower() in text.lower()]
    assert not leaks
