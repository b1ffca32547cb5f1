"""HSDS 3.0 and CSV interchange over the API: import, export, round trip, the HSDS API."""
import json
from pathlib import Path

import pytest

from services.directory.domain.model import Area
from tests.support.apps import service_app
from tests.support.auth import bearer
from tests.support.hsds_schema import validator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hsds"
SAMPLE = json.loads((FIXTURES / "sample_services.json").read_text(encoding="utf-8"))


def _areas_of(document) -> list[Area]:
    """The areas a sample names, as an administrator would load them from the official list."""
    found = {}
    for service in document:
        for sal in service.get("service_at_locations", []):
            for attribute in sal["location"].get("attributes", []):
                term = attribute.get("taxonomy_term", {})
                if term.get("taxonomy") == "haven-area":
                    found[term["code"]] = (attribute["value"], term["name"])
        for area in service.get("service_areas", []):
            found.setdefault(area["extent"], (None, area["name"]))
    levels = {2: "province", 3: "district", 5: "commune"}
    areas = []
    for code, (level, name) in found.items():
        level = level or levels[len(code)]
        areas.append((code, name, level))
    by_level = sorted(areas, key=lambda a: ["province", "district", "commune"].index(a[2]))
    parents: dict[str, str] = {}
    for service in document:  # parent links from the locations' own hierarchy
        for sal in service.get("service_at_locations", []):
            codes = {a["value"]: a["taxonomy_term"]["code"] for a in sal["location"].get("attributes", [])
                     if a.get("taxonomy_term", {}).get("taxonomy") == "haven-area"}
            if "district" in codes and "province" in codes:
                parents[codes["district"]] = codes["province"]
            if "commune" in codes and "district" in codes:
                parents[codes["commune"]] = codes["district"]
    return [Area(code, name, level, parents.get(code)) for code, name, level in by_level]


@pytest.fixture
def api(tmp_path, database_url):
    app = service_app("directory", tmp_path, database_url)
    client = app.test_client()
    admin = bearer(tmp_path, "directory_admin")
    response = client.post("/v1/areas", json=[a.__dict__ for a in _areas_of(SAMPLE)], headers=admin)
    assert response.status_code == 200, response.get_json()
    return client, admin, tmp_path


def test_import_then_export_round_trips_the_official_sample(api):
    client, admin, _ = api
    report = client.post("/v1/import/hsds", json=SAMPLE, headers=admin)
    assert report.status_code == 200, report.get_json()
    assert report.get_json()["errors"] == []
    assert report.get_json()["imported"]["services"] == len(SAMPLE)
    exported = client.get("/v1/export/hsds", headers=bearer(api[2], "supervisor")).get_json()
    by_id = {service["id"]: service for service in exported}
    for original in SAMPLE:
        assert by_id[original["id"]] == original
    service_schema = validator("service")
    for service in exported:
        service_schema.validate(service)


def test_importing_again_updates_instead_of_duplicating(api):
    client, admin, _ = api
    client.post("/v1/import/hsds", json=SAMPLE, headers=admin)
    changed = json.loads(json.dumps(SAMPLE))
    changed[0]["name"] = "Tên mới của dịch vụ"
    assert client.post("/v1/import/hsds", json=changed, headers=admin).status_code == 200
    services = client.get("/v1/services?per_page=100").get_json()
    assert services["total"] == len(SAMPLE)
    assert client.get(f"/v1/services/{SAMPLE[0]['id']}").get_json()["name"] == "Tên mới của dịch vụ"
    assert client.get("/v1/search?q=ten%20moi").get_json()["total"] == 1  # re-indexed


def test_a_malformed_record_is_reported_and_the_good_ones_kept(api):
    client, admin, _ = api
    broken = json.loads(json.dumps(SAMPLE))
    del broken[1]["name"]
    broken[2]["service_at_locations"][0]["location"]["latitude"] = 123
    report = client.post("/v1/import/hsds", json=broken, headers=admin).get_json()
    fields = {(e["record"], e["field"]) for e in report["errors"]}
    assert (1, "name") in fields
    assert any(record == 2 and "latitude" in field for record, field in fields)
    assert report["imported"]["services"] == len(SAMPLE) - 2
    assert client.get(f"/v1/services/{SAMPLE[0]['id']}").status_code == 200
    assert client.get(f"/v1/services/{SAMPLE[1]['id']}").status_code == 404


def test_an_import_with_nothing_good_is_422(api):
    client, admin, _ = api
    response = client.post("/v1/import/hsds", json=[{"description": "no name"}], headers=admin)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"]


def test_import_needs_permission(api):
    client, _admin, data_dir = api
    assert client.post("/v1/import/hsds", json=SAMPLE).status_code == 401
    assert client.post("/v1/import/hsds", json=SAMPLE, headers=bearer(data_dir, "caseworker")).status_code == 403


