"""The demo data a user sees on a first start, and the generator the load tests use."""
import math
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from services.directory import demo_data
from services.directory.demo_data import REFERENCE_DATE, areas, centres, generate, providers
from services.directory.domain.hours import weekly_intervals
from services.directory.domain.model import BASE_KINDS, GENDERS, STATUSES, WEEKDAYS

DAY = 1440


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def bundles():
    return providers()


@pytest.fixture(scope="module")
def services(bundles):
    return [s for _, _, services in bundles for s in services]


@pytest.fixture(scope="module")
def locations(bundles):
    return [loc for _, locations, _ in bundles for loc in locations]


@pytest.fixture(scope="module")
def area_by_code():
    return {a.code: a for a in areas()}


def named(area_by_code, level, text):
    return [a for a in area_by_code.values() if a.level == level and text in a.name]


# --- areas ---------------------------------------------------------------------------

def test_the_four_provinces_have_their_gso_codes(area_by_code):
    provinces = {a.code: a.name for a in area_by_code.values() if a.level == "province"}
    assert provinces == {"01": "Thành phố Hà Nội", "20": "Tỉnh Lạng Sơn", "37": "Tỉnh Ninh Bình",
                         "38": "Tỉnh Thanh Hóa"}


def test_areas_form_a_hierarchy_listed_parents_first():
    seen = {}
    for area in areas():
        assert area.code not in seen, f"duplicate code {area.code}"
        if area.level == "province":
            assert area.parent_code is None and re.fullmatch(r"\d{2}", area.code)
        elif area.level == "district":
            assert seen[area.parent_code].level == "province" and re.fullmatch(r"\d{3}", area.code)
        else:
            assert area.level == "commune"
            assert seen[area.parent_code].level == "district" and re.fullmatch(r"\d{5}", area.code)
        seen[area.code] = area


def test_every_district_and_commune_has_its_centre_to_search_near(area_by_code):
    for area in area_by_code.values():
        if area.level == "province":
            assert area.centre is None
        else:
            lat, lon, _radius = centres[area.code]
            assert (area.centre.latitude, area.centre.longitude) == (lat, lon), area.code


def test_every_province_has_several_districts_and_some_have_communes(area_by_code):
    districts = Counter(a.parent_code for a in area_by_code.values() if a.level == "district")
    assert set(districts) == {"01", "20", "37", "38"}
    assert min(districts.values()) >= 4
    with_communes = {a.parent_code for a in area_by_code.values() if a.level == "commune"}
    assert len(with_communes) >= 10


def test_cao_loc_and_cam_thuy_are_districts_of_the_right_provinces(area_by_code):
    [cao_loc] = named(area_by_code, "district", "Cao Lộc")
    [cam_thuy] = named(area_by_code, "district", "Cẩm Thủy")
    assert (cao_loc.code, cao_loc.parent_code) == ("183", "20")
    assert (cam_thuy.code, cam_thuy.parent_code) == ("390", "38")


def test_every_district_and_commune_has_a_centre_and_communes_lie_inside_their_district(area_by_code):
    for area in area_by_code.values():
        if area.level == "province":
            continue
        lat, lon, radius = centres[area.code]
        assert 19.5 < lat < 22.6 and 104.5 < lon < 107.5 and 0 < radius <= 10, area
        if area.level == "commune":
            dlat, dlon, dradius = centres[area.parent_code]
            assert haversine_km(lat, lon, dlat, dlon) + radius <= dradius, area.name


@pytest.mark.parametrize("code, lat, lon", [("183", 21.88, 106.80), ("390", 20.20, 105.47), ("002", 21.029, 105.852)])
def test_well_known_centres_are_where_the_districts_are(code, lat, lon):
    assert haversine_km(lat, lon, *centres[code][:2]) < 5


def test_unverified_codes_name_areas_the_demo_uses(area_by_code):
    assert demo_data.UNVERIFIED_CODES <= set(area_by_code)


def test_names_use_vietnamese_diacritics(area_by_code, bundles, services):
    names = [a.name for a in area_by_code.values()] + [o.name for o, _, _ in bundles] + [s.name for s in services]
    with_diacritics = [n for n in names if any(ord(ch) > 127 for ch in n)]
    assert len(with_diacritics) / len(names) > 0.9
    assert any("Nhà tạm lánh" in o.name for o, _, _ in bundles)
    assert any("Trạm Y tế" in o.name for o, _, _ in bundles)


# --- the provider set ------------------------------------------------------------------

def test_at_least_300_services_of_every_kind(services):
    assert len(services) >= 300
    assert set(Counter(s.kind for s in services)) == set(BASE_KINDS)


