"""Composition root of the directory service: configuration in, a wired Flask app out."""
from __future__ import annotations

from functools import partial
from typing import Mapping

from flask import Flask

from haven.platform.bootstrap import service_app

from . import SPEC
from .entrypoints import api
from .service_layer.unit_of_work import SqlUnitOfWork


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven directory",
                        description="Providers of help for survivors of gender-based violence, and search over them.")
    parts.app.extensions["haven.directory"] = {"uow": partial(SqlUnitOfWork, parts.engine)}
    parts.api.register_blueprint(api.blp)
    return parts.app
