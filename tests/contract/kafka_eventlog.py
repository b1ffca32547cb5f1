"""The Kafka adapter of the event-log port on the Kafka-protocol stand-in, for the shared
contract suite:

    @pytest.fixture
    def event_log(tmp_path):
        with kafka_event_log(tmp_path) as log:
            yield log

Each call starts its own noida-db on a free port of 127.0.0.1 (data under `tmp_path`) and
stops it afterwards. Topics are provisioned the first time the log publishes to or
consumes them, with `partitions` partitions and replication factor 1 (the stand-in is one
broker). `kafka_stand_in_and_event_log` also hands over the stand-in, for tests that stop
or restart the broker.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from haven.platform.eventlog.kafka import KafkaEventLog
from tests.support.noida import NoidaKafka

# Shorter than production so that a member killed by a test is declared dead quickly (the
# stand-in, like Kafka, keeps its partitions until its session expires).
TEST_OPTIONS: dict[str, Any] = {"partitions": 8, "replication_factor": 1, "session_timeout": 6.0,
                                "join_timeout": 15.0, "publish_timeout": 15.0, "check_timeout": 2.0}


@contextmanager
def kafka_stand_in_and_event_log(tmp_path, **options: Any) -> Iterator[tuple[NoidaKafka, KafkaEventLog]]:
    with NoidaKafka(tmp_path) as broker:
        log = KafkaEventLog(broker.bootstrap, **{**TEST_OPTIONS, **options})
        try:
            log.check()
            yield broker, log
        finally:
            log.close()


@contextmanager
def kafka_event_log(tmp_path, **options: Any) -> Iterator[KafkaEventLog]:
    with kafka_stand_in_and_event_log(tmp_path, **options) as (_, log):
        yield log
