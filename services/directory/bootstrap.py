"""Composition root of the directory service: configuration in, a wired Flask app out."""
from __future__ import annotations

import logging
import os
import threading
from functools import partial
from typing import Mapping

from flask import Flask, request

from haven.platform.bootstrap import service_app
from haven.platform.config import ConfigError
from haven.platform.errors import Problem, problem_response, problem_type

from . import SPEC
from .adapters.search_index import IndexUnavailable, ProviderIndex
from .adapters.sqlite_index import SqliteProviderIndex
from .domain.model import InvalidReference, NotFound, VersionConflict
from .entrypoints import interchange, kind_mappings, registry, search
from .entrypoints.documentation import current_kinds
from .service_layer.services import Directory, InUse
from .service_layer.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


def provider_index(config) -> ProviderIndex:
    if config.search_backend == "elasticsearch":
        from .adapters.elastic_index import ElasticProviderIndex, elastic_client

        if not config.elasticsearch_url:
            raise ConfigError("ELASTICSEARCH_URL is required with SEARCH_BACKEND=elasticsearch")
        client = elastic_client(config.elasticsearch_url, api_key=config.elasticsearch_api_key,
                                username=config.elasticsearch_username, password=config.elasticsearch_password,
                                ca_certs=config.elasticsearch_ca_certs)
        return ElasticProviderIndex(client, alias=config.elasticsearch_index, replicas=config.elasticsearch_replicas)
    return SqliteProviderIndex(os.path.join(config.haven_data_dir, "search"))


def background_jobs(config) -> list:
    """The directory worker's job (beside its outbox relay): keep the search index in step
    with every change, whoever made it (provider events)."""
    from functools import partial as bind

    from haven.platform import db
    from haven.platform.background import Job
    from haven.platform.eventlog.factory import event_log_from

    from .entrypoints import provider_events

    directory = directory_from(config, db.create_engine(SPEC.database_url(config)))
    from haven.platform.eventlog.settings import consumer_instance

    return [Job("index-sync", bind(provider_events.run, event_log_from(config), directory,
                                   instance=consumer_instance(config, "directory")))]


def directory_from(config, engine) -> Directory:
    return Directory(partial(SqlUnitOfWork, engine), provider_index(config))


class IndexKeeper:
    """Builds the search index from the database when this data dir has none (a new
    machine, a new pod), has one from an older version, or one that was never built from
    the database — once the database is migrated. Only one process builds at a time."""

    def __init__(self, directory: Directory, database_ready):
        self.directory = directory
        self.database_ready = database_ready
        self._thread: threading.Thread | None = None

    def build_now(self) -> bool:
        index = self.directory.index
        try:
            if not index.needs_rebuild():
                return True
        except IndexUnavailable:
            return False  # the search cluster is down: readiness says so, and why
        try:
            self.database_ready()
        except Exception:
            return False  # `haven migrate` has not run yet: readiness says so
        with index.building() as mine:
            if mine and index.needs_rebuild():
                self.directory.rebuild_index()
                log.info("search index built from the database")
        return not index.needs_rebuild()

    def check(self) -> None:
        """Readiness: the index answers, or is being built (in the background) and is not ready."""
        reason = self.directory.index.rebuild_reason()
        if reason:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self.build_now, daemon=True, name="index-build")
                self._thread.start()
            raise RuntimeError(f"{reason}: being built from the database")
        self.directory.index.check()


def prepare(config) -> None:
    """Before the workers start (`haven serve`): build the search index if it is missing."""
    from haven.platform import db

    engine = db.create_engine(SPEC.database_url(config))
    IndexKeeper(directory_from(config, engine), SPEC.migrations().readiness_check(engine)).build_now()


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven directory",
                        description="Providers of help for survivors of gender-based violence, and search over them.")
    directory = directory_from(parts.config, parts.engine)
    parts.app.extensions["haven.directory"] = {"directory": directory, "verifier": parts.verifier,
                                               "import_max_bytes": parts.config.directory_import_max_bytes}
    keeper = IndexKeeper(directory, parts.app.extensions["haven.readiness"]["database"])
    parts.app.extensions["haven.readiness"]["search index"] = keeper.check
    directory.index.warm()  # each worker loads its search columns before taking requests
    for blueprint in (registry.blp, search.blp, interchange.blp, kind_mappings.blp):
        parts.api.register_blueprint(blueprint)
    parts.api.amend_document(current_kinds(directory))  # the kinds table as it is when the document is read
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
        # The field is named by the record or the query that carried it: a body's fields on a
        # request with one (POST /v1/services with an unknown kind), else the query's (search).
        location = "json" if request.method in ("POST", "PUT", "PATCH") else "query"
        # Its own type: well-shaped data that names a record that does not exist (or does
        # not fit it), which no schema can say; a shape error stays validation-error.
        return problem_response(422, title="Request validation failed", detail=str(exc),
                                type=problem_type("invalid-reference"),
                                errors=[{"location": location, "field": exc.field, "message": str(exc)}])

    @app.errorhandler(InUse)
    def in_use(exc: InUse):
        return problem_response(409, detail=str(exc), type=problem_type("in-use"))
