"""Notify service: tells receiving agencies and referrers what happened to a referral."""
from haven.platform.service import COMMON_SETTINGS, ServiceSpec, service_settings

SPEC = ServiceSpec(
    name="notify",
    default_port=8003,
    settings=COMMON_SETTINGS + service_settings("notify", 8003),
    app_factory="services.notify.bootstrap:create_app",
    migrations_package="services.notify.migrations",
)
