"""The event log's shared settings: Kafka group timeouts, the worker's member name."""
import pytest

from haven.platform import config as c
from haven.platform.config import ConfigError
from haven.platform.eventlog.factory import event_log_from
from haven.platform.eventlog.settings import EVENT_LOG_SETTINGS, consumer_instance
from haven.platform.service_spec import COMMON_SETTINGS


def load(tmp_path, **environ):
    return c.load(COMMON_SETTINGS + EVENT_LOG_SETTINGS, {"HAVEN_DATA_DIR": str(tmp_path), **environ})


def test_a_worker_keeps_its_member_name_whatever_its_hostname(tmp_path, monkeypatch):
    config = load(tmp_path)
    monkeypatch.setattr("socket.gethostname", lambda: "referral-worker-7d9f8-abcde")
    before = consumer_instance(config, "referral")
    monkeypatch.setattr("socket.gethostname", lambda: "referral-worker-5c4b2-xyzzy")  # after a rollout
    assert consumer_instance(config, "referral") == before == "referral-worker-0"
    assert consumer_instance(load(tmp_path, EVENT_CONSUMER_INSTANCE="notify-worker-2"), "notify") \
        == "notify-worker-notify-worker-2"


def test_operators_set_the_kafka_group_timeouts(tmp_path):
    config = load(tmp_path, EVENT_BACKEND="kafka", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
                  EVENT_KAFKA_SESSION_TIMEOUT_SECONDS="45", EVENT_KAFKA_HEARTBEAT_INTERVAL_SECONDS="5",
                  EVENT_KAFKA_MAX_POLL_INTERVAL_SECONDS="600", EVENT_KAFKA_JOIN_TIMEOUT_SECONDS="20",
                  EVENT_CONSUMER_STALLED_SECONDS="90", EVENT_CONSUMER_LAG_GROWING_SECONDS="900")
    log = event_log_from(config)  # touches no network
    try:
        assert (log.session_timeout, log.heartbeat_interval, log.max_poll_interval, log.join_timeout) == \
            (45, 5, 600, 20)
        assert (log.health_limits.stalled_after, log.health_limits.growing_after) == (90, 900)
    finally:
        log.close()


def test_a_heartbeat_as_long_as_the_session_is_refused_naming_both_settings(tmp_path):
    config = load(tmp_path, EVENT_BACKEND="kafka", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
                  EVENT_KAFKA_SESSION_TIMEOUT_SECONDS="6", EVENT_KAFKA_HEARTBEAT_INTERVAL_SECONDS="6")
    with pytest.raises(ConfigError) as refused:
        event_log_from(config)
    assert "EVENT_KAFKA_HEARTBEAT_INTERVAL_SECONDS=6" in str(refused.value)
    assert "EVENT_KAFKA_SESSION_TIMEOUT_SECONDS=6" in str(refused.value)


def test_a_bad_timeout_names_the_setting(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, EVENT_KAFKA_SESSION_TIMEOUT_SECONDS="soon")
    assert str(refused.value).startswith("EVENT_KAFKA_SESSION_TIMEOUT_SECONDS='soon' is invalid")
