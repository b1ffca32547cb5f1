"""The directory's search on each backend (SEARCH_BACKEND), through the API, and what only
the Elasticsearch adapter has to get right: the alias, the bulk load, readiness."""
import hashlib
from dataclasses import replace
from datetime import date, timedelta

import pytest

from haven.platform.config import ConfigError
from services.directory.adapters.elastic_index import BulkIndexingFailed, ElasticProviderIndex, elastic_client
from services.directory.domain.model import Area, Capacity
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import SearchQuery
from tests.contract.test_provider_index import LISTINGS
from tests.support.apps import service_app
from tests.support.auth import bearer
from tests.support.network import free_port

AREAS = [Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20")]


def _alias(tmp_path) -> str:
    return "haven-it-" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:12]


@pytest.fixture
def elastic(request, tmp_path, elasticsearch_standin):
    """An adapter on the stand-in under an alias of this test's own, dropped afterwards."""
    alias = _alias(tmp_path)
    client = elastic_client(elasticsearch_standin.url)
    yield ElasticProviderIndex(client, alias=alias, replicas=0)
    for name in list(client.indices.get_alias(index=f"{alias}-*", allow_no_indices=True).body):
        client.indices.delete(index=name, ignore_unavailable=True)
    client.indices.delete(index=f"{alias}.locks", ignore_unavailable=True)


def _environ(backend, request, tmp_path) -> dict:
    if backend == "embedded":
        return {}
    standin = request.getfixturevalue("elasticsearch_standin")
    request.getfixturevalue("elastic")  # drops the test's indices afterwards
    return {"SEARCH_BACKEND": "elasticsearch", "ELASTICSEARCH_URL": standin.url,
            "ELASTICSEARCH_INDEX": _alias(tmp_path), "ELASTICSEARCH_REPLICAS": "0"}


@pytest.fixture(params=["embedded", "elasticsearch"])
def app(request, tmp_path):
    app = service_app("directory", tmp_path, **_environ(request.param, request, tmp_path))
    directory = app.extensions["haven.directory"]["directory"]
    directory.reference.add_areas(AREAS)
    directory.indexing.rebuild()  # what `haven serve` does before its workers start
    return app


def _create_shelter(client, tmp_path, name="Nhà tạm lánh Hoa Sen"):
    admin = bearer(tmp_path, "directory_admin")
    organization = client.post("/v1/organizations", json={"name": "Trung tâm CTXH tỉnh Lạng Sơn"}, headers=admin)
    location = client.post("/v1/locations", headers=admin, json={
        "organization_id": organization.get_json()["id"], "name": "Điểm tạm lánh", "latitude": 21.8737,
        "longitude": 106.7735, "province_code": "20", "district_code": "183", "confidential": True,
        "address": {"address_1": "Số 7 ngõ Bí Mật"}})
    service = client.post("/v1/services", headers=admin, json={
        "organization_id": organization.get_json()["id"], "name": name, "kind": "shelter",
        "location_ids": [location.get_json()["id"]], "always_open": True, "service_areas": ["20"]})
    assert service.status_code == 201, service.get_json()
    return service.get_json()


# --- through the API, on both backends -----------------------------------------------

def test_a_write_through_the_api_is_searchable_when_the_api_answers(app, tmp_path):
    client = app.test_client()
    created = _create_shelter(client, tmp_path)
    found = client.get("/v1/search?q=hoa sen").get_json()
    assert [item["service"]["id"] for item in found["items"]] == [created["id"]]
    place = found["items"][0]["locations"][0]
    assert place["latitude"] is None and place["address"]["address_1"] == ""  # confidential, redacted
    client.put(f"/v1/services/{created['id']}/capacity", json={"available": 2, "maximum": 5},
               headers=bearer(tmp_path, "directory_admin"))
    assert client.get("/v1/search?has_capacity=true").get_json()["total"] == 1


