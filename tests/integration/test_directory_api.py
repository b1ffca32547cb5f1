"""The directory API over HTTP (Flask test client; real SQLite/PostgreSQL and search index)."""
import pytest

from services.directory.domain.model import Area
from tests.support.apps import service_app
from tests.support.auth import bearer

LANG_SON = [Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20"),
            Area("06184", "Đồng Đăng", "commune", "183"), Area("178", "Thành phố Lạng Sơn", "district", "20")]


class Api:
    def __init__(self, client, data_dir):
        self.client = client
        self.admin = bearer(data_dir, "directory_admin")
        self.data_dir = data_dir

    def post(self, path, body, headers=None):
        return self.client.post(path, json=body, headers=headers if headers is not None else self.admin)

    def put(self, path, body, etag, headers=None):
        return self.client.put(path, json=body, headers={**(headers if headers is not None else self.admin),
                                                         "If-Match": etag})

    def created(self, path, body):
        response = self.post(path, body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def api(tmp_path, database_url):
    app = service_app("directory", tmp_path, database_url)
    app.extensions["haven.directory"]["directory"].reference.add_areas(LANG_SON)
    return Api(app.test_client(), tmp_path)


@pytest.fixture
def shelter(api):
    organization = api.created("/v1/organizations", {"name": "Trung tâm CTXH tỉnh Lạng Sơn"})
    location = api.created("/v1/locations", {
        "organization_id": organization["id"], "name": "Nhà tạm lánh Hoa Sen", "latitude": 21.8737,
        "longitude": 106.7735, "province_code": "20", "district_code": "183", "commune_code": "06184",
        "confidential": True, "address": {"address_1": "Số 7 ngõ Bí Mật"}})
    service = api.created("/v1/services", {
        "organization_id": organization["id"], "name": "Nhà tạm lánh cho phụ nữ", "kind": "shelter",
        "location_ids": [location["id"]], "always_open": True, "languages": ["vi", "tyz"],
        "service_areas": ["20"]})
    return organization, location, service


# --- organizations -------------------------------------------------------------------

def test_create_then_read_with_etag_and_location(api):
    created = api.post("/v1/organizations", {"name": "Trung tâm CTXH Lạng Sơn", "email": "ctxh@example.org"})
    body = created.get_json()
    assert created.status_code == 201
    assert created.headers["Location"] == f"/v1/organizations/{body['id']}"
    read = api.client.get(created.headers["Location"])
    assert read.get_json() == body
    assert read.headers["ETag"] == created.headers["ETag"] == '"1"'


def test_two_admins_never_silently_overwrite_each_other(api):
    location = api.post("/v1/organizations", {"name": "A"}).headers["Location"]
    etag = api.client.get(location).headers["ETag"]
    first = api.put(location, {"name": "Admin A's name"}, etag)
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = api.put(location, {"name": "Admin B's name"}, etag)
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json"
    assert second.get_json()["errors"][0]["field"] == "If-Match"
    assert api.client.get(location).get_json()["name"] == "Admin A's name"


def test_a_change_without_if_match_is_refused(api):
    location = api.post("/v1/organizations", {"name": "A"}).headers["Location"]
    response = api.client.put(location, json={"name": "Blind write"}, headers=api.admin)
    assert response.status_code == 428
    assert response.get_json()["errors"][0]["field"] == "If-Match"


def test_delete_with_the_current_etag(api):
    location = api.post("/v1/organizations", {"name": "A"}).headers["Location"]
    assert api.client.delete(location, headers={**api.admin, "If-Match": '"7"'}).status_code == 412
    assert api.client.delete(location, headers={**api.admin, "If-Match": '"1"'}).status_code == 204
    assert api.client.get(location).status_code == 404


def test_validation_names_every_bad_field(api):
    response = api.post("/v1/organizations", {"name": "", "email": "not-an-email", "website": "javascript:x",
                                              "colour": "red"})
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"name", "email", "website", "colour"}


@pytest.mark.parametrize("query, field", [("per_page=1000", "per_page"), ("page=0", "page"), ("page=x", "page")])
def test_bad_paging_is_422_naming_the_parameter(api, query, field):
    response = api.client.get(f"/v1/organizations?{query}")
    assert response.status_code == 422
    assert [(e["location"], e["field"]) for e in response.get_json()["errors"]] == [("query", field)]


