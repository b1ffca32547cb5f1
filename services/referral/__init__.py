"""Referral service: consent-gated referrals, their lifecycle, SLA timers and audit trail."""
from haven.platform.service import COMMON_SETTINGS, ServiceSpec, service_settings

SPEC = ServiceSpec(
    name="referral",
    default_port=8002,
    settings=COMMON_SETTINGS + service_settings("referral", 8002),
    app_factory="services.referral.bootstrap:create_app",
    migrations_package="services.referral.migrations",
    outbox="services.referral.adapters.orm:outbox",
)