def test_every_province_has_providers(locations, services):
    assert {loc.province_code for loc in locations} == {"01", "20", "37", "38"}
    served = {code for s in services for code in s.service_areas}
    assert {"01", "20", "37", "38"} <= served


def test_cao_loc_and_cam_thuy_have_services(bundles):
    for district in ("183", "390"):
        located_there = [s for _, locations, services in bundles for s in services
                         if any(loc.district_code == district for loc in locations if loc.id in s.location_ids)]
        assert len(located_there) >= 4
        assert {"police", "health", "shelter"} <= {s.kind for s in located_there}


def test_locations_lie_inside_their_district_and_commune(locations):
    for loc in locations:
        lat, lon, radius = centres[loc.district_code]
        assert haversine_km(loc.latitude, loc.longitude, lat, lon) <= radius, (loc.name, loc.district_code)
        if loc.commune_code:
            lat, lon, radius = centres[loc.commune_code]
            assert haversine_km(loc.latitude, loc.longitude, lat, lon) <= radius, (loc.name, loc.commune_code)


def test_location_codes_follow_the_hierarchy(locations, area_by_code):
    for loc in locations:
        assert area_by_code[loc.province_code].level == "province"
        district = area_by_code[loc.district_code]
        assert district.level == "district" and district.parent_code == loc.province_code
        if loc.commune_code:
            commune = area_by_code[loc.commune_code]
            assert commune.level == "commune" and commune.parent_code == loc.district_code
    assert any(loc.commune_code for loc in locations) and any(not loc.commune_code for loc in locations)


def test_locations_have_street_addresses_and_the_default_timezone(locations, area_by_code):
    for loc in locations:
        assert loc.address.address_1 and loc.address.country == "VN"
        assert loc.address.city == area_by_code[loc.district_code].name
        assert loc.address.region == area_by_code[loc.province_code].name
        assert loc.timezone == "Asia/Ho_Chi_Minh"
    assert any(re.fullmatch(r"Số \d+ đường .+", loc.address.address_1) for loc in locations)


def test_shelters_and_trusted_addresses_are_only_at_confidential_locations(bundles):
    confidential_kinds = {code for code, (_, _, confidential) in BASE_KINDS.items() if confidential}
    checked = 0
    for _, locations, services in bundles:
        by_id = {loc.id: loc for loc in locations}
        for service in services:
            if service.kind in confidential_kinds:
                assert service.location_ids and all(by_id[i].confidential for i in service.location_ids)
                checked += 1
    assert checked >= 30
    assert any(not loc.confidential for _, locations, _ in bundles for loc in locations)


def test_shelters_count_their_beds(services):
    shelters = [s for s in services if s.kind == "shelter"]
    assert all(s.capacity is not None and 0 <= s.capacity.available <= s.capacity.maximum for s in shelters)
    assert any(s.capacity.available == 0 for s in shelters)
    assert any(s.capacity.available > 0 for s in shelters)
    trusted = [s for s in services if s.kind == "trusted_address"]
    assert any(s.capacity and s.capacity.maximum <= 3 for s in trusted)


def test_opening_hours_parse_and_vary(services):
    for service in services:
        intervals = weekly_intervals(service.hours)
        assert service.always_open or intervals, service.name
        assert all(day in WEEKDAYS for h in service.hours for day in h.byday)
    assert all(s.always_open for s in services if s.kind in ("hotline", "police") and not s.hours)
    assert all(s.always_open for s in services if s.kind == "hotline")
    assert any(s.always_open for s in services if s.kind == "shelter")
    overnight = [s for s in services if any(h.closes_at <= h.opens_at for h in s.hours)]
    assert len(overnight) >= 3
    assert any(h.byday == ("SA",) for s in services for h in s.hours)
    assert any(s.hours and not s.always_open and date(2026, 9, 2) in s.closed_on for s in services)


def test_verification_is_mostly_recent_relative_to_the_fixed_reference_date(services):
    assert all(s.assured_date is None or s.assured_date <= REFERENCE_DATE for s in services)
    recent = [s for s in services if s.assured_date and REFERENCE_DATE - s.assured_date <= timedelta(days=90)]
    stale = [s for s in services if s.is_stale(REFERENCE_DATE)]
    assert len(recent) / len(services) > 0.6
    assert any(s.assured_date is None for s in stale) and any(s.assured_date for s in stale)
    assert all((s.assured_date is None) == (s.assured_by is None) for s in services)
    assert any(s.assured_by == "Sở LĐTBXH tỉnh Lạng Sơn" for s in services)


