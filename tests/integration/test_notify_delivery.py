"""Notify's consumer side and dispatcher, in process, against a real webhook receiver that
verifies signatures and a real SMTP server: who is told, that retries, dead letters,
idempotency and the circuit breaker behave as agencies would notice."""
import json
import threading
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from haven.platform import db
from haven.platform.local_users import LocalUser, LocalUsers
from services.notify import SPEC
from services.notify.adapters.orm import deliveries, inbox, outbox
from services.notify.bootstrap import background_jobs, channels_from
from services.notify.service_layer.fanout import Fanout
from tests.support.auth import bearer
from tests.support.apps import service_app
from tests.support.referral_events import referral_event
from tests.support.smtp_sink import SmtpSink
from tests.support.webhook_receiver import WebhookReceiver

SHELTER, UNION = "org-shelter", "org-union"


class World:
    """The notify worker's jobs in this process, on a migrated database, plus the API."""

    def __init__(self, tmp_path, database_url, smtp, **settings):
        self.data_dir = tmp_path
        env = {"HAVEN_DATA_DIR": str(tmp_path), "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(smtp.port),
               "NOTIFY_RETRY_FIRST_SECONDS": "0.05", "NOTIFY_RETRY_MAX_SECONDS": "0.2",
               "NOTIFY_RETRY_MAX_ATTEMPTS": "4", "NOTIFY_BREAKER_FAILURES": "50",
               "NOTIFY_DIRECTORY_URL": "http://127.0.0.1:9", "NOTIFY_DATABASE_URL": database_url,
               "NOTIFY_WEBHOOK_PRIVATE_TARGETS": "true", **settings}  # the receivers are on 127.0.0.1
        self.app = service_app("notify", tmp_path, **env)
        self.client = self.app.test_client()
        config = SPEC.load_config(env)
        self.engine = db.create_engine(SPEC.database_url(config))
        jobs = {job.name: job for job in background_jobs(config)}
        self.dispatcher_job = jobs["dispatcher"]
        # The consumer's own code path, fed directly: the event log is tested on its own.
        from services.notify.adapters.people import LocalPeople
        from services.notify.adapters.unit_of_work import SqlNotifyUnitOfWork
        from services.notify.bootstrap import backoff_from

        self.fanout = Fanout(lambda: SqlNotifyUnitOfWork(self.engine), LocalPeople(str(tmp_path)),
                             config.notify_referral_link, channels_from(config), backoff_from(config))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.dispatcher_job.run, args=(self.stop,))
        self.thread.start()

    def subscribe(self, channel, target, organization_id=SHELTER, role="agency_staff", **extra):
        answer = self.client.post("/v1/subscriptions", json={"channel": channel, "target": target, **extra},
                                  headers=bearer(self.data_dir, role, organization_id=organization_id))
        assert answer.status_code == 201, answer.json
        return answer.json

    def deliveries(self, **where):
        with self.engine.connect() as connection:
            query = sa.select(deliveries)
            for name, value in where.items():
                query = query.where(deliveries.c[name] == value)
            return connection.execute(query).all()

    def wait_until_settled(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(row.status in ("delivered", "dead", "undeliverable") for row in self.deliveries()):
                return
            time.sleep(0.02)
        raise AssertionError([(row.channel, row.status, row.last_error) for row in self.deliveries()])

    def close(self):
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def world(tmp_path, smtp):
    running = World(tmp_path, f"sqlite:///{tmp_path / 'notify.sqlite3'}", smtp)
    yield running
    running.close()


@pytest.fixture
def any_database_world(tmp_path, database_url, smtp):
    """The same, once on SQLite and once on PostgreSQL."""
    running = World(tmp_path, database_url, smtp)
    yield running
    running.close()


def test_a_new_referral_reaches_the_receiving_agency_by_signed_webhook_and_email(any_database_world, receiver, smtp):
    world = any_database_world
    hook = world.subscribe("webhook", receiver.url("/shelter"))
    receiver.secrets["/shelter"] = hook["secret"]
    world.subscribe("email", "truc.ban@shelter.example", language="en")
    event = referral_event("created", urgency="emergency")
    assert world.fanout.handle(event) == 2
    [request] = receiver.wait_for(1)
    body = request.json
    assert body["type"] == "org.haven.notify.referral.created.v1" and body["specversion"] == "1.0"
    assert body["data"]["referral_id"] == event.data["referral_id"]
    assert body["data"]["urgency"] == "emergency" and body["data"]["deadline_kind"] == "acknowledge"
    # the link leads to the referral's page in the portal, where the agency can act on it
    assert body["data"]["link"] == f"http://127.0.0.1:8000/referrals/{event.data['referral_id']}"
    [mail] = smtp.wait_for("truc.ban@shelter.example")
    assert "EMERGENCY" in mail.message["Subject"] and "A new referral for your organization" in mail.part("plain")
    assert event.data["referral_id"] in mail.part("html")
    world.wait_until_settled()
    assert {row.status for row in world.deliveries()} == {"delivered"}


def test_a_forged_or_stale_signature_is_refused_by_the_receiver(world, receiver):
    hook = world.subscribe("webhook", receiver.url("/shelter"))
    receiver.secrets["/shelter"] = "whsec_not-the-one-haven-holds"
    world.fanout.handle(referral_event("created"))
    world.wait_until_settled()
    assert receiver.received and not receiver.accepted()
    [row] = world.deliveries(channel="webhook")
    assert row.status == "dead" and row.last_error == "http_401" and row.subscription_id == hook["id"]


def test_the_secret_is_stored_encrypted_yet_signs_and_still_does_after_the_keys_rotate(tmp_path, smtp, receiver):
    from haven.platform.field_cipher import FieldCipher, generate_key
    from services.notify.adapters.orm import subscriptions
    from services.notify.adapters.rotation import rotate_all

    old, new = generate_key(), generate_key()
    url = f"sqlite:///{tmp_path / 'n.sqlite3'}"
    world = World(tmp_path, url, smtp, HAVEN_FIELD_KEYS=old)
    try:
        hook = world.subscribe("webhook", receiver.url("/shelter"))
        receiver.secrets["/shelter"] = hook["secret"]
        with world.engine.connect() as connection:
            stored = connection.execute(sa.select(subscriptions.c.secret)).scalar_one()
        assert hook["secret"] not in stored
        world.fanout.handle(referral_event("created"))
        assert len(receiver.wait_for(1)) == 1
    finally:
        world.close()
    assert rotate_all(db.create_engine(url), FieldCipher([new, old])) == 1
    world = World(tmp_path, url, smtp, HAVEN_FIELD_KEYS=new)  # restarted without the old key
    try:
        world.fanout.handle(referral_event("created"))
        assert len(receiver.wait_for(2)) == 2 and all(request.verified for request in receiver.received)
    finally:
        world.close()


def test_a_secret_no_configured_key_opens_is_never_replaced_by_an_unsigned_send(tmp_path, smtp, receiver):
    from haven.platform.field_cipher import generate_key

    url = f"sqlite:///{tmp_path / 'n.sqlite3'}"
    world = World(tmp_path, url, smtp, HAVEN_FIELD_KEYS=generate_key())
    try:
        receiver.secrets["/shelter"] = world.subscribe("webhook", receiver.url("/shelter"))["secret"]
        world.close()
        world = World(tmp_path, url, smtp, HAVEN_FIELD_KEYS=generate_key())  # restarted with a wrong key
        world.fanout.handle(referral_event("created"))
        world.wait_until_settled()
        [row] = world.deliveries(channel="webhook")
        assert row.status == "dead" and row.last_error == "secret_unreadable" and receiver.received == []
    finally:
        world.close()


def test_the_same_event_consumed_twice_is_delivered_once(world, receiver, smtp):
    receiver.secrets["/shelter"] = world.subscribe("webhook", receiver.url("/shelter"))["secret"]
    world.subscribe("email", "truc.ban@shelter.example")
    event = referral_event("created")
    assert world.fanout.handle(event) == 2
    assert world.fanout.handle(event) == 0
    world.wait_until_settled()
    time.sleep(0.3)
    assert len(receiver.received) == 1 and len(smtp.to("truc.ban@shelter.example")) == 1
    assert len(world.deliveries(status="delivered")) == 2


def test_a_failing_receiver_is_retried_with_backoff_then_delivered(world, receiver):
    receiver.secrets["/shelter"] = world.subscribe("webhook", receiver.url("/shelter"))["secret"]
    receiver.status = 503
    world.fanout.handle(referral_event("created"))
    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    receiver.status = 200
    world.wait_until_settled()
    [row] = world.deliveries(channel="webhook")
    assert row.status == "delivered" and row.attempts >= 3
    answer = world.client.get("/v1/deliveries", query_string={"referral_id": row.referral_id, "channel": "webhook"},
                              headers=bearer(world.data_dir, "agency_staff", organization_id=SHELTER)).json
    log = answer["items"][0]["attempt_log"]
    assert [a["outcome"] for a in log] == ["failed"] * (len(log) - 1) + ["delivered"]
    assert log[0]["status_code"] == 503 and log[0]["latency_ms"] >= 0 and log[-1]["status_code"] == 200
    gaps = [b - a for a, b in zip(*[[r.at for r in receiver.received][i:] for i in (0, 1)])]
    # waits double from 0.05 s, each jittered between half and all of it
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05


def test_after_the_last_attempt_a_delivery_is_dead_lettered_and_the_retry_endpoint_sends_it_again(
        any_database_world, receiver):
    world = any_database_world
    receiver.secrets["/shelter"] = world.subscribe("webhook", receiver.url("/shelter"))["secret"]
    receiver.status = 500
    world.fanout.handle(referral_event("created"))
    world.wait_until_settled()
    [row] = world.deliveries(channel="webhook")
    assert row.status == "dead" and row.attempts == 4 and len(receiver.received) == 4
    with world.engine.connect() as connection:
        published = [json.loads(e) for e in connection.execute(sa.select(outbox.c.event)).scalars()]
    [failed] = [e for e in published if e["data"]["channel"] == "webhook"]
    assert failed["type"] == "org.haven.notification.failed.v1"
    assert failed["data"]["outcome"] == "dead" and failed["data"]["attempts"] == 4
    staff = bearer(world.data_dir, "agency_staff", organization_id=SHELTER)
    receiver.status = 200
    assert world.client.post(f"/v1/deliveries/{row.id}/retry", headers=staff).status_code == 202
    world.wait_until_settled()
    [row] = world.deliveries(channel="webhook")
    assert row.status == "delivered" and len(receiver.accepted()) == 1
    assert world.client.post(f"/v1/deliveries/{row.id}/retry", headers=staff).status_code == 409
    other = bearer(world.data_dir, "agency_staff", organization_id="org-elsewhere")
    assert world.client.post(f"/v1/deliveries/{row.id}/retry", headers=other).status_code == 404


def test_the_referrer_hears_of_each_answer_and_supervisors_of_an_emergency_escalation(world, receiver, smtp):
    users = LocalUsers(str(world.data_dir))
    users.add(LocalUser("cw-lan", "Lan", ("caseworker",), UNION, language="vi", email="lan@union.example"),
              "password-123")
    users.add(LocalUser("sup-minh", "Minh", ("supervisor",), UNION, language="en", email="minh@union.example"),
              "password-123")
    union_hook = world.subscribe("webhook", receiver.url("/union"), organization_id=UNION)
    receiver.secrets["/union"] = union_hook["secret"]
    referral = "ref-1"
    for kind in ("acknowledged", "accepted", "declined", "completed"):
        world.fanout.handle(referral_event(kind, referral))
    world.fanout.handle(referral_event("cancelled", referral))  # the receiving agency's news, not the referrer's
    world.wait_until_settled()
    mails = smtp.wait_for("lan@union.example", 4)
    # Sent side by side: no order between them (receivers order by data.occurred_at).
    subjects = {m.message["Subject"].split(": ", 1)[1]: m for m in mails}
    assert set(subjects) == {"Giới thiệu của bạn đã được cơ quan tiếp nhận xác nhận",
                             "Giới thiệu của bạn đã được chấp nhận", "Giới thiệu của bạn đã bị từ chối",
                             "Giới thiệu của bạn đã hoàn thành"}
    assert "no_capacity" in subjects["Giới thiệu của bạn đã bị từ chối"].part("plain")
    assert sorted(r.json["data"]["event"] for r in receiver.wait_for(4, "/union")) == [
        "accepted", "acknowledged", "completed", "declined"]
    assert not smtp.to("minh@union.example")
    world.fanout.handle(referral_event("escalated", "ref-2", urgency="normal"))
    world.fanout.handle(referral_event("escalated", "ref-3", urgency="emergency"))
    world.wait_until_settled()
    [supervisor_mail] = smtp.wait_for("minh@union.example")
    assert "An emergency referral from your agency is overdue" in supervisor_mail.part("plain")
    assert "ref-3" in supervisor_mail.part("plain")


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_a_webhook_a_caseworker_registered_for_their_agency_hears_of_its_referrals_answers(world, receiver, role):
    hook = world.subscribe("webhook", receiver.url("/union"), organization_id=UNION, role=role)
    receiver.secrets["/union"] = hook["secret"]
    for kind in ("created", "accepted", "declined"):  # created: the receiving agency's news, not the referrer's
        world.fanout.handle(referral_event(kind, "ref-7"))
    world.wait_until_settled()
    heard = receiver.wait_for(2, "/union")
    assert sorted(r.json["data"]["event"] for r in heard) == ["accepted", "declined"]
    assert {r.json["data"]["audience"] for r in heard} == {"referrer"}
    assert {r.json["data"]["referral_id"] for r in heard} == {"ref-7"}


def test_an_open_circuit_breaker_spares_a_dead_endpoint(tmp_path, smtp, receiver):
    # Open for 4 s: the look half a second after the second failure falls well inside it.
    world = World(tmp_path, f"sqlite:///{tmp_path / 'n.sqlite3'}", smtp, NOTIFY_BREAKER_FAILURES="2",
                  NOTIFY_BREAKER_OPEN_SECONDS="4", NOTIFY_RETRY_MAX_ATTEMPTS="10",
                  NOTIFY_DELIVERY_CONCURRENCY="1")
    try:
        receiver.secrets["/shelter"] = world.subscribe("webhook", receiver.url("/shelter"))["secret"]
        receiver.status = 500
        for _ in range(5):
            world.fanout.handle(referral_event("created"))
        deadline = time.monotonic() + 3  # a loaded machine may take a while for the first two
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        # Two failures opened it: the other deliveries wait instead of each spending attempts.
        assert len(receiver.received) == 2
        receiver.status = 200
        world.wait_until_settled(timeout=20)
        assert len(receiver.accepted()) == 5
        assert sum(row.attempts for row in world.deliveries(channel="webhook")) <= 2 + 1 + 5
    finally:
        world.close()


def test_inbox_items_for_the_agency_and_the_referrer(world):
    # Times as a Vietnamese office writes them: the answers give them in UTC, like every other.
    world.fanout.handle(referral_event("created", "ref-9", occurred_at="2026-11-25T09:00:00+07:00",
                                       acknowledge_by="2026-11-25T13:00:00+07:00"))
    world.fanout.handle(referral_event("accepted", "ref-9"))
    staff = bearer(world.data_dir, "agency_staff", organization_id=SHELTER)
    page = world.client.get("/v1/inbox", headers=staff).json
    assert page["total"] == 1 and page["unread"] == 1
    [item] = page["items"]
    assert item["event"] == "created" and item["referral_id"] == "ref-9" and item["read"] is False
    # Every time with its offset, the event's own included (the deadline to acknowledge by).
    assert (item["occurred_at"], item["deadline"]) == ("2026-11-25T02:00:00+00:00", "2026-11-25T06:00:00+00:00")
    assert datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    assert item["deadline_kind"] == "acknowledge" and item["read_at"] is None
    read = world.client.post(f"/v1/inbox/{item['id']}/read", headers=staff)
    assert read.status_code == 200 and read.json["read"] is True
    assert world.client.get("/v1/inbox", query_string={"unread": "true"}, headers=staff).json["total"] == 0
    referrer = bearer(world.data_dir, "caseworker", organization_id=UNION, subject="cw-lan")
    [mine] = world.client.get("/v1/inbox", headers=referrer).json["items"]
    assert mine["event"] == "accepted" and mine["audience"] == "referrer"
    someone_else = bearer(world.data_dir, "caseworker", organization_id=UNION, subject="cw-hoa")
    assert world.client.get("/v1/inbox", headers=someone_else).json["total"] == 0
    assert world.client.post(f"/v1/inbox/{item['id']}/read", headers=someone_else).status_code == 404
    with world.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(inbox)).scalar() == 2


def test_an_address_the_agency_removed_gets_nothing_more_retries_included(world, smtp):
    subscription = world.subscribe("email", "desk@shelter.example")
    staff = bearer(world.data_dir, "agency_staff", organization_id=SHELTER)
    # the SMTP server refuses for a while: the e-mail waits for its retry ...
    world.stop.set()
    world.thread.join(10)
    world.fanout.handle(referral_event("created"))
    # ... and meanwhile the agency removes the address
    assert world.client.delete(f"/v1/subscriptions/{subscription['id']}", headers=staff).status_code == 204
    world.stop.clear()
    world.thread = threading.Thread(target=world.dispatcher_job.run, args=(world.stop,))
    world.thread.start()
    world.wait_until_settled()
    [row] = world.deliveries(channel="email", subscription_id=subscription["id"])
    assert row.status == "undeliverable" and row.last_error == "subscription_deleted"
    assert smtp.to("desk@shelter.example") == []