# --- permissions ---------------------------------------------------------------------

def test_writes_need_a_directory_admin(api):
    body = {"name": "Intruder"}
    assert api.post("/v1/organizations", body, headers={}).status_code == 401
    assert api.post("/v1/organizations", body, headers=bearer(api.data_dir, "caseworker")).status_code == 403
    forged = {"Authorization": "Bearer " + bearer(api.data_dir, "admin")["Authorization"].split()[1][:-4] + "AAAA"}
    response = api.post("/v1/organizations", body, headers=forged)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    expired = bearer(api.data_dir, "directory_admin", ttl_seconds=-3600)
    assert api.post("/v1/organizations", body, headers=expired).status_code == 401
    other_issuer = bearer(api.data_dir, "directory_admin", issuer="someone-else")
    assert api.post("/v1/organizations", body, headers=other_issuer).status_code == 401
    assert api.client.get("/v1/organizations").get_json()["total"] == 0


def test_shelter_staff_update_their_own_capacity_only(api, shelter):
    organization, _location, service = shelter
    path = f"/v1/services/{service['id']}/capacity"
    own = bearer(api.data_dir, "agency_staff", organization_id=organization["id"])
    other = bearer(api.data_dir, "agency_staff", organization_id="00000000-0000-4000-8000-000000000bad")
    assert api.client.put(path, json={"available": 2, "maximum": 10}, headers=other).status_code == 403
    response = api.client.put(path, json={"available": 2, "maximum": 10}, headers=own)
    assert response.status_code == 200 and response.get_json()["available"] == 2
    bad = api.client.put(path, json={"available": 11, "maximum": 10}, headers=own)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "available"
    negative = api.client.put(path, json={"available": -1, "maximum": 10}, headers=own)
    assert negative.status_code == 422
    found = api.client.get("/v1/search?has_capacity=true").get_json()
    assert [item["service"]["id"] for item in found["items"]] == [service["id"]]
    assert found["items"][0]["service"]["capacity"]["available"] == 2


# --- services and locations ----------------------------------------------------------

def test_service_written_through_the_api_is_searchable_at_once(api, shelter):
    _organization, _location, service = shelter
    items = api.client.get("/v1/search?q=nha%20tam%20lanh").get_json()["items"]
    assert [item["service"]["id"] for item in items] == [service["id"]]
    etag = api.client.get(f"/v1/services/{service['id']}").headers["ETag"]
    body = {k: v for k, v in service.items() if k not in ("id", "version", "created_at", "updated_at",
                                                          "capacity", "stale")}
    assert api.put(f"/v1/services/{service['id']}", {**body, "name": "Chỗ ở an toàn"}, etag).status_code == 200
    assert api.client.get("/v1/search?q=cho%20phu%20nu").get_json()["total"] == 0
    assert api.client.get("/v1/search?q=cho%20o%20an%20toan").get_json()["total"] == 1


@pytest.mark.parametrize("change, field", [
    ({"kind": "spaceship"}, "kind"),
    ({"status": "open"}, "status"),
    ({"minimum_age": 30, "maximum_age": 18}, "minimum_age"),
    ({"hours": [{"byday": ["XX"], "opens_at": "25:00", "closes_at": "17:00"}]}, "hours.0.opens_at"),
    ({"languages": ["Vietnamese"]}, "languages.0"),
    ({"service_areas": ["99999"]}, "service_areas.0"),
    ({"location_ids": ["not-a-uuid"]}, "location_ids.0"),
])
def test_bad_service_fields_are_named(api, shelter, change, field):
    organization, location, _service = shelter
    body = {"organization_id": organization["id"], "name": "X", "kind": "counselling", **change}
    response = api.post("/v1/services", body)
    assert response.status_code == 422, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}


