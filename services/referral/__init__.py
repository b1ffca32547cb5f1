"""Referral service: consent-gated referrals, their lifecycle, SLA timers and audit trail."""
from haven.platform import config as c
from haven.platform import field_cipher
from haven.platform.config import Setting
from haven.platform.service_spec import COMMON_SETTINGS, ServiceSpec, service_settings


def _sla(raw: str) -> str:
    from .domain.errors import InvalidReferral
    from .domain.sla import SlaPolicy

    try:
        SlaPolicy.parse(raw)
    except InvalidReferral as exc:
        raise ValueError(str(exc)) from None
    return raw


SETTINGS = [
    Setting("REFERRAL_DIRECTORY_URL", c.http_url, "http://127.0.0.1:8001",
            "Base URL of the directory service, asked whether a receiving service exists and is active "
            "(`haven run` points it at its own directory)."),
    Setting("REFERRAL_SLA", _sla, "emergency=15m/1h,high=4h/24h,normal=24h/72h",
            "Deadlines to acknowledge / to decide per urgency (m, h, d). A missed one is escalated once."),
    Setting("REFERRAL_SLA_CHECK_SECONDS", c.number(0.2), "15",
            "How often the worker looks for missed deadlines."),
    Setting("REFERRAL_IDEMPOTENCY_KEY_HOURS", c.number(0.01), "24",
            "How long an Idempotency-Key replays its referral; after that the same key is a new request, "
            "and the worker forgets the key."),
    Setting("HAVEN_STATS_MIN_CELL", c.integer(2, 100), "5",
            "Smallest count the indicators and the yearly report show: a count from 1 to one less is shown "
            "as `<5` (its rates and times withheld), and cells beside it as `x`, so none can be worked out."),
]

SPEC = ServiceSpec(
    name="referral",
    default_port=8002,
    settings=COMMON_SETTINGS + service_settings("referral", 8002) + SETTINGS + field_cipher.SETTINGS,
    app_factory="services.referral.bootstrap:create_app",
    migrations_package="services.referral.migrations",
    outbox="services.referral.adapters.orm:outbox",
    topic="referral-events",
    jobs="services.referral.bootstrap:background_jobs",
    demo_data="services.referral.demo:load",
)