def test_status_eligibility_and_languages_vary(services):
    statuses = Counter(s.status for s in services)
    assert set(statuses) == set(STATUSES) and statuses["active"] / len(services) > 0.8
    genders = Counter(s.gender for s in services)
    assert set(genders) <= set(GENDERS) and genders["male"] >= 1
    assert genders["any"] + genders["female"] > 0.9 * len(services)
    assert any(s.maximum_age == 17 for s in services) and any(s.minimum_age == 18 for s in services)
    assert all(code in demo_data.LANGUAGES for s in services for code in s.languages)
    assert all(s.languages[0] == "vi" for s in services)


def test_ethnic_minority_languages_where_people_speak_them(bundles):
    def languages_in(province):
        return {code for _, locations, services in bundles for s in services for code in s.languages
                if any(loc.province_code == province for loc in locations if loc.id in s.location_ids)}
    assert {"tyz", "nut"} <= languages_in("20")
    assert {"mtq", "blt"} <= languages_in("38")


def test_service_areas_match_the_level_of_the_provider(bundles, area_by_code):
    for _, locations, services in bundles:
        for service in services:
            assert service.service_areas and all(code in area_by_code for code in service.service_areas)
    hotlines = [s for _, _, services in bundles for s in services if s.kind == "hotline"]
    assert all(area_by_code[c].level == "province" for s in hotlines for c in s.service_areas)
    assert any(len(s.service_areas) == 4 for s in hotlines)


def test_phone_numbers_look_vietnamese(services):
    pattern = re.compile(r"(024 3\d{3} \d{4}|0(205|229|237) 3\d{3} \d{3}|1800 \d{4}|0\d{3} \d{3} \d{3})")
    numbers = [p.number for s in services for p in s.phones]
    assert numbers and all(pattern.fullmatch(n) for n in numbers), [n for n in numbers if not pattern.fullmatch(n)]
    assert any(n.startswith("0205 ") for n in numbers) and any(n.startswith("1800 ") for n in numbers)


def test_every_organization_says_it_is_fictional(bundles):
    assert all("hư cấu" in org.description for org, _, _ in bundles)
    assert all(org.email is None or org.email.endswith("@example.org") for org, _, _ in bundles)


def test_references_and_ids_are_consistent(bundles):
    check_references(bundles)


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(bundles):
    assert providers() == bundles
    assert providers(seed=7) != bundles


# --- the generator ---------------------------------------------------------------------

def check_references(bundles):
    ids = Counter()
    for org, locations, services in bundles:
        ids.update([org.id, *(loc.id for loc in locations), *(s.id for s in services)])
        own = {loc.id for loc in locations}
        assert all(loc.organization_id == org.id for loc in locations)
        for service in services:
            assert service.organization_id == org.id
            assert set(service.location_ids) <= own
    duplicated = [i for i, count in ids.items() if count > 1]
    assert not duplicated


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_generate_yields_exactly_n_services_with_consistent_references(n):
    bundles = list(generate(n))
    assert sum(len(services) for _, _, services in bundles) == n
    assert all(services for _, _, services in bundles)
    check_references(bundles)


def test_generated_data_follows_the_same_rules(area_by_code):
    bundles = list(generate(2000, seed=5))
    services = [s for _, _, services in bundles for s in services]
    assert set(s.kind for s in services) == set(BASE_KINDS)
    for _, locations, _ in bundles:
        for loc in locations:
            lat, lon, radius = centres[loc.district_code]
            assert haversine_km(loc.latitude, loc.longitude, lat, lon) <= radius
            assert area_by_code[loc.district_code].parent_code == loc.province_code
    for service in services:
        weekly_intervals(service.hours)
    assert all("hư cấu" in org.description for org, _, _ in bundles)


def test_generate_stops_at_exactly_n_for_every_small_n():
    for seed in (1, 2):
        for n in range(60):
            assert sum(len(services) for _, _, services in generate(n, seed)) == n, (seed, n)


def test_generate_is_deterministic_and_lazy():
    first = list(generate(300, seed=3))
    assert list(generate(300, seed=3)) == first
    assert list(generate(300, seed=4)) != first
    org, _, _ = next(generate(10 ** 9))  # does not build a billion services first
    assert org.name


def test_generate_refuses_a_negative_count():
    with pytest.raises(ValueError):
        next(generate(-1))


def test_no_confidential_place_is_given_away_by_the_areas_its_service_covers():
    from services.directory import demo_data as dd

    for _organization, locations, services in dd.providers():
        hidden = {loc.commune_code for loc in locations if loc.confidential and loc.commune_code}
        for service in services:
            assert not hidden & set(service.service_areas), service.name