def test_suggest_completes_names_as_typed(app, tmp_path):
    client = app.test_client()
    _create_shelter(client, tmp_path)
    answer = client.get("/v1/suggest?q=nha tam la")
    assert answer.status_code == 200
    assert answer.get_json() == {"suggestions": [
        {"text": "Nhà tạm lánh Hoa Sen", "highlight": "<mark>Nhà</mark> <mark>tạm</mark> <mark>lánh</mark> Hoa Sen"}]}
    assert client.get("/v1/suggest?q=trung tam ctxh&limit=1").get_json()["suggestions"][0]["text"] == \
        "Trung tâm CTXH tỉnh Lạng Sơn"
    assert client.get("/v1/suggest?q=ngo bi mat").get_json() == {"suggestions": []}  # a hidden street


@pytest.mark.parametrize("query, field", [("", "q"), ("q=abc&limit=0", "limit"), ("q=" + "a" * 201, "q")])
def test_suggest_refuses_bad_input_with_a_problem(app, query, field):
    answer = app.test_client().get(f"/v1/suggest?{query}")
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert field in {e["field"] for e in answer.get_json()["errors"]}


def test_a_name_imported_decomposed_is_found_and_shown_composed(app, tmp_path):
    """An HSDS import whose names were typed decomposed (NFD), as some phones send them: the
    importer builds records through the domain, which keeps them composed on both backends."""
    import json
    import unicodedata
    from pathlib import Path

    nfd = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731
    sample = Path(__file__).resolve().parents[1] / "fixtures" / "hsds" / "sample_services.json"
    record = json.loads(sample.read_text(encoding="utf-8"))[0]
    record.pop("service_at_locations", None)  # no places: no areas to load for them
    record["service_areas"] = [{"name": "Lạng Sơn", "extent": "20", "extent_type": "text"}]
    record["name"] = nfd("Nhà tạm lánh Sông Bằng")
    record["organization"]["name"] = nfd("Hội Phụ nữ huyện Bảo Lạc")
    client = app.test_client()
    report = client.post("/v1/import/hsds", json=[record], headers=bearer(tmp_path, "directory_admin"))
    assert report.status_code == 200 and report.get_json()["imported"]["services"] == 1, report.get_json()
    for typed in ("song bang", "Sông Bằng", nfd("sông bằng")):
        found = client.get("/v1/search", query_string={"q": typed}).get_json()
        assert [item["service"]["name"] for item in found["items"]] == ["Nhà tạm lánh Sông Bằng"], typed
    suggested = client.get("/v1/suggest", query_string={"q": nfd("Sông B")}).get_json()["suggestions"]
    assert suggested == [{"text": "Nhà tạm lánh Sông Bằng",
                          "highlight": "Nhà tạm lánh <mark>Sông</mark> <mark>Bằng</mark>"}]
    assert client.get("/v1/suggest", query_string={"q": "bao l"}).get_json()["suggestions"][0]["text"] == \
        "Hội Phụ nữ huyện Bảo Lạc"


def test_readiness_names_the_search_index(app):
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["checks"]["search index"] == "ok"


# --- configuration and readiness on Elasticsearch ------------------------------------

def test_elasticsearch_needs_a_url(tmp_path):
    with pytest.raises(ConfigError, match="ELASTICSEARCH_URL is required"):
        service_app("directory", tmp_path, SEARCH_BACKEND="elasticsearch")


def test_readiness_fails_clearly_when_the_cluster_is_unreachable(tmp_path):
    app = service_app("directory", tmp_path, SEARCH_BACKEND="elasticsearch",
                      ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}")
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["search index"] == "failed: Elasticsearch is unreachable (ConnectionError)"


def test_readiness_fails_clearly_while_the_alias_is_missing_and_builds_it(tmp_path, request, elastic):
    import time

    app = service_app("directory", tmp_path, **_environ("elasticsearch", request, tmp_path))
    first = app.test_client().get("/readyz").get_json()
    assert first["checks"]["search index"] == (f"failed: alias {elastic.alias} is missing: "
                                               "being built from the database")
    deadline = time.monotonic() + 10
    while app.test_client().get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, app.test_client().get("/readyz").get_json()
        time.sleep(0.05)
    assert not elastic.needs_rebuild()
    elastic.client.indices.delete_alias(index="_all", name=elastic.alias)
    with pytest.raises(Exception, match=f"alias {elastic.alias} is missing on Elasticsearch: run `haven reindex`"):
        elastic.check()


