import itertools
import os

import pytest

from tests.support.postgres import PostgresCluster

_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: once on embedded SQLite, once on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"haven_test_{os.getpid()}_{next(_database_names)}")


@pytest.fixture(scope="session")
def elasticsearch_standin(tmp_path_factory):
    """One Elasticsearch stand-in (noida-db) for the whole session; each user takes an
    alias (index name prefix) of its own."""
    from tests.support.noida_es import NoidaElasticsearch

    standin = NoidaElasticsearch(tmp_path_factory.mktemp("elasticsearch")).start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def chromium():
    """One Debian Chromium, driven by Playwright, for every browser test of the run: Playwright's
    sync API runs its own event loop, and a second one started in the same process refuses
    to run inside the first."""
    from playwright.sync_api import sync_playwright

    from tests.support import browser as browsers

    with sync_playwright() as playwright:
        launched = browsers.launch(playwright)
        yield launched
        launched.close()
