"""The event log's settings that every service shares: Kafka group timeouts, the worker
replica's member name, and when a consumer counts as unhealthy.

Why a stable member name per replica (Kafka static membership), not the hostname and not
dynamic membership: a Kafka static member never leaves its group on close; it is replaced
at once by the next consumer with the same name, or dropped only when its session times
out. Named after the hostname, every rollout (new pod names) left the old member holding
its partitions until then — and a broker that never expires it (the test stand-in, when
the dead member led the group) stalls the group for good. Named after the replica slot,
the restarted worker takes its partitions back at once, whatever its hostname, and a
crash costs no rebalance at all. Dynamic membership would survive rollouts too, but a
crashed worker's partitions would then wait for the session timeout on every restart.
Two live replicas under one name are an operator error the log refuses safely: the newer
fences the older (`MemberFenced`), never both reading one partition.
"""
from __future__ import annotations


from .. import config as c
from ..config import Config, ConfigError, Setting

EVENT_LOG_SETTINGS: list[Setting] = [
    Setting("EVENT_CONSUMER_INSTANCE", c.text, "0",
            "This worker replica's stable name in its consumer groups (member `<service>-worker-<name>`; "
            "Kafka static membership), so a restart under a new hostname takes its partitions back at once. "
            "One replica: leave `0`. Several: give each its own, stable across restarts (a StatefulSet "
            "pod name); two live replicas with one name fence each other."),
    Setting("EVENT_KAFKA_SESSION_TIMEOUT_SECONDS", c.number(1), "10",
            "Kafka: a consumer silent this long is dropped from its group and its partitions move on."),
    Setting("EVENT_KAFKA_HEARTBEAT_INTERVAL_SECONDS", c.number(0.1), "3",
            "Kafka: how often a consumer tells its group it is alive (well under the session timeout)."),
    Setting("EVENT_KAFKA_MAX_POLL_INTERVAL_SECONDS", c.number(1), "300",
            "Kafka: longest a consumer may take over one batch before the group gives its partitions to "
            "another; also how long a rebalance waits for members to rejoin."),
    Setting("EVENT_KAFKA_JOIN_TIMEOUT_SECONDS", c.number(1), "10",
            "Kafka: how long a starting consumer waits for its group to give it partitions."),
    Setting("EVENT_CONSUMER_STALLED_SECONDS", c.number(1), "120",
            "A worker's /healthz fails when one of its consumers has held no partitions for this long while "
            "its group's lag did not shrink (a dead member keeps them), so the orchestrator replaces it."),
    Setting("EVENT_CONSUMER_LAG_GROWING_SECONDS", c.number(1), "600",
            "A worker's /healthz fails when one of its consumers' group lag has grown (not once gone down) "
            "for this long."),
]


def consumer_instance(config: Config, service: str) -> str:
    """The member name of `service`'s worker in each of its consumer groups."""
    return f"{service}-worker-{config.event_consumer_instance}"


def kafka_group_options(config: Config) -> dict[str, float]:
    session = config.event_kafka_session_timeout_seconds
    heartbeat = config.event_kafka_heartbeat_interval_seconds
    if heartbeat >= session:
        raise ConfigError(f"EVENT_KAFKA_HEARTBEAT_INTERVAL_SECONDS={heartbeat:g} must be shorter than "
                          f"EVENT_KAFKA_SESSION_TIMEOUT_SECONDS={session:g}")
    return {"session_timeout": session, "heartbeat_interval": heartbeat,
            "max_poll_interval": config.event_kafka_max_poll_interval_seconds,
            "join_timeout": config.event_kafka_join_timeout_seconds}
