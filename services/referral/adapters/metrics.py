"""Response-time metrics: how long survivors wait, by urgency and service kind only.

Never labelled by person, agency or referral id: labels are few and known in advance (3
urgencies × the directory's kinds), and a label can never identify anyone.
"""
from prometheus_client import Counter, Histogram

from services.directory.domain.model import BASE_KINDS

from ..domain.model import ACTIONS, CREATE, URGENCIES
from ..domain.sla import DEADLINE_KINDS

# From seconds (an agency watching its inbox) to days (a normal referral decided in 72 h).
BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200,
           604800, 1209600, 2592000)

TIME_TO_ACKNOWLEDGE = Histogram("haven_referral_time_to_acknowledge_seconds",
                                "Referral created -> first answer of the receiving agency.",
                                ["urgency", "service_kind"], buckets=BUCKETS)
TIME_TO_DECISION = Histogram("haven_referral_time_to_decision_seconds",
                             "Referral created -> accepted or declined.", ["urgency", "service_kind"], buckets=BUCKETS)
TIME_TO_COMPLETE = Histogram("haven_referral_time_to_complete_seconds",
                             "Referral created -> completed.", ["urgency", "service_kind"], buckets=BUCKETS)
TRANSITIONS = Counter("haven_referral_transitions_total", "Referral lifecycle steps taken.",
                      ["action", "urgency", "service_kind"])
SLA_BREACHES = Counter("haven_referral_sla_breaches_total", "Deadlines missed (escalations raised).",
                       ["deadline", "urgency", "service_kind"])


def _prepare() -> None:
    """Every series whose labels are known at start, at 0: a fresh installation's dashboards
    show 0 minutes waited and 0 missed, not "no data". Kinds added to the directory later
    appear with their first referral."""
    for urgency in URGENCIES:
        for kind in BASE_KINDS:
            for histogram in (TIME_TO_ACKNOWLEDGE, TIME_TO_DECISION, TIME_TO_COMPLETE):
                histogram.labels(urgency, kind)
            for action in (CREATE, *ACTIONS):
                TRANSITIONS.labels(action, urgency, kind)
            for deadline in DEADLINE_KINDS:
                SLA_BREACHES.labels(deadline, urgency, kind)


class PrometheusMetrics:
    """The service layer's `Metrics` on the counters and histograms above (which stay
    module-level: a metric is registered once per process, however many apps it builds)."""

    def __init__(self):
        _prepare()

    def step(self, action: str, urgency: str, service_kind: str) -> None:
        TRANSITIONS.labels(action, urgency, service_kind).inc()

    def time_to_acknowledge(self, seconds: float, urgency: str, service_kind: str) -> None:
        TIME_TO_ACKNOWLEDGE.labels(urgency, service_kind).observe(seconds)

    def time_to_decision(self, seconds: float, urgency: str, service_kind: str) -> None:
        TIME_TO_DECISION.labels(urgency, service_kind).observe(seconds)

    def time_to_complete(self, seconds: float, urgency: str, service_kind: str) -> None:
        TIME_TO_COMPLETE.labels(urgency, service_kind).observe(seconds)

    def missed_deadline(self, deadline_kind: str, urgency: str, service_kind: str) -> None:
        SLA_BREACHES.labels(deadline_kind, urgency, service_kind).inc()