def test_csv_import_reports_rows_and_columns(api):
    client, admin, _ = api
    body = (FIXTURES / "provincial_sample.csv").read_bytes()
    report = client.post("/v1/import/csv", data=body, headers={**admin, "Content-Type": "text/csv"})
    assert report.status_code == 200, report.get_json()
    errors = report.get_json()["errors"]
    assert {(e["record"], e["field"]) for e in errors if isinstance(e["record"], int)} >= {(5, "latitude"),
                                                                                           (6, "hours")}
    as_json = client.post("/v1/import/csv", data=body, headers={**admin, "Content-Type": "application/json"})
    assert as_json.status_code in (400, 415)
    latin1 = client.post("/v1/import/csv", data="Tên,xã\n".encode("utf-16"),
                         headers={**admin, "Content-Type": "text/csv"})
    assert latin1.status_code == 400 and latin1.mimetype == "application/problem+json"


def test_hsds_api_pages_and_filters(api):
    client, admin, _ = api
    client.post("/v1/import/hsds", json=SAMPLE, headers=admin)
    page = client.get("/hsds/services?per_page=2").get_json()
    assert page["total_items"] == len(SAMPLE) and page["size"] == 2 and page["first_page"] is True
    assert page["total_pages"] == (len(SAMPLE) + 1) // 2
    organization_id = SAMPLE[0]["organization"]["id"]
    by_org = client.get(f"/hsds/services?organization_id={organization_id}").get_json()
    assert by_org["total_items"] >= 1
    assert all(s["organization"]["id"] == organization_id for s in by_org["contents"])
    shelters = client.get("/hsds/services?taxonomy_term_id=shelter").get_json()
    assert shelters["total_items"] >= 1
    assert client.get("/hsds/services?taxonomy_term_id=nonsense").status_code == 422
    one = client.get(f"/hsds/services/{SAMPLE[0]['id']}").get_json()
    assert one["id"] == SAMPLE[0]["id"]
    text = client.get("/hsds/services?search=" + SAMPLE[0]["name"].split()[0]).get_json()
    assert SAMPLE[0]["id"] in [s["id"] for s in text["contents"]]
    future = client.get("/hsds/services?modified_after=2999-01-01T00:00:00Z").get_json()
    assert future["total_items"] == 0 and future["empty"] is True


def test_hsds_service_at_locations_with_postcode_and_proximity(api):
    client, admin, _ = api
    sample = json.loads(json.dumps(SAMPLE))
    def confidential(location):
        return any(a["taxonomy_term"]["taxonomy"] == "haven-confidential" for a in location.get("attributes", []))

    public = next(sal["location"] for service in sample for sal in service.get("service_at_locations", [])
                  if sal["location"].get("addresses") and "latitude" in sal["location"]
                  and not confidential(sal["location"]))
    shelter = next(sal["location"] for service in sample for sal in service.get("service_at_locations", [])
                   if confidential(sal["location"]))
    for service in sample:  # every copy of that location (a location can serve several services)
        for sal in service.get("service_at_locations", []):
            if sal["location"]["id"] == public["id"]:
                sal["location"]["addresses"][0]["postal_code"] = "241000"
    assert client.post("/v1/import/hsds", json=sample, headers=admin).get_json()["errors"] == []
    everything = client.get("/hsds/service_at_locations?per_page=100").get_json()
    assert everything["total_items"] >= 2
    assert all({"service_id", "location_id", "location", "service"} <= set(c) for c in everything["contents"])
    by_postcode = client.get("/hsds/service_at_locations?postcode=241000").get_json()
    assert {c["location_id"] for c in by_postcode["contents"]} == {public["id"]}
    near = client.get("/hsds/service_at_locations?postcode=241000&proximity=1000").get_json()
    assert public["id"] in [c["location_id"] for c in near["contents"]]
    assert client.get("/hsds/service_at_locations?postcode=000000&proximity=1000").get_json()["total_items"] == 0
    # a confidential location never matches a postcode for a caller who may not know where it is
    secret_postcode = shelter["addresses"][0]["postal_code"]
    assert client.get(f"/hsds/service_at_locations?postcode={secret_postcode}").get_json()["total_items"] == 0
    supervisor = bearer(api[2], "supervisor")
    assert client.get(f"/hsds/service_at_locations?postcode={secret_postcode}",
                      headers=supervisor).get_json()["total_items"] == 1
    assert client.get("/hsds/service_at_locations?proximity=1000").status_code == 422


# --- HSDS 3.0 from other Open Referral systems --------------------------------------------

FOREIGN = json.loads((FIXTURES / "foreign_services.json").read_text(encoding="utf-8"))


def _named(part: str) -> dict:
    return next(s for s in FOREIGN if part in s["name"])


