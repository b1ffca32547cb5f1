import pytest

from services.directory.adapters.sqlite_index import SqliteProviderIndex


ADAPTERS = {"embedded": lambda tmp_path: SqliteProviderIndex(str(tmp_path / "index"))}


@pytest.fixture(params=sorted(ADAPTERS))
def index(request, tmp_path):
    """One instance of each ProviderIndex adapter, empty."""
    return ADAPTERS[request.param](tmp_path)


@pytest.fixture
def second_index(request, tmp_path):
    """Another instance on the same index, as a second worker process would have."""
    return ADAPTERS[request.node.callspec.params["index"]](tmp_path)
