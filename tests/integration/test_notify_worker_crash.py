"""`haven worker notify` SIGKILLed in the middle of deliveries: after a restart every
notification arrives, each delivery records exactly one success, and the repeats a receiver
may see carry the same CloudEvent id, so it drops them."""
import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from haven.platform import db
from haven.platform.eventlog import Message
from haven.platform.eventlog.embedded import EmbeddedEventLog
from services.notify import SPEC
from services.notify.adapters.orm import attempts, deliveries
from services.referral import contract
from tests.support.apps import service_app
from tests.support.auth import bearer
from tests.support.network import free_port
from tests.support.referral_events import referral_event
from tests.support.webhook_receiver import WebhookReceiver

EVENTS = 30


def _start_worker(env, log):
    return subprocess.Popen([sys.executable, "-m", "haven", "worker", "notify"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def test_a_killed_worker_loses_nothing_and_records_one_success_per_delivery(tmp_path):
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "PYTHONPATH": os.getcwd(),
           "NOTIFY_WORKER_PORT": str(free_port()), "NOTIFY_DIRECTORY_URL": "http://127.0.0.1:9",
           "NOTIFY_RETRY_FIRST_SECONDS": "0.1", "NOTIFY_RETRY_MAX_SECONDS": "0.5", "LOG_LEVEL": "warning",
           "NOTIFY_WEBHOOK_PRIVATE_TARGETS": "true"}  # the receiver is on 127.0.0.1
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    app = service_app("notify", tmp_path, NOTIFY_WEBHOOK_PRIVATE_TARGETS="true")
    with WebhookReceiver(delay=0.4) as receiver:
        hook = app.test_client().post("/v1/subscriptions", headers=bearer(tmp_path, "agency_staff",
                                                                          organization_id="org-shelter"),
                                      json={"channel": "webhook", "target": receiver.url("/shelter")}).json
        receiver.secrets["/shelter"] = hook["secret"]
        event_log = EmbeddedEventLog(str(tmp_path / "events.sqlite3"), partitions=8)
        events = [referral_event("created") for _ in range(EVENTS)]
        event_log.publish([Message(contract.TOPIC, e.subject, e.to_json()) for e in events])
        with open(tmp_path / "worker.log", "ab") as log:
            worker = _start_worker(env, log)
            try:
                deadline = time.monotonic() + 30
                while len(receiver.received) < 5 and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert len(receiver.received) >= 5, (tmp_path / "worker.log").read_text()[-2000:]
                worker.send_signal(signal.SIGKILL)  # sends in flight, the rest queued or not yet consumed
                worker.wait(10)
                assert len(receiver.accepted()) < EVENTS
                worker = _start_worker(env, log)
                got = receiver.wait_for(EVENTS, timeout=30)
                # What the receiver took just before the kill is sent again (the worker never
                # heard the answer): wait until every delivery is settled, not only received.
                engine = db.create_engine(SPEC.database_url(SPEC.load_config(env)))
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with engine.connect() as connection:
                        unsettled = connection.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                            deliveries.c.status != "delivered")).scalar_one()
                    if not unsettled:
                        break
                    time.sleep(0.1)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
    assert sorted(r.json["data"]["referral_id"] for r in got) == sorted(e.data["referral_id"] for e in events)
    engine = db.create_engine(SPEC.database_url(SPEC.load_config(env)))
    with engine.connect() as connection:
        rows = connection.execute(sa.select(deliveries.c.id, deliveries.c.status)).all()
        successes = connection.execute(sa.select(attempts.c.delivery_id, sa.func.count()).where(
            attempts.c.outcome == "delivered").group_by(attempts.c.delivery_id)).all()
        interrupted = connection.execute(sa.select(sa.func.count()).select_from(attempts).where(
            attempts.c.outcome == "interrupted")).scalar()
    assert len(rows) == EVENTS and {status for _, status in rows} == {"delivered"}
    assert len(successes) == EVENTS and {count for _, count in successes} == {1}
    # What was in flight at the kill is marked so, and sent again under the same id.
    assert interrupted >= 1
    assert len(receiver.received) >= EVENTS and len({r.json["id"] for r in receiver.received}) == EVENTS
