"""Delivery metrics, by channel and outcome only: never by agency, person or referral."""
from prometheus_client import Counter, Gauge, Histogram

from services.directory.domain.model import BASE_KINDS
from services.referral.domain.model import URGENCIES

from ..domain.model import CHANNELS

# From tens of milliseconds (a local webhook) to hours (a receiver down all morning).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)

DELIVERY_LATENCY = Histogram("haven_notify_delivery_latency_seconds",
                             "Referral event -> notification delivered.", ["channel"], buckets=BUCKETS)
ATTEMPTS = Counter("haven_notify_attempts_total", "Delivery attempts (outcome: delivered, failed).",
                   ["channel", "outcome"])
FAILURES = Counter("haven_notify_failures_total",
                   "Failed attempts by what followed (outcome: retry, dead, undeliverable).", ["channel", "outcome"])
DEAD_LETTERS = Gauge("haven_notify_dead_letters", "Deliveries given up after their last attempt, not retried since.",
                     multiprocess_mode="max")
TIME_TO_NOTIFY = Histogram("haven_referral_time_to_notify_seconds",
                           "Referral created -> receiving agency notified (first delivery that succeeded).",
                           ["urgency", "service_kind"], buckets=BUCKETS)


BREAKERS_OPEN = Gauge("haven_notify_breakers_open",
                      "Endpoints whose circuit breaker is open (deliveries to them wait), by channel.", ["channel"],
                      multiprocess_mode="max")

ATTEMPT_OUTCOMES = ("delivered", "failed")
FAILURE_OUTCOMES = ("retry", "dead", "undeliverable")


def _prepare() -> None:
    """Every channel's series at 0 from start: "no dead letters" and "no open breaker" are
    answers a dashboard must be able to show."""
    for channel in CHANNELS:
        DELIVERY_LATENCY.labels(channel)
        BREAKERS_OPEN.labels(channel)
        for outcome in ATTEMPT_OUTCOMES:
            ATTEMPTS.labels(channel, outcome)
        for outcome in FAILURE_OUTCOMES:
            FAILURES.labels(channel, outcome)
    for urgency in URGENCIES:
        for kind in BASE_KINDS:
            TIME_TO_NOTIFY.labels(urgency, kind)


class PrometheusDeliveryMetrics:
    """The dispatcher's figures (`service_layer.ports.DeliveryMetrics`) as the metrics above."""

    def __init__(self):
        _prepare()

    def breakers_open(self, channel: str, count: int) -> None:
        BREAKERS_OPEN.labels(channel).set(count)

    def dead_letters(self, count: int) -> None:
        DEAD_LETTERS.set(count)

    def attempted(self, channel: str, outcome: str) -> None:
        ATTEMPTS.labels(channel, outcome).inc()

    def delivered(self, channel: str, seconds_since_event: float) -> None:
        DELIVERY_LATENCY.labels(channel).observe(seconds_since_event)

    def agency_notified(self, urgency: str, service_kind: str, seconds_since_event: float) -> None:
        TIME_TO_NOTIFY.labels(urgency, service_kind).observe(seconds_since_event)

    def failed(self, channel: str, outcome: str) -> None:
        FAILURES.labels(channel, outcome).inc()
