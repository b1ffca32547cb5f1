"""gunicorn, embedded: serve one Haven service with settings from Haven's configuration."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from haven.platform.config import Config
from haven.platform.service_spec import ServiceSpec, resolve
from haven.serving.balance import ConnectionTable
from haven.serving.settings import ServingLimits


class HavenServer(BaseApplication):
    def __init__(self, spec: ServiceSpec, config: Config):
        self.spec = spec
        self.config = config
        self.serving_limits = ServingLimits.from_config(config)  # read by HavenWorker
        # Shared by the workers (forked from this process): room for a reload's overlap of
        # old and new workers.
        self.connection_table = ConnectionTable(slots=2 * config.haven_workers + 2)
        super().__init__()

    def load_config(self) -> None:
        from haven import gunicorn_conf

        for key, value in vars(gunicorn_conf).items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)
        self.cfg.set("bind", [f"{self.config.haven_bind_host}:{self.spec.port(self.config)}"])
        self.cfg.set("workers", self.config.haven_workers)
        self.cfg.set("threads", self.spec.threads(self.config))
        self.cfg.set("max_requests", self.serving_limits.max_requests)
        self.cfg.set("max_requests_jitter", self.serving_limits.max_requests // 10)
        self.cfg.set("forwarded_allow_ips", self.config.forwarded_allow_ips)
        self.cfg.set("proc_name", f"haven-{self.spec.name}")

    def load(self):
        return resolve(self.spec.app_factory)()
