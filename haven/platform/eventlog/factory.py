"""The event log a process uses, from configuration."""
from __future__ import annotations

import os

from ..config import Config, ConfigError
from . import EventLog
from .health import HealthLimits
from .settings import kafka_group_options


def event_log_from(config: Config) -> EventLog:
    event_log = _adapter(config)
    event_log.health_limits = HealthLimits(stalled_after=config.event_consumer_stalled_seconds,
                                           growing_after=config.event_consumer_lag_growing_seconds)
    return event_log


def _adapter(config: Config) -> EventLog:
    if config.event_backend == "kafka":
        if not config.kafka_bootstrap_servers:
            raise ConfigError("KAFKA_BOOTSTRAP_SERVERS is required with EVENT_BACKEND=kafka")
        from .kafka import KafkaEventLog

        return KafkaEventLog(
            config.kafka_bootstrap_servers, partitions=config.event_partitions,
            replication_factor=config.kafka_replication_factor,
            retention_ms=config.event_retention_hours * 3_600_000,
            security_protocol=config.kafka_security_protocol.upper(), ssl_cafile=config.kafka_ssl_cafile,
            sasl_mechanism=config.kafka_sasl_mechanism.upper() if config.kafka_sasl_mechanism else None,
            sasl_plain_username=config.kafka_sasl_username, sasl_plain_password=config.kafka_sasl_password,
            **kafka_group_options(config))
    from .embedded import EmbeddedEventLog

    return EmbeddedEventLog(os.path.join(config.haven_data_dir, "events.sqlite3"), partitions=config.event_partitions,
                            retention_seconds=config.event_retention_hours * 3600,
                            retention_records=config.event_retention_records)
