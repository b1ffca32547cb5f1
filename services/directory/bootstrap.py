"""Composition root of the directory service: configuration in, a wired Flask app out."""
from __future__ import annotations

import os
from datetime import date
from functools import partial
from typing import Callable, Mapping

from flask import Flask

from haven.platform.bootstrap import service_app
from haven.platform.config import ConfigError
from haven.platform.errors import register_problems

from . import SPEC
from .adapters.sqlite_index import SqliteProviderIndex
from .adapters.unit_of_work import SqlDirectoryUnitOfWork
from .entrypoints import interchange, kind_mappings, registry, search
from .entrypoints.documentation import current_kinds
from .entrypoints.index_keeper import IndexKeeper
from .entrypoints.problems import ANSWERS
from .service_layer.directory import Directory
from .service_layer.hsds_queries import HsdsQueries
from .service_layer.imports import Imports
from .service_layer.indexing import Indexing
from .service_layer.kind_mappings import KindMappingTable
from .service_layer.ports import ProviderIndex
from .service_layer.reference import Reference
from .service_layer.registry import Registry
from .service_layer.search import Search
from .service_layer.unit_of_work import UnitOfWorkFactory


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


def use_cases(uow: UnitOfWorkFactory, index: ProviderIndex, today: Callable[[], date] = date.today) -> Directory:
    reference = Reference(uow)
    indexing = Indexing(uow, index)
    return Directory(uow=uow, index=index, today=today, registry=Registry(uow, index, today), reference=reference,
                     search=Search(index, reference, today), hsds=HsdsQueries(uow, index),
                     kind_mappings=KindMappingTable(uow), indexing=indexing, imports=Imports(uow, index, indexing))


def directory_from(config, engine) -> Directory:
    return use_cases(partial(SqlDirectoryUnitOfWork, engine), provider_index(config))


def background_jobs(config) -> list:
    """The directory worker's job (beside its outbox relay): keep the search index in step
    with every change, whoever made it (provider events)."""
    from haven.platform import db
    from haven.platform.background import Job
    from haven.platform.eventlog.factory import event_log_from
    from haven.platform.eventlog.settings import consumer_instance

    from .entrypoints import consumers

    directory = directory_from(config, db.create_engine(SPEC.database_url(config)))
    return [Job("index-sync", partial(consumers.run, event_log_from(config), directory,
                                      instance=consumer_instance(config, "directory")))]


def prepare(config) -> None:
    """Before the workers start (`haven serve`): build the search index if it is missing."""
    from haven.platform import db

    engine = db.create_engine(SPEC.database_url(config))
    directory_from(config, engine).indexing.build_if_needed(SPEC.migrations().readiness_check(engine))


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven directory",
                        description="Providers of help for survivors of gender-based violence, and search over them.")
    directory = directory_from(parts.config, parts.engine)
    parts.app.extensions["haven.directory"] = {"directory": directory, "verifier": parts.verifier,
                                               "import_max_bytes": parts.config.directory_import_max_bytes}
    keeper = IndexKeeper(directory.indexing, parts.app.extensions["haven.readiness"]["database"])
    parts.app.extensions["haven.readiness"]["search index"] = keeper.check
    directory.index.warm()  # each worker loads its search columns before taking requests
    for blueprint in (registry.blp, search.blp, interchange.blp, kind_mappings.blp):
        parts.api.register_blueprint(blueprint)
    parts.api.amend_document(current_kinds(directory.reference))  # the kinds table as it is when the document is read
    register_problems(parts.app, ANSWERS)
    return parts.app
