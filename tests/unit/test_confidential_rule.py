"""The confidentiality rule (services/directory/domain/confidential.py): what a caller
without `directory:confidential` may learn of a confidential location, and find it by."""
from dataclasses import fields

import pytest

from services.directory.domain.confidential import (GUARDED, PUBLIC, WHOLE, Viewer, disclosure, place_texts,
                                                   public_position)
from services.directory.domain.model import Address, Location
from services.directory.domain.search import distance_km

CASEWORKER = Viewer(can_see_confidential=True)
NAMES = {"20": "Lạng Sơn", "183": "Cao Lộc", "06184": "Đồng Đăng"}
SHELTER = Location(id="10000000-0000-4000-8000-000000000001", organization_id="00000000-0000-4000-8000-000000000002",
                   name="Nhà tạm lánh Hoa Sen", latitude=21.8737, longitude=106.7735, description="Cổng sau, gần chợ",
                   address=Address(address_1="Số 7 ngõ Bí Mật", city="Cao Lộc", region="Lạng Sơn", postal_code="240000"),
                   province_code="20", district_code="183", commune_code="06184", confidential=True)
OFFICE = Location(id="10000000-0000-4000-8000-000000000002", organization_id=SHELTER.organization_id,
                  name="Văn phòng", latitude=21.854, longitude=106.762, address=Address(address_1="Số 2 Lê Lợi"),
                  province_code="20", district_code="183", commune_code="06184")


def test_only_a_confidential_location_is_guarded_and_only_from_callers_without_the_permission():
    assert disclosure(PUBLIC, True) is GUARDED
    assert disclosure(CASEWORKER, True) is WHOLE
    assert disclosure(PUBLIC, False) is WHOLE and disclosure(CASEWORKER, False) is WHOLE
    assert GUARDED.guarded and not WHOLE.guarded


def test_everyone_learns_all_of_a_location_that_is_not_confidential():
    told = disclosure(PUBLIC, OFFICE.confidential)
    assert told.location(OFFICE) is OFFICE
    assert told.texts(OFFICE, NAMES)["address"] == "Số 2 Lê Lợi " and told.areas(OFFICE) == ("20", "183", "06184")


def test_a_guarded_location_shows_its_name_district_and_province_and_nothing_that_leads_to_the_door():
    shown = GUARDED.location(SHELTER)
    kept = {"name", "province_code", "district_code", "confidential", "id", "organization_id", "timezone",
            "version", "created_at", "updated_at"}
    for field in fields(Location):
        if field.name in kept:
            assert getattr(shown, field.name) == getattr(SHELTER, field.name), field.name
    assert (shown.latitude, shown.longitude, shown.commune_code, shown.description) == (None, None, None, "")
    assert shown.address == Address(address_1="", city="", region="", postal_code="", country="VN")
    assert WHOLE.location(SHELTER) is SHELTER


def test_a_guarded_location_is_found_by_its_name_and_public_areas_only():
    assert GUARDED.texts(SHELTER, NAMES) == {"name": "Nhà tạm lánh Hoa Sen", "province_code": "Lạng Sơn",
                                             "district_code": "Cao Lộc"}
    assert GUARDED.areas(SHELTER) == ("20", "183")
    assert WHOLE.texts(SHELTER, NAMES) == place_texts(SHELTER, NAMES)
    assert WHOLE.texts(SHELTER, NAMES)["address"] == "Số 7 ngõ Bí Mật Cao Lộc"
    assert WHOLE.areas(SHELTER) == ("20", "183", "06184")


def test_a_guarded_location_is_measured_from_its_cell_centre_in_whole_kilometres():
    origin = (21.8537, 106.7615)
    cell = public_position(SHELTER.latitude, SHELTER.longitude)
    assert GUARDED.position(SHELTER.latitude, SHELTER.longitude) == cell != (SHELTER.latitude, SHELTER.longitude)
    assert WHOLE.position(SHELTER.latitude, SHELTER.longitude) == (SHELTER.latitude, SHELTER.longitude)
    assert GUARDED.distance(distance_km(origin, cell)) == float(round(distance_km(origin, cell))) == 2.0
    assert WHOLE.distance(2.3456) == 2.35 and GUARDED.distance(2.3456) == 2.0
    # two places of one cell look the same from anywhere
    assert GUARDED.position(21.8711, 106.7611) == GUARDED.position(21.8789, 106.7689)


@pytest.mark.parametrize("told, radius, inside, outside", [
    (WHOLE, 2.0, 2.0049, 2.0051),    # shown as 2.00 / 2.01
    (WHOLE, 2.347, 2.3449, 2.3451),  # within 2.347 means shown as 2.34 at most
    (GUARDED, 2.0, 2.49, 2.51),      # shown as 2 / 3 kilometres
    (GUARDED, 2.9, 2.49, 2.51),      # within 2.9 means shown as 2 km at most
])
def test_the_reach_of_a_radius_is_where_the_shown_distance_passes_it(told, radius, inside, outside):
    assert inside < told.reach(radius) < outside
    assert told.distance(inside) <= radius < told.distance(outside)
