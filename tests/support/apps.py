"""Build a service's Flask app the way its gunicorn workers do, on a migrated test database."""
from __future__ import annotations

from haven.cli import SERVICES
from haven.platform.service_spec import resolve


def service_app(service: str, data_dir, database_url: str | None = None, **environ):
    spec = SERVICES[service]
    env = {"HAVEN_DATA_DIR": str(data_dir), **environ}
    if database_url:
        env[f"{service.upper()}_DATABASE_URL"] = database_url
    spec.migrations().upgrade(spec.database_url(spec.load_config(env)))
    app = resolve(spec.app_factory)(env)
    app.config["TESTING"] = True
    return app
