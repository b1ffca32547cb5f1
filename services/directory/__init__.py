"""Directory service: the registry of providers (HSDS-shaped) and the search over it."""
from haven.platform.service import COMMON_SETTINGS, ServiceSpec, service_settings

SPEC = ServiceSpec(
    name="directory",
    default_port=8001,
    settings=COMMON_SETTINGS + service_settings("directory", 8001),
    app_factory="services.directory.bootstrap:create_app",
    migrations_package="services.directory.migrations",
    demo_data="services.directory.demo:load",
    prepare="services.directory.bootstrap:prepare",
)
