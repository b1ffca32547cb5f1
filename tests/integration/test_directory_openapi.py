"""The directory's answers are what its OpenAPI document says: HSDS pages and services,
registry records and search hits validate against the document's own schemas; the kinds it
lists are the installation's kinds as they are now; every time carries its offset."""
import re

import pytest
import sqlalchemy as sa
from jsonschema import Draft4Validator, FormatChecker

from services.directory.adapters.orm import kinds
from services.directory.domain.model import Area
from tests.support.apps import service_app
from tests.support.auth import bearer

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def haven(tmp_path, database_url):
    app = service_app("directory", tmp_path, database_url)
    directory = app.extensions["haven.directory"]["directory"]
    directory.reference.add_areas([Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20"),
                         Area("06184", "Đồng Đăng", "commune", "183")])
    return app, app.test_client(), bearer(tmp_path, "directory_admin")


def _as_json_schema(node, components):
    """An OpenAPI 3.0 schema as JSON Schema (draft 4): references resolved, nullable as null."""
    if isinstance(node, list):
        return [_as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    schema = {key: _as_json_schema(value, components) for key, value in node.items()
              if key not in ("nullable", "readOnly", "writeOnly", "example", "default") and not key.startswith("x-")}
    if key_properties := node.get("properties"):
        schema["properties"] = {name: _as_json_schema(value, components) for name, value in key_properties.items()}
    if node.get("nullable"):
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _answer_schema(document, path, method="get", status="200"):
    content = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    return _as_json_schema(content["schema"], document["components"]["schemas"])


def _valid(document, path, body, method="get", status="200"):
    validator = Draft4Validator(_answer_schema(document, path, method, status), format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _times(value, found):
    if isinstance(value, dict):
        for key, item in value.items():
            if (key.endswith("_at") and key not in ("opens_at", "closes_at")) or key == "last_modified":
                found.append(item)
            _times(item, found)
    elif isinstance(value, list):
        for item in value:
            _times(item, found)
    return found


@pytest.fixture
def shelter(haven):
    _, client, admin = haven
    organization = client.post("/v1/organizations", json={"name": "Trung tâm CTXH", "phone": "0205 3870 111",
                                                          "website": "https://ctxh.example.vn/lien-he"},
                               headers=admin).get_json()
    location = client.post("/v1/locations", json={
        "organization_id": organization["id"], "name": "Nhà tạm lánh Hoa Sen", "latitude": 21.87, "longitude": 106.77,
        "province_code": "20", "district_code": "183", "commune_code": "06184", "confidential": True,
        "address": {"address_1": "Số 7", "postal_code": "240000"}}, headers=admin).get_json()
    service = client.post("/v1/services", json={
        "organization_id": organization["id"], "name": "Nhà tạm lánh", "kind": "shelter", "always_open": True,
        "location_ids": [location["id"]], "languages": ["vi", "tyz"], "service_areas": ["20"],
        "phones": [{"number": "111", "description": "24/7"}], "minimum_age": 16, "free_of_charge": False,
        "hours": [{"byday": ["MO", "TU"], "opens_at": "07:30", "closes_at": "17:00"}], "closed_on": ["2026-09-02"],
        "assured_by": "kiem.tra@example.vn", "assured_date": "2026-10-01"}, headers=admin)
    assert service.status_code == 201, service.get_json()
    service = service.get_json()
    capacity = client.put(f"/v1/services/{service['id']}/capacity", json={"available": 2, "maximum": 6}, headers=admin)
    assert capacity.status_code == 200, capacity.get_json()
    return organization, location, service


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_hsds_answers_validate_against_the_documents_schemas(haven, shelter, who):
    _, client, admin = haven
    headers = admin if who == "admin" else {}
    document = client.get("/openapi.json").get_json()
    service_id = shelter[2]["id"]
    page = client.get("/hsds/services", headers=headers).get_json()
    assert page["contents"], page
    _valid(document, "/hsds/services", page)
    _valid(document, "/hsds/services/{service_id}", client.get(f"/hsds/services/{service_id}", headers=headers).get_json())
    pairs = client.get("/hsds/service_at_locations", headers=headers).get_json()
    assert pairs["contents"], pairs
    _valid(document, "/hsds/service_at_locations", pairs)
    exported = client.get("/v1/export/hsds", headers=headers)
    _valid(document, "/v1/export/hsds", exported.get_json())
    hsds_service = document["components"]["schemas"]["HsdsService"]
    assert {"id", "name", "organization_id", "status"} <= set(hsds_service["required"])


def test_registry_and_search_answers_validate_and_every_time_has_its_offset(haven, shelter):
    _, client, admin = haven
    document = client.get("/openapi.json").get_json()
    organization, location, service = shelter
    answers = [
        ("/v1/organizations/{organization_id}", client.get(f"/v1/organizations/{organization['id']}").get_json()),
        ("/v1/locations/{location_id}", client.get(f"/v1/locations/{location['id']}").get_json()),
        ("/v1/services/{service_id}", client.get(f"/v1/services/{service['id']}").get_json()),
        ("/v1/search", client.get("/v1/search?q=tam+lanh").get_json()),
        ("/v1/search", client.get("/v1/search?q=tam+lanh", headers=admin).get_json()),
        ("/v1/kinds", client.get("/v1/kinds").get_json()),
        ("/v1/kind-mappings", client.get("/v1/kind-mappings").get_json()),
    ]
    for path, body in answers:
        _valid(document, path, body)
    times = _times([body for _, body in answers], [])
    times += _times(client.get("/hsds/services").get_json(), [])
    assert len(times) > 10 and [t for t in times if t is not None and not RFC3339.match(t)] == []


def test_the_kinds_in_the_document_are_the_installations_kinds_now(haven):
    app, client, admin = haven
    def kind_enums():
        document = client.get("/openapi.json").get_json()
        schemas = document["components"]["schemas"]
        default_kind = next(p for p in document["paths"]["/v1/import/hsds"]["post"]["parameters"]
                            if p["name"] == "default_kind")
        return [schemas["Service"]["properties"]["kind"]["enum"], schemas["KindMapping"]["properties"]["kind"]["enum"],
                schemas["SearchQuery"]["properties"]["kind"]["items"]["enum"] if "SearchQuery" in schemas else
                next(p for p in document["paths"]["/v1/search"]["get"]["parameters"] if p["name"] == "kind")
                ["schema"]["items"]["enum"], default_kind["schema"]["enum"]]

    listed = sorted(kind["code"] for kind in client.get("/v1/kinds").get_json())
    assert "shelter" in listed and kind_enums() == [listed] * 4
    engine = app.extensions["haven.directory"]["directory"].uow.args[0]
    with engine.begin() as connection:  # an installation adds a kind of its own, while the service runs
        connection.execute(sa.insert(kinds).values(code="elder_care", name_vi="Chăm sóc người cao tuổi",
                                                   name_en="Elder care", confidential_by_default=False))
    assert kind_enums() == [sorted([*listed, "elder_care"])] * 4