@pytest.mark.parametrize("change, field", [
    ({"latitude": 21.0}, "longitude"),
    ({"latitude": 123, "longitude": 106}, "latitude"),
    ({"province_code": "20", "district_code": "999"}, "district_code"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
])
def test_bad_location_fields_are_named(api, shelter, change, field):
    organization, _location, _service = shelter
    response = api.post("/v1/locations", {"organization_id": organization["id"], "name": "X", **change})
    assert response.status_code == 422, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_an_organization_with_services_cannot_be_deleted(api, shelter):
    organization, _location, _service = shelter
    response = api.client.delete(f"/v1/organizations/{organization['id']}", headers={**api.admin, "If-Match": '"1"'})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"


# --- search --------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("kind=spaceship", "kind"), ("lat=21.8", "lon"), ("lon=106.7", "lat"), ("lat=21&lon=106&radius_km=-5", "radius_km"),
    ("per_page=1000", "per_page"), ("radius_km=5", "radius_km"), ("sort=distance", "sort"),
    ("open_at=yesterday", "open_at"), ("age=-1", "age"), ("gender=robot", "gender"), ("district=99999", "district"),
    ("province=183", "province"),
])
def test_bad_search_parameters_are_422_naming_the_field(api, query, field):
    response = api.client.get(f"/v1/search?{query}")
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"] for e in response.get_json()["errors"]}


def test_search_answer_shape(api, shelter):
    result = api.client.get("/v1/search?q=tam%20lanh&lat=21.8537&lon=106.7615&sort=distance&district=183"
                            "&language=tyz&kind=shelter&kind=police").get_json()
    assert result["total"] == 1 and result["page"] == 1 and result["per_page"] == 20
    item = result["items"][0]
    assert set(item) >= {"service", "organization", "locations", "distance_km", "highlights", "stale"}
    assert item["distance_km"] == 2.0  # confidential: whole kilometres, from its ~2 km cell's centre
    assert "<mark>" in item["highlights"]["service.name"]
    assert result["facets"] == {"kind": {"shelter": 1}, "district": {"183": 1}, "language": {"tyz": 1, "vi": 1}}


def test_open_at_without_offset_is_vietnam_time(api, shelter):
    assert api.client.get("/v1/search?open_at=2026-11-25T09:00:00").get_json()["total"] == 1
    assert api.client.get("/v1/search?open_now=true").get_json()["total"] == 1


def test_services_can_be_listed_for_one_organization(api, shelter):
    organization, _location, service = shelter
    other = api.created("/v1/organizations", {"name": "Văn phòng trợ giúp pháp lý"})
    api.created("/v1/services", {"organization_id": other["id"], "name": "Trợ giúp pháp lý", "kind": "legal_aid",
                                 "service_areas": ["20"]})
    assert api.client.get("/v1/services").get_json()["total"] == 2
    own = api.client.get(f"/v1/services?organization_id={organization['id']}").get_json()
    assert own["total"] == 1 and [item["id"] for item in own["items"]] == [service["id"]]
    bad = api.client.get("/v1/services?organization_id=not-a-uuid")
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "organization_id" in [error["field"] for error in bad.get_json()["errors"]]


def test_reference_lists(api):
    kinds = {k["code"] for k in api.client.get("/v1/kinds").get_json()}
    assert {"shelter", "trusted_address", "social_work", "health", "legal_aid", "police", "counselling",
            "hotline"} <= kinds
    areas = api.client.get("/v1/areas").get_json()
    assert areas[0] == {"code": "20", "name": "Lạng Sơn", "level": "province", "parent_code": None,
                        "centre": None}


def test_an_area_added_with_a_centre_is_listed_with_it(api):
    added = api.post("/v1/areas", [{"code": "06187", "name": "Thị trấn Cao Lộc", "level": "commune",
                                    "parent_code": "183", "centre": {"latitude": 21.8695, "longitude": 106.7620}}])
    assert added.status_code == 200, added.get_json()
    listed = {a["code"]: a for a in api.client.get("/v1/areas").get_json()}
    assert listed["06187"]["centre"] == {"latitude": 21.8695, "longitude": 106.762}
    assert listed["06184"]["centre"] is None  # added without one: still listed, with none


@pytest.mark.parametrize("centre, field", [
    ({"latitude": 95, "longitude": 106.76}, "0.centre.latitude"),
    ({"latitude": 21.87, "longitude": -181}, "0.centre.longitude"),
    ({"latitude": 21.87}, "0.centre.longitude"),  # both or neither
    ({"longitude": 106.76}, "0.centre.latitude"),
    ({"latitude": "NaN", "longitude": 106.76}, "0.centre.latitude"),
])
def test_a_centre_off_the_earth_or_half_given_is_refused_by_name(api, centre, field):
    refused = api.post("/v1/areas", [{"code": "06187", "name": "Thị trấn Cao Lộc", "level": "commune",
                                      "parent_code": "183", "centre": centre}])
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [e["field"] for e in refused.get_json()["errors"]] == [field]
    assert "06187" not in {a["code"] for a in api.client.get("/v1/areas").get_json()}


