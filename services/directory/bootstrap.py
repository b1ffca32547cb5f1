"""Composition root of the directory service: configuration in, a wired Flask app out."""
from __future__ import annotations

import os
from functools import partial
from typing import Mapping

from flask import Flask

from haven.platform.bootstrap import service_app
from haven.platform.errors import Problem, problem_response, problem_type

from . import SPEC
from .adapters.search_index import ProviderIndex
from .adapters.sqlite_index import SqliteProviderIndex
from .domain.model import InvalidReference, NotFound, VersionConflict
from .entrypoints import interchange, registry, search
from .service_layer.services import Directory, InUse
from .service_layer.unit_of_work import SqlUnitOfWork


def provider_index(config) -> ProviderIndex:
    return SqliteProviderIndex(os.path.join(config.haven_data_dir, "search"))


def directory_from(config, engine) -> Directory:
    return Directory(partial(SqlUnitOfWork, engine), provider_index(config))


def prepare(config) -> None:
    """Before the workers start: build the search index if this data dir has none (a new
    machine, a new pod) or has one from an older version."""
    from haven.platform import db

    index = provider_index(config)
    if index.needs_rebuild():
        directory_from(config, db.create_engine(SPEC.database_url(config))).rebuild_index()


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven directory",
                        description="Providers of help for survivors of gender-based violence, and search over them.")
    directory = directory_from(parts.config, parts.engine)
    parts.app.extensions["haven.directory"] = {"directory": directory, "verifier": parts.verifier}
    parts.app.extensions["haven.readiness"]["search index"] = directory.index.check
    directory.index.warm()  # each worker loads its search columns before taking requests
    for blueprint in (registry.blp, search.blp, interchange.blp):
        parts.api.register_blueprint(blueprint)
    _translate_domain_errors(parts.app)
    return parts.app


def _translate_domain_errors(app: Flask) -> None:
    from haven.platform.concurrency import stale

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return problem_response(404, detail=str(exc), type=problem_type("not-found"))

    @app.errorhandler(VersionConflict)
    def version_conflict(exc: VersionConflict):
        problem: Problem = stale(exc.actual)
        return problem_response(problem.status, title=problem.title, detail=problem.detail, type=problem.type,
                                **problem.extensions)

    @app.errorhandler(InvalidReference)
    def invalid_reference(exc: InvalidReference):
        location = "query" if exc.field in ("kind", "province", "district", "commune") else "json"
        return problem_response(422, title="Request validation failed", detail=str(exc),
                                type=problem_type("validation-error"),
                                errors=[{"location": location, "field": exc.field, "message": str(exc)}])

    @app.errorhandler(InUse)
    def in_use(exc: InUse):
        return problem_response(409, detail=str(exc), type=problem_type("in-use"))
