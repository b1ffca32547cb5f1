"""What every Haven service declares about itself, and the settings all of them share.

A `ServiceSpec` is deliberately light (no Flask, no prometheus imports): the `haven`
command reads specs before it has decided how metrics must be set up in the process.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from . import config as c
from .config import Config, Setting
from haven.serving.settings import SERVING_SETTINGS

from .eventlog.settings import EVENT_LOG_SETTINGS
from .sign_in_limits import SIGN_IN_SETTINGS

COMMON_SETTINGS: list[Setting] = [
    Setting("HAVEN_DATA_DIR", c.directory_path, "./var",
            "Folder for the embedded databases, event log and runtime files."),
    Setting("HAVEN_BIND_HOST", c.text, "127.0.0.1",
            "Address the HTTP servers listen on (0.0.0.0 inside a container)."),
    Setting("HAVEN_WORKERS", c.integer(1, 64), "2",
            "gunicorn worker processes per service."),
    Setting("HAVEN_PROXY_HOPS", c.integer(0, 5), "0",
            "Reverse proxies in front of the services (an ingress: 1). Their X-Forwarded-For and "
            "X-Forwarded-Proto are then trusted, so the audit log records the client's address, not the "
            "proxy's. Leave 0 when clients connect directly: the headers could be forged."),
    Setting("FORWARDED_ALLOW_IPS", c.text, "127.0.0.1",
            "Comma-separated proxy addresses whose X-Forwarded-* headers gunicorn trusts."),
    Setting("PROMETHEUS_MULTIPROC_DIR", c.directory_path, None,
            "Folder where gunicorn workers share metric samples. Unset: HAVEN_DATA_DIR/run/metrics/SERVICE."),
    Setting("HAVEN_AUTH_ISSUER", c.text, "haven-local",
            "Expected `iss` of bearer tokens. `haven-local`: Haven's embedded issuer (`haven token`)."),
    Setting("HAVEN_AUTH_AUDIENCE", c.text, "haven", "Expected `aud` of bearer tokens."),
    Setting("HAVEN_AUTH_JWKS_URL", c.http_url, None,
            "JWKS of an external OIDC issuer. Unset: tokens are verified with the embedded issuer's key "
            "in HAVEN_DATA_DIR/auth."),
    Setting("HAVEN_AUTH_TOKEN_TTL_SECONDS", c.integer(60, 86_400), "900",
            "Lifetime of the tokens `POST /v1/auth/login` issues (embedded issuer). Short, because a disabled "
            "account keeps its last token until it expires."),
    *SIGN_IN_SETTINGS,
    Setting("EVENT_BACKEND", c.choice("embedded", "kafka"), "embedded",
            "Event log: `embedded` (SQLite file HAVEN_DATA_DIR/events.sqlite3, one machine) or `kafka`."),
    Setting("EVENT_PARTITIONS", c.integer(1, 1024), "8", "Partitions of each topic the event log creates."),
    Setting("EVENT_RETENTION_HOURS", c.integer(1, 87_600), "168", "How long the event log keeps records."),
    Setting("EVENT_RETENTION_RECORDS", c.integer(1_000, 1_000_000_000), "1000000",
            "Embedded event log: the newest records kept per partition, whatever their age (a size bound; "
            "Kafka's own retention settings apply there)."),
    Setting("KAFKA_BOOTSTRAP_SERVERS", c.text, None, "host:port[,host:port] of the Kafka cluster "
            "(required with EVENT_BACKEND=kafka)."),
    Setting("KAFKA_REPLICATION_FACTOR", c.integer(1, 10), "3", "Replication factor of topics Haven creates."),
    Setting("KAFKA_SECURITY_PROTOCOL", c.choice("plaintext", "ssl", "sasl_plaintext", "sasl_ssl"), "plaintext",
            "How to reach Kafka."),
    Setting("KAFKA_SSL_CAFILE", c.text, None, "CA bundle that signed the brokers' certificates (TLS)."),
    Setting("KAFKA_SASL_MECHANISM", c.choice("plain", "scram-sha-256", "scram-sha-512"), None,
            "SASL mechanism (with a sasl_* protocol)."),
    Setting("KAFKA_SASL_USERNAME", c.text, None, "SASL user name."),
    Setting("KAFKA_SASL_PASSWORD", c.text, None, "SASL password.", secret=True),
    *EVENT_LOG_SETTINGS,
    *SERVING_SETTINGS,
    Setting("LOG_LEVEL", c.choice("debug", "info", "warning", "error"), "info",
            "Minimum level of the JSON log lines written to stderr."),
]


def service_settings(name: str, default_port: int, threads: int = 4, threads_why: str = "") -> list[Setting]:
    prefix = name.upper()
    return [
        Setting(f"{prefix}_PORT", c.port, str(default_port), f"HTTP port of the {name} service."),
        Setting(f"{prefix}_WORKER_PORT", c.port, str(default_port + 100),
                f"Port of the {name} background worker's /metrics and /healthz (`haven worker {name}`)."),
        Setting(f"{prefix}_THREADS", c.integer(1, 64), str(threads),
                f"Threads per gunicorn worker of the {name} service (gthread).{threads_why}"),
        Setting(f"{prefix}_DATABASE_URL", c.database_url, None,
                f"SQLAlchemy URL of the {name} database (postgresql://...). Unset: embedded SQLite "
                f"file `{name}.sqlite3` in HAVEN_DATA_DIR, migrated on start. When set, run "
                f"`haven migrate` before starting.", secret=True),
    ]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int
    settings: list[Setting]
    app_factory: str  # "package.module:function", called with no arguments in each worker
    migrations_package: str | None  # dotted name of the package holding env.py and versions/; None: no database
    demo_data: str | None = None  # "package.module:function(config, database_url)", on first start
    prepare: str | None = None  # "package.module:function(config)", run once before the workers start
    outbox: str | None = None  # "package.module:attribute", the service's outbox table (it then needs a relay)
    topic: str | None = None  # the event log topic its outbox publishes to (counted from 0 at start)
    jobs: str | None = None  # "package.module:function(config) -> list[Job]", run by `haven worker`
    extra: dict = field(default_factory=dict)

    def load_config(self, environ=None) -> Config:
        return c.load(self.settings, environ)

    def port(self, config: Config) -> int:
        return getattr(config, f"{self.name}_port")

    def worker_port(self, config: Config) -> int:
        return getattr(config, f"{self.name}_worker_port")

    @property
    def has_database(self) -> bool:
        """False for a service that keeps no data of its own (the portal)."""
        return self.migrations_package is not None

    @property
    def has_worker(self) -> bool:
        return bool(self.outbox or self.jobs)

    def threads(self, config: Config) -> int:
        return getattr(config, f"{self.name}_threads")

    def database_url(self, config: Config) -> str:
        from .db import embedded_url

        return getattr(config, f"{self.name}_database_url") or embedded_url(config.haven_data_dir, self.name)

    def migrations(self):
        from .db import Migrations

        package = importlib.import_module(self.migrations_package)
        return Migrations(self.name, package.__path__[0])


def resolve(reference: str) -> Callable:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)
