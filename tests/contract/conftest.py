import hashlib

import pytest

from services.directory.adapters.elastic_index import ElasticProviderIndex, elastic_client
from services.directory.adapters.sqlite_index import SqliteProviderIndex


def _embedded(request, tmp_path):
    return SqliteProviderIndex(str(tmp_path / "index"))


def _elasticsearch(request, tmp_path):
    """On the stand-in, under an alias of this test's own (so every test starts empty; a
    second instance in the same test shares it, as a second worker would)."""
    standin = request.getfixturevalue("elasticsearch_standin")
    alias = "haven-test-" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:12]
    client = elastic_client(standin.url)

    def drop():  # by name: like a real cluster, the stand-in refuses wildcard deletes
        names = list(client.indices.get_alias(index=f"{alias}-*", allow_no_indices=True).body)
        for name in names + [f"{alias}.locks"]:
            client.indices.delete(index=name, ignore_unavailable=True)

    request.addfinalizer(drop)
    return ElasticProviderIndex(client, alias=alias, replicas=0)


ADAPTERS = {"embedded": _embedded, "elasticsearch": _elasticsearch}


@pytest.fixture(params=sorted(ADAPTERS))
def index(request, tmp_path):
    """One instance of each ProviderIndex adapter, empty."""
    return ADAPTERS[request.param](request, tmp_path)


@pytest.fixture
def second_index(request, tmp_path):
    """Another instance on the same index, as a second worker process would have."""
    return ADAPTERS[request.node.callspec.params["index"]](request, tmp_path)
