"""Directory service: the registry of providers (HSDS-shaped) and the search over it."""
from haven.platform.service import COMMON_SETTINGS, ServiceSpec, service_settings

SPEC = ServiceSpec(
    name="directory",
    default_port=8001,
    # Two threads: search is CPU-bound, and more threads per worker only add GIL contention
    # and tail latency (the benchmark's p95 drops by a third with 2 instead of 4).
    settings=COMMON_SETTINGS + service_settings("directory", 8001, threads=2),
    app_factory="services.directory.bootstrap:create_app",
    migrations_package="services.directory.migrations",
    demo_data="services.directory.demo:load",
    prepare="services.directory.bootstrap:prepare",
)
