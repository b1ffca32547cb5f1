"""The kind mapping table over the API: read by anyone, replaced by a directory admin with
If-Match, and used by the next HSDS import."""
import json
from pathlib import Path

import pytest

from tests.support.apps import service_app
from tests.support.auth import bearer

FOREIGN = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hsds" / "foreign_services.json")
                     .read_text(encoding="utf-8"))
CLUB_TERM = {"taxonomy": "Local categories", "code": "PN-8100.0200-180", "kind": "counselling",
             "name": "Domestic Violence Support Groups"}


@pytest.fixture
def api(tmp_path, database_url):
    app = service_app("directory", tmp_path, database_url)
    return app.test_client(), bearer(tmp_path, "directory_admin"), tmp_path


def test_a_new_installation_starts_with_the_verified_starter_mapping(api):
    client, _, _ = api
    response = client.get("/v1/kind-mappings")
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    table = {(m["taxonomy"], m["code"]): m["kind"] for m in response.get_json()["mappings"]}
    assert table[("https://211taxonomy.org", "BH-1800.1500-100")] == "shelter"
    assert table[("https://211taxonomy.org", "RP-1500.1400-200")] == "hotline"
    assert set(table.values()) <= {k["code"] for k in client.get("/v1/kinds").get_json()}


def test_an_admin_replaces_the_table_and_the_next_import_uses_it(api):
    client, admin, _ = api
    table = client.get("/v1/kind-mappings").get_json()["mappings"]
    response = client.put("/v1/kind-mappings", json={"mappings": table + [CLUB_TERM]},
                          headers={**admin, "If-Match": '"1"'})
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"' and len(response.get_json()["mappings"]) == len(table) + 1
    report = client.post("/v1/import/hsds", json=FOREIGN, headers=admin).get_json()
    assert report["errors"] == []
    club = next(s for s in FOREIGN if "Câu lạc bộ" in s["name"])
    assert {k["id"]: k["kind_source"] for k in report["kinds"]}[club["id"]] == \
        "mapping Local categories:PN-8100.0200-180"


def test_removing_one_mapping_leaves_its_services_without_a_kind(api):
    client, admin, _ = api
    response = client.delete("/v1/kind-mappings?taxonomy=211taxonomy.org&code=bh-1800.1500-100",
                             headers={**admin, "If-Match": '"1"'})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert "BH-1800.1500-100" not in [m["code"] for m in response.get_json()["mappings"]]
    report = client.post("/v1/import/hsds", json=FOREIGN, headers=admin).get_json()
    shelter = next(s for s in FOREIGN if "Nhà an toàn" in s["name"])
    assert (0, shelter["id"], "attributes") in [(e["record"], e["id"], e["field"]) for e in report["errors"]]
    again = client.delete("/v1/kind-mappings?taxonomy=211taxonomy.org&code=BH-1800.1500-100",
                          headers={**admin, "If-Match": '"2"'})
    assert again.status_code == 404


@pytest.mark.parametrize("rows, field", [
    ([{**CLUB_TERM, "kind": "fortune_telling"}], "mappings.0.kind"),
    ([CLUB_TERM, {**CLUB_TERM, "taxonomy": "local CATEGORIES", "kind": "hotline"}], "mappings.1.code"),
    ([{**CLUB_TERM, "taxonomy": "   "}], "mappings.0.taxonomy"),
    ([{"taxonomy": "Local categories", "code": "X"}], "mappings.0.kind"),
])
def test_a_bad_table_is_refused_naming_the_row_and_field(api, rows, field):
    client, admin, _ = api
    response = client.put("/v1/kind-mappings", json={"mappings": rows}, headers={**admin, "If-Match": '"1"'})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [(e["location"], e["field"]) for e in response.get_json()["errors"]] == [("json", field)]
    assert client.get("/v1/kind-mappings").headers["ETag"] == '"1"'  # nothing changed


def test_changes_need_the_permission_and_the_current_etag(api):
    client, admin, data_dir = api
    body = {"mappings": [CLUB_TERM]}
    assert client.put("/v1/kind-mappings", json=body, headers={"If-Match": '"1"'}).status_code == 401
    assert client.put("/v1/kind-mappings", json=body,
                      headers={**bearer(data_dir, "caseworker"), "If-Match": '"1"'}).status_code == 403
    assert client.put("/v1/kind-mappings", json=body, headers=admin).status_code == 428
    assert client.put("/v1/kind-mappings", json=body, headers={**admin, "If-Match": '"1"'}).status_code == 200
    stale = client.put("/v1/kind-mappings", json={"mappings": []}, headers={**admin, "If-Match": '"1"'})
    assert stale.status_code == 412  # a second admin who read version 1 does not overwrite the first
    assert client.get("/v1/kind-mappings").get_json()["mappings"][0]["code"] == "PN-8100.0200-180"
