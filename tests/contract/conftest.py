import pytest

from services.directory.adapters.sqlite_index import SqliteProviderIndex


@pytest.fixture(params=["embedded"])
def index(request, tmp_path):
    """One instance of each ProviderIndex adapter, empty."""
    if request.param == "embedded":
        return SqliteProviderIndex(str(tmp_path / "index"))
    raise ValueError(request.param)
