"""Build an event log from a small JSON description, in the test process or a child."""
from haven.platform.eventlog.embedded import EmbeddedEventLog


def open_event_log(spec: dict):
    if spec["adapter"] == "embedded":
        return EmbeddedEventLog(spec["path"], partitions=spec.get("partitions", 4),
                                session_timeout=spec.get("session_timeout", 2.0))
    if spec["adapter"] == "kafka":
        from haven.platform.eventlog.kafka import KafkaEventLog
        from tests.contract.kafka_eventlog import TEST_OPTIONS

        return KafkaEventLog(spec["bootstrap"], **TEST_OPTIONS)
    raise ValueError(spec["adapter"])