# --- the Elasticsearch adapter's own duties -------------------------------------------

def test_a_rebuild_swaps_the_alias_and_keeps_only_the_previous_generation(elastic):
    for _ in range(3):
        assert elastic.rebuild(LISTINGS) == len(LISTINGS)
    indices = sorted(elastic.client.indices.get_alias(index=f"{elastic.alias}-*").body)
    assert len(indices) == 2  # the one in use and the one it replaced
    assert list(elastic.client.indices.get_alias(name=elastic.alias).body) == [indices[-1]]
    assert not elastic.needs_rebuild()


def test_listings_refused_by_the_cluster_are_reported_and_search_keeps_the_old_index(elastic):
    elastic.rebuild(LISTINGS)
    # (the API never lets such an age through; the adapter must report whatever the cluster refuses)
    broken = replace(LISTINGS[0], service=replace(LISTINGS[0].service, minimum_age=10**12))
    with pytest.raises(BulkIndexingFailed) as failed:
        elastic.rebuild([broken] + LISTINGS[1:])
    assert str(failed.value).startswith(f"1 of {len(LISTINGS)} listings could not be indexed; first: service "
                                        f"{broken.service.id}:")
    assert len(failed.value.errors) == 1
    result = elastic.search(SearchQuery(per_page=100), Viewer(), date(2026, 11, 25))
    assert result.total == len(LISTINGS) - 1  # the old index, complete (one listing is inactive)
    assert len(elastic.client.indices.get_alias(index=f"{elastic.alias}-*").body) == 1  # the failed one is gone
    with pytest.raises(BulkIndexingFailed):
        elastic.upsert([broken])  # a write through the API is refused just as loudly


def test_ranking_favours_free_places_and_recently_verified_records(elastic):
    """Elasticsearch only: two services that match a query equally well are ordered by what
    a caseworker needs most (the embedded engine orders them by name)."""
    today = date(2026, 11, 25)
    base = LISTINGS[1]  # "Tư vấn, tham vấn cho phụ nữ"

    def variant(n, name, **changes):
        return replace(base, service=replace(base.service, id=f"40000000-0000-4000-8000-{n:012d}", name=name,
                                             **changes))

    elastic.upsert([variant(1, "Tư vấn A", assured_date=today - timedelta(days=900)),
                    variant(2, "Tư vấn B", assured_date=today - timedelta(days=3)),
                    variant(3, "Tư vấn C", assured_date=today - timedelta(days=900), capacity=Capacity(4, 5))])
    found = elastic.search(SearchQuery(text="tu van"), Viewer(), today)
    names = [h.listing.service.name for h in found.hits]
    assert names.index("Tư vấn A") > names.index("Tư vấn B") and names.index("Tư vấn A") > names.index("Tư vấn C")


def test_only_one_process_builds_at_a_time(elastic, tmp_path):
    other = ElasticProviderIndex(elastic.client, alias=elastic.alias)
    with elastic.building() as mine:
        with other.building() as theirs:
            assert (mine, theirs) == (True, False)
    with other.building() as theirs:
        assert theirs


def test_an_embedded_index_of_an_older_layout_is_rebuilt_not_read(tmp_path):
    """An upgrade meets the index file of the previous version (no suggestion keys): a worker
    starting before the rebuild does not read it, and the rebuild makes it answer."""
    import sqlite3

    from services.directory.adapters.sqlite_index import SqliteProviderIndex

    index = SqliteProviderIndex(str(tmp_path / "search"))
    index.rebuild(LISTINGS)
    path = index._current_path()
    with sqlite3.connect(path) as old:  # what version 5 had: no suggestion keys
        old.execute("ALTER TABLE docs DROP COLUMN org_key")
        old.execute("PRAGMA user_version = 5")
    starting = SqliteProviderIndex(str(tmp_path / "search"))
    starting.warm()  # a worker starting meanwhile: no error
    assert starting.rebuild_reason() == "the search index has an older layout"
    starting.rebuild(LISTINGS)
    assert [s.text for s in starting.suggest("tro giup", Viewer(), 1)] == ["Trợ giúp pháp lý miễn phí"]