@pytest.mark.parametrize("path", ["/v1/organizations?page=922337203685477581", "/v1/services?page=99999999999",
                                  "/v1/search?open_at=0001-01-01T00:00:00",
                                  "/v1/search?open_at=9999-12-31T23:59:59-12:00",
                                  "/v1/search?page=999999999999", "/v1/search?radius_km=1e308&lat=21&lon=105",
                                  "/hsds/service_at_locations?postcode=%00", "/v1/search?q=" + "a" * 500])
def test_extreme_queries_are_4xx_problems(api, path):
    response = api.client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("body", [{"available": 3_000_000_000, "maximum": 3_000_000_000},
                                  {"available": 1e20, "maximum": 1e20}, {"available": "2", "maximum": 5},
                                  [1, 2], {"available": 2}])
def test_bad_capacity_is_422_and_search_keeps_working(api, shelter, body):
    _organization, _location, service = shelter
    response = api.client.put(f"/v1/services/{service['id']}/capacity", json=body, headers=api.admin)
    assert response.status_code == 422, response.get_json()
    assert api.client.get("/v1/search").status_code == 200


def test_a_csv_cell_too_long_to_read_is_reported(api):
    body = "service_name,kind,organization_name\n" + "x" * 200_000 + ",shelter,A\n"
    response = api.client.post("/v1/import/csv", data=body.encode(), headers={**api.admin, "Content-Type": "text/csv"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


# --- If-Match: * and where a refused value came from ------------------------------------

def test_if_match_star_changes_whatever_version_is_current(api, shelter):
    organization, location, service = shelter
    revised = api.put(f"/v1/organizations/{organization['id']}", {"name": "Tên mới"}, "*")
    assert revised.status_code == 200 and revised.headers["ETag"] == '"2"'
    api.put(f"/v1/services/{service['id']}", {**{k: service[k] for k in ("organization_id", "name", "kind")},
                                              "location_ids": [location["id"]]}, '"1"')
    again = api.put(f"/v1/services/{service['id']}", {**{k: service[k] for k in ("organization_id", "name", "kind")},
                                                      "location_ids": [location["id"]]}, "*")
    assert again.status_code == 200 and again.headers["ETag"] == '"3"'
    removed = api.client.delete(f"/v1/services/{service['id']}", headers={**api.admin, "If-Match": "*"})
    assert removed.status_code == 204
    assert api.client.get(f"/v1/services/{service['id']}").status_code == 404
    # `*` matches a record that exists, not one that does not
    gone = api.client.delete(f"/v1/services/{service['id']}", headers={**api.admin, "If-Match": "*"})
    assert gone.status_code == 404
    table = api.client.get("/v1/kind-mappings").get_json()
    replaced = api.put("/v1/kind-mappings", {"mappings": table["mappings"][:1]}, "*")
    assert replaced.status_code == 200 and len(replaced.get_json()["mappings"]) == 1


def test_an_unknown_kind_in_a_body_is_named_in_the_json_and_in_a_query_in_the_query(api, shelter):
    organization = shelter[0]
    created = api.post("/v1/services", {"organization_id": organization["id"], "name": "Dịch vụ", "kind": "nope"})
    assert created.status_code == 422
    assert created.get_json()["errors"] == [{"location": "json", "field": "kind", "message": created.get_json()["detail"]}]
    searched = api.client.get("/v1/search?kind=nope")
    assert searched.status_code == 422
    assert [(e["location"], e["field"]) for e in searched.get_json()["errors"]] == [("query", "kind")]


def test_fields_that_do_not_fit_together_are_refused_naming_them(api, shelter):
    service = shelter[2]
    capacity = api.client.put(f"/v1/services/{service['id']}/capacity", json={"available": 9, "maximum": 3},
                              headers=api.admin)
    assert capacity.status_code == 422
    assert capacity.get_json()["type"] == "urn:haven:problem:inconsistent-fields"
    assert capacity.get_json()["errors"][0] == {**capacity.get_json()["errors"][0], "location": "json",
                                                "field": "available"}
    search = api.client.get("/v1/search?lat=21.8")
    assert search.status_code == 422
    assert [(e["location"], e["field"]) for e in search.get_json()["errors"]] == [("query", "lon")]
