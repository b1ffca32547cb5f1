"""A caller without `directory:confidential` can recover neither the street address nor the
coordinates (nor the commune) of a confidential location, through any directory endpoint:
search (text, filters, facets, counts, sort order), reads, lists, export and the HSDS API.

Every GET operation in the directory's own OpenAPI document is called, so an endpoint added
later is checked too."""
import json
import re
from urllib.parse import urlencode

import pytest

from services.directory.domain.model import Area
from tests.support.apps import service_app
from tests.support.auth import bearer

AREAS = [Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20"),
         Area("06184", "Đồng Đăng", "commune", "183")]
ORIGIN = (21.8537, 106.7615)
# Shelter A is 1.9 km from ORIGIN, shelter B 2.9 km; both lie in the grid cell centred on
# (21.87, 106.77), 2.0 km from ORIGIN, which is all a caller without permission may learn.
A_POINT, B_POINT = (21.8711, 106.7611), (21.8789, 106.7689)
SECRETS = ["Số 7 ngõ Bí Mật", "ngõ Bí Mật", "Số 9 hẻm Kín", "241234", "Đồng Đăng", "06184",
           "Cổng sau gần chợ", "21.8711", "106.7611", "21.8789", "106.7689", "21.871", "21.878"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("confidential")
    app = service_app("directory", data_dir)
    app.extensions["haven.directory"]["directory"].reference.add_areas(AREAS)
    client = app.test_client()
    admin = bearer(data_dir, "directory_admin")

    def create(path, body):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    org = create("/v1/organizations", {"name": "Trung tâm Công tác xã hội tỉnh Lạng Sơn"})
    ids = {"organization": org["id"]}
    for key, name, point, street in (("a", "Zeta nhà tạm lánh", A_POINT, "Số 7 ngõ Bí Mật"),
                                     ("b", "Alpha nhà tạm lánh", B_POINT, "Số 9 hẻm Kín")):
        location = create("/v1/locations", {
            "organization_id": org["id"], "name": f"Cơ sở {name}", "latitude": point[0], "longitude": point[1],
            "province_code": "20", "district_code": "183", "commune_code": "06184", "confidential": True,
            "description": "Cổng sau gần chợ", "address": {"address_1": street, "postal_code": "241234"}})
        service = create("/v1/services", {
            "organization_id": org["id"], "name": name, "kind": "shelter", "location_ids": [location["id"]],
            "always_open": True})
        ids[f"location_{key}"], ids[f"service_{key}"] = location["id"], service["id"]
    return client, data_dir, ids


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _get_operations(client, ids):
    document = client.get("/openapi.json").get_json()
    for path, item in document["paths"].items():
        if "get" not in item or path in ("/metrics", "/openapi.json", "/v1/areas"):
            continue  # /v1/areas is the public list of all areas, tied to no service
        if "{" not in path:
            yield path
            continue
        for key in ("service_a", "location_a", "organization"):
            yield re.sub(r"\{[^}]+\}", ids[key], path)


QUERIES = [
    {}, {"q": "ngo Bi Mat"}, {"q": "Dong Dang"}, {"q": "cho"}, {"commune": "06184"}, {"district": "183"},
    {"lat": ORIGIN[0], "lon": ORIGIN[1], "sort": "distance"},
    {"lat": ORIGIN[0], "lon": ORIGIN[1], "radius_km": 2.7, "sort": "distance"},
    {"lat": A_POINT[0], "lon": A_POINT[1], "radius_km": 0.1},
    {"search": "ngo Bi Mat"}, {"postcode": "241234"}, {"postcode": "241234", "proximity": 100},
]


@pytest.mark.parametrize("role", [None, "caseworker", "agency_staff", "ops"])
def test_no_endpoint_reveals_a_confidential_address_or_position(world, role):
    client, data_dir, ids = world
    headers = bearer(data_dir, role) if role else {}
    checked = 0
    for path in _get_operations(client, ids):
        for query in QUERIES:
            response = client.get(f"{path}?{urlencode(query)}", headers=headers)
            if response.status_code >= 400:
                continue  # a parameter this endpoint does not take
            body = response.get_data(as_text=True)
            assert _leaks(body) == [], (path, query)
            checked += 1
    assert checked > 40  # the loop really exercised the endpoints


def test_the_same_calls_do_reveal_them_with_permission(world):
    # Proves the secrets above are real and reachable: the test above would catch a leak.
    client, data_dir, ids = world
    supervisor = bearer(data_dir, "supervisor")
    body = client.get(f"/v1/locations/{ids['location_a']}", headers=supervisor).get_data(as_text=True)
    assert "Số 7 ngõ Bí Mật" in body and "21.8711" in body and "06184" in body
    export = client.get("/v1/export/hsds", headers=supervisor).get_data(as_text=True)
    assert "Số 7 ngõ Bí Mật" in export and "241234" in export
    assert client.get("/v1/search?q=ngo%20Bi%20Mat", headers=supervisor).get_json()["total"] == 1
    assert client.get("/v1/search?commune=06184", headers=supervisor).get_json()["total"] == 2


def test_distance_and_its_order_show_whole_kilometres_from_the_cell_only(world):
    client, data_dir, ids = world
    query = f"/v1/search?lat={ORIGIN[0]}&lon={ORIGIN[1]}&sort=distance"
    public = client.get(query).get_json()["items"]
    # both "2 km" (from their cell's centre): the tie is broken by name, not by the true
    # distance (A, "Zeta", is the nearer one)
    assert [(i["service"]["name"], i["distance_km"]) for i in public] == [
        ("Alpha nhà tạm lánh", 2.0), ("Zeta nhà tạm lánh", 2.0)]
    private = client.get(query, headers=bearer(data_dir, "supervisor")).get_json()["items"]
    assert [i["service"]["name"] for i in private] == ["Zeta nhà tạm lánh", "Alpha nhà tạm lánh"]
    assert private[0]["distance_km"] == pytest.approx(1.93, abs=0.05)
    assert private[1]["distance_km"] == pytest.approx(2.9, abs=0.1)


def test_a_radius_cannot_probe_a_shelter_within_its_cell(world):
    client, data_dir, ids = world
    for radius in (1.5, 1.95, 2.0, 2.5, 2.95, 3.5):  # A is at 1.93 km, B at 2.9 km
        total = client.get(f"/v1/search?lat={ORIGIN[0]}&lon={ORIGIN[1]}&radius_km={radius}").get_json()["total"]
        assert total == (2 if radius >= 2 else 0), radius


def test_facets_show_the_district_not_the_commune(world):
    client, _data_dir, _ids = world
    facets = client.get("/v1/search").get_json()["facets"]
    assert facets["district"] == {"183": 2}
    assert "06184" not in json.dumps(facets)
