"""The transactional outbox under crashes: the relay is SIGKILLed again and again while a
service writes 1 000 events; every event still reaches the log, none is invented, and the
order per key holds."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import marshmallow as ma
import sqlalchemy as sa

from haven.platform import db, events
from tests.support.network import free_port
from haven.platform.eventlog.embedded import EmbeddedEventLog
from haven.platform.outbox import Outbox, Relay
from services.referral import SPEC as REFERRAL
from services.referral.adapters.orm import outbox as outbox_table


class _Numbered(ma.Schema):
    seq = ma.fields.Integer(required=True)


events.register("org.haven.test.numbered.v1", _Numbered)
TOPIC = "test-events"


def _write(engine, outbox: Outbox, seq: int) -> None:
    with engine.begin() as connection:  # the state change and its event, in one transaction
        event = events.new_event("org.haven.test.numbered.v1", "/test", {"seq": seq}, subject=f"k{seq % 10}")
        outbox.add(connection, TOPIC, f"k{seq % 10}", event)


def _consume_all(event_log, expected: int, timeout: float = 60) -> list:
    consumer = event_log.consumer("checker", [TOPIC])
    got, deadline = [], time.monotonic() + timeout
    while len({json.loads(r.value)["data"]["seq"] for r in got}) < expected and time.monotonic() < deadline:
        got += consumer.poll(0.2, max_records=500)
    consumer.close()
    return got


def test_relay_killed_repeatedly_loses_and_invents_nothing(tmp_path):
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "PYTHONPATH": os.getcwd(),
           "REFERRAL_WORKER_PORT": str(free_port())}
    config = REFERRAL.load_config(env)
    url = REFERRAL.database_url(config)
    REFERRAL.migrations().upgrade(url)
    engine = db.create_engine(url)
    outbox = Outbox(outbox_table)
    command = [sys.executable, "-m", "haven", "worker", "referral"]

    done = threading.Event()

    def produce():
        for seq in range(1000):
            _write(engine, outbox, seq)
            if seq % 50 == 0:
                time.sleep(0.01)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    kills = 0
    while not done.is_set() or kills < 5:
        relay = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.4)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        kills += 1
    producer.join()
    relay = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    time.sleep(2)  # let it start (and install its signal handlers) before asking it to stop
    while outbox.backlog(engine) and time.monotonic() < deadline:
        time.sleep(0.1)
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(10) == 0  # a graceful stop
    assert outbox.backlog(engine) == 0

    log = EmbeddedEventLog(os.path.join(str(tmp_path), "events.sqlite3"))
    received = _consume_all(log, 1000)
    numbers = [json.loads(r.value)["data"]["seq"] for r in received]
    assert set(numbers) == set(range(1000))  # every event arrived, none invented
    for key in range(10):
        first_seen = list(dict.fromkeys(n for n, r in zip(numbers, received) if r.key == f"k{key}"))
        assert first_seen == sorted(first_seen), key  # order per key
    assert kills >= 5


def test_a_relay_keeps_rows_while_the_log_is_unavailable(tmp_path):
    url = f"sqlite:///{tmp_path / 'referral.sqlite3'}"
    REFERRAL.migrations().upgrade(url)
    engine = db.create_engine(url)
    outbox = Outbox(outbox_table)
    for seq in range(5):
        _write(engine, outbox, seq)

    class Down(EmbeddedEventLog):
        def publish(self, messages):
            raise ConnectionError("broker unreachable")

    down = Down(str(tmp_path / "events.sqlite3"))
    stop = threading.Event()
    thread = threading.Thread(target=Relay(engine, outbox, down).run, args=(stop,), kwargs={"retry_wait": 0.05})
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(5)
    assert outbox.backlog(engine) == 5  # nothing marked sent, nothing lost
    up = EmbeddedEventLog(str(tmp_path / "events.sqlite3"))
    assert Relay(engine, outbox, up).relay_once() == 5
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox_table)
                                  .where(outbox_table.c.sent_at.is_not(None))).scalar_one() == 5
