"""The common first half of every service's composition function."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from flask import Flask
from sqlalchemy.engine import Engine

from . import db, logging as haven_logging
from .auth import LocalKeys, TokenVerifier
from .config import Config
from .http import DEFAULT_BODY_LIMIT, Api, create_service_app
from .login import login_blueprint
from .service_spec import ServiceSpec


@dataclass
class ServiceParts:
    app: Flask
    api: Api
    config: Config
    engine: Engine
    verifier: TokenVerifier


def token_verifier(config: Config) -> TokenVerifier:
    return TokenVerifier(issuer=config.haven_auth_issuer, audience=config.haven_auth_audience,
                         jwks_url=config.haven_auth_jwks_url, local_keys=LocalKeys(config.haven_data_dir))


def service_app(spec: ServiceSpec, environ: Mapping[str, str] | None, *, title: str,
                description: str, max_body_bytes: int = DEFAULT_BODY_LIMIT) -> ServiceParts:
    config = spec.load_config(environ)
    haven_logging.configure(spec.name, config.log_level)
    engine = db.create_engine(spec.database_url(config))
    app, api = create_service_app(
        service=spec.name, title=title, version="1", description=description,
        readiness={"database": spec.migrations().readiness_check(engine)}, max_body_bytes=max_body_bytes,
    )
    if config.haven_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.haven_proxy_hops, x_proto=config.haven_proxy_hops)
    verifier = token_verifier(config)
    # Every service signs people in and says who they are (haven/platform/login.py: why).
    api.register_blueprint(login_blueprint(config, verifier))
    return ServiceParts(app, api, config, engine, verifier)