def test_an_official_hsds_document_without_haven_attributes_imports_with_mapped_kinds(api):
    client, admin, data_dir = api
    report = client.post("/v1/import/hsds", json=FOREIGN, headers=admin)
    assert report.status_code == 200, report.get_json()
    body = report.get_json()
    assert body["imported"]["services"] == 3
    sources = {k["id"]: (k["kind"], k["kind_source"]) for k in body["kinds"]}
    assert sources[_named("Nhà an toàn")["id"]] == ("shelter", "mapping https://211taxonomy.org:BH-1800.1500-100")
    assert sources[_named("Đường dây nóng")["id"]] == ("hotline",
                                                       "mapping https://211taxonomy.org:RP-1500.1400-200")
    assert sources[_named("Trợ giúp pháp lý")["id"]] == ("legal_aid",
                                                         "mapping https://211taxonomy.org:FT-3000.1750")
    # the club's only term is in no mapping and no default_kind was given: reported, not dropped
    club = _named("Câu lạc bộ")
    assert [(e["record"], e["id"], e["field"]) for e in body["errors"]] == [(3, club["id"], "attributes")]
    assert client.get(f"/v1/services/{club['id']}").status_code == 404
    assert client.get("/v1/search?kind=shelter&q=binh minh").get_json()["total"] == 1


def test_default_kind_gives_the_remaining_services_a_kind(api):
    client, admin, _ = api
    report = client.post("/v1/import/hsds?default_kind=counselling", json=FOREIGN, headers=admin).get_json()
    assert report["errors"] == [] and report["imported"]["services"] == 4
    club = _named("Câu lạc bộ")
    assert {k["id"]: k["kind_source"] for k in report["kinds"]}[club["id"]] == "default_kind"
    assert client.get(f"/v1/services/{club['id']}").get_json()["kind"] == "counselling"
    assert client.get(f"/v1/services/{_named('Nhà an toàn')['id']}").get_json()["kind"] == "shelter"


def test_an_unknown_default_kind_is_refused_naming_the_query_parameter(api):
    client, admin, _ = api
    response = client.post("/v1/import/hsds?default_kind=fortune_telling", json=FOREIGN, headers=admin)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [(e["location"], e["field"]) for e in response.get_json()["errors"]] == [("query", "default_kind")]
    assert client.get("/v1/services").get_json()["total"] == 0


def test_a_shelter_location_without_confidentiality_information_is_imported_confidential(api):
    client, admin, data_dir = api
    report = client.post("/v1/import/hsds", json=FOREIGN, headers=admin).get_json()
    shelter_home = _named("Nhà an toàn")["service_at_locations"][0]["location"]
    assert any(w["id"] == shelter_home["id"] and "confidential" in w["message"] for w in report["warnings"])
    seen_by_admin = client.get(f"/v1/locations/{shelter_home['id']}", headers=admin).get_json()
    assert seen_by_admin["confidential"] is True
    anonymous = client.get(f"/v1/locations/{shelter_home['id']}").get_json()
    assert "Bà Triệu" not in json.dumps(anonymous, ensure_ascii=False)
    exported = client.get("/v1/export/hsds").get_data(as_text=True)
    assert "Bà Triệu" not in exported and "21.8537" not in exported


def test_a_reimport_never_makes_a_confidential_location_public_unless_it_says_so(api):
    client, admin, _ = api
    client.post("/v1/import/hsds", json=SAMPLE, headers=admin)
    legal = next(s for s in SAMPLE if any(a["taxonomy_term"]["code"] == "legal_aid" for a in s["attributes"]))
    office = legal["service_at_locations"][0]["location"]
    current = client.get(f"/v1/locations/{office['id']}", headers=admin)
    assert current.get_json()["confidential"] is False
    hidden = {k: v for k, v in current.get_json().items() if k not in ("id", "version", "created_at", "updated_at")}
    hidden["confidential"] = True  # e.g. the centre received threats since the file was written
    assert client.put(f"/v1/locations/{office['id']}", json=hidden,
                      headers={**admin, "If-Match": current.headers["ETag"]}).status_code == 200

    report = client.post("/v1/import/hsds", json=SAMPLE, headers=admin).get_json()  # the file says nothing
    assert client.get(f"/v1/locations/{office['id']}", headers=admin).get_json()["confidential"] is True
    assert {"record": "location", "id": office["id"], "field": "confidential"}.items() <= next(
        w for w in report["warnings"] if w["id"] == office["id"]).items()
    assert "Hạc Thành" not in client.get(f"/v1/locations/{office['id']}").get_data(as_text=True)

    explicit = json.loads(json.dumps(SAMPLE))
    for service in explicit:  # every copy of the office says it is public
        for sal in service.get("service_at_locations", []):
            if sal["location"]["id"] == office["id"]:
                sal["location"]["attributes"].append({
                    "id": "9f1e4a52-3c1b-4d0e-8a57-0f6b2c3d4e5f", "taxonomy_term": {
                        "id": "7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d", "code": "confidential", "name": "Confidential",
                        "description": "Haven's confidentiality flag", "taxonomy": "haven-confidential"},
                    "value": "false"})
    assert client.post("/v1/import/hsds", json=explicit, headers=admin).get_json()["errors"] == []
    assert client.get(f"/v1/locations/{office['id']}", headers=admin).get_json()["confidential"] is False
