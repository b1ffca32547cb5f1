"""The organizations API over HTTP (Flask test client, real SQLite/PostgreSQL database)."""
import pytest

from tests.support.apps import service_app


@pytest.fixture
def client(tmp_path, database_url):
    return service_app("directory", tmp_path, database_url).test_client()


def _create(client, **fields):
    response = client.post("/v1/organizations", json={"name": "Trung tâm CTXH Lạng Sơn", **fields})
    assert response.status_code == 201, response.get_json()
    return response


def test_create_then_read_with_etag_and_location(client):
    created = _create(client, email="ctxh@example.org", website="https://example.org")
    body = created.get_json()
    assert created.headers["Location"] == f"/v1/organizations/{body['id']}"
    read = client.get(created.headers["Location"])
    assert read.status_code == 200
    assert read.get_json() == body
    assert read.headers["ETag"] == created.headers["ETag"] == '"1"'


def test_two_admins_never_silently_overwrite_each_other(client):
    location = _create(client).headers["Location"]
    etag = client.get(location).headers["ETag"]
    first = client.put(location, json={"name": "Admin A's name"}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = client.put(location, json={"name": "Admin B's name"}, headers={"If-Match": etag})
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json"
    assert second.get_json()["errors"][0]["field"] == "If-Match"
    assert client.get(location).get_json()["name"] == "Admin A's name"


def test_a_change_without_if_match_is_refused(client):
    location = _create(client).headers["Location"]
    response = client.put(location, json={"name": "Blind write"})
    assert response.status_code == 428
    assert response.get_json()["errors"][0]["field"] == "If-Match"
    assert client.delete(location).status_code == 428


def test_delete_with_the_current_etag(client):
    location = _create(client).headers["Location"]
    assert client.delete(location, headers={"If-Match": '"7"'}).status_code == 412
    assert client.delete(location, headers={"If-Match": '"1"'}).status_code == 204
    assert client.get(location).status_code == 404


def test_validation_names_every_bad_field(client):
    response = client.post("/v1/organizations", json={"name": "", "email": "not-an-email",
                                                      "website": "javascript:alert(1)", "colour": "red"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"name", "email", "website", "colour"}


@pytest.mark.parametrize("query, field", [("per_page=1000", "per_page"), ("page=0", "page"), ("page=x", "page")])
def test_bad_paging_is_422_naming_the_parameter(client, query, field):
    response = client.get(f"/v1/organizations?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0] == {"location": "query", "field": field,
                                                "message": response.get_json()["errors"][0]["message"]}


def test_unknown_and_malformed_ids_are_404_problems(client):
    assert client.get("/v1/organizations/6f1c0f8e-2a71-4d55-9a5e-111111111111").status_code == 404
    response = client.get("/v1/organizations/not-a-uuid")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_list_pages(client):
    for name in ("C", "A", "B"):
        _create(client, name=name)
    page = client.get("/v1/organizations?per_page=2&page=2").get_json()
    assert page["total"] == 3 and [o["name"] for o in page["items"]] == ["C"]
