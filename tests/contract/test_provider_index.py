"""The search-index contract: every ProviderIndex adapter must give these answers.

Run against each adapter through the `index` fixture (tests/contract/conftest.py). Where
relevance ordering may legitimately differ between engines, the test says so and checks
membership instead of order.
"""
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from services.directory.domain.model import (Address, Capacity, Location, OpeningHours, Organization, Service)
from services.directory.domain.confidential import WHOLE, Viewer, disclosure, public_position
from services.directory.domain.hours import is_open
from services.directory.domain.search import AreaFilter, Listing, SearchQuery, distance_km, visible_distance
from tests.support.geo import destination

PUBLIC = Viewer(can_see_confidential=False)
PRIVILEGED = Viewer(can_see_confidential=True)
TODAY = date(2026, 11, 25)
HANOI = timezone(timedelta(hours=7))
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")

# Areas: Lạng Sơn (20) > Cao Lộc (183) > Đồng Đăng (06184); Hà Nội (01) > Đống Đa (006) > Láng Thượng (00199)
NAMES = {"20": "Lạng Sơn", "183": "Cao Lộc", "06184": "Đồng Đăng", "01": "Hà Nội", "006": "Đống Đa",
         "00199": "Láng Thượng", "178": "Thành phố Lạng Sơn"}
ORIGIN = (21.8537, 106.7615)  # Lạng Sơn city centre


def _org(n, name):
    return Organization(id=f"00000000-0000-4000-8000-0000000000{n:02d}", name=name)


def _loc(n, org, name, lat, lon, province, district, commune=None, confidential=False, street="", description=""):
    return Location(id=f"10000000-0000-4000-8000-0000000000{n:02d}", organization_id=org.id, name=name,
                    latitude=lat, longitude=lon, province_code=province, district_code=district,
                    commune_code=commune, confidential=confidential, description=description,
                    address=Address(address_1=street, city=NAMES.get(district, "")))


def _listing(n, org, locations, name, kind, **fields):
    service = Service(id=f"20000000-0000-4000-8000-0000000000{n:02d}", organization_id=org.id, name=name, kind=kind,
                      location_ids=tuple(loc.id for loc in locations), **fields)
    codes = {c for loc in locations for c in loc.area_codes} | set(service.service_areas)
    ancestors = {"183": ("20",), "06184": ("183", "20"), "006": ("01",), "00199": ("006", "01"), "178": ("20",)}
    served_up = {a for code in service.service_areas for a in ancestors.get(code, ())}
    return Listing(service=service, organization=org, locations=tuple(locations),
                   area_names={c: NAMES[c] for c in codes if c in NAMES}, served_ancestors=tuple(sorted(served_up)))


office_hours = (OpeningHours(WEEKDAYS, "07:30", "11:30"), OpeningHours(WEEKDAYS, "13:30", "17:00"))
women_union = _org(1, "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn")
shelter_org = _org(2, "Trung tâm Công tác xã hội tỉnh Lạng Sơn")
legal_org = _org(3, "Trung tâm Trợ giúp pháp lý Nhà nước thành phố Hà Nội")
police_org = _org(4, "Công an huyện Cao Lộc")

# A confidential shelter 2.4 km from the origin, in commune Đồng Đăng.
shelter_place = _loc(1, shelter_org, "Nhà tạm lánh Hoa Sen", 21.8737, 106.7735, "20", "183", "06184",
                     confidential=True, street="Số 7 ngõ Bí Mật", description="Cổng sau, gần chợ Kỳ Lừa")
city_office = _loc(2, women_union, "Văn phòng Hội Phụ nữ", 21.8540, 106.7620, "20", "178", street="Số 2 Lê Lợi")
caoloc_station = _loc(3, police_org, "Trụ sở Công an huyện Cao Lộc", 21.8890, 106.8400, "20", "183",
                      street="Quốc lộ 1A")
hanoi_office = _loc(4, legal_org, "Trụ sở Trung tâm", 21.0190, 105.8270, "01", "006", "00199",
                    street="Số 1 Tôn Thất Tùng")

LISTINGS = [
    _listing(1, shelter_org, [shelter_place], "Nhà tạm lánh cho phụ nữ và trẻ em", "shelter",
             description="Chỗ ở an toàn tạm thời", always_open=True, gender="female",
             capacity=Capacity(3, 10), languages=("vi", "tyz"), service_areas=("20",),
             assured_date=TODAY - timedelta(days=10)),
    _listing(2, women_union, [city_office], "Tư vấn, tham vấn cho phụ nữ", "counselling",
             description="Tư vấn tâm lý và pháp lý", hours=office_hours, languages=("vi", "tyz", "nut"),
             service_areas=("178",), assured_date=TODAY - timedelta(days=400)),
    _listing(3, police_org, [caoloc_station], "Tiếp nhận tin báo bạo lực gia đình", "police",
             always_open=True, service_areas=("183",), assured_date=TODAY - timedelta(days=5)),
    _listing(4, legal_org, [hanoi_office], "Trợ giúp pháp lý miễn phí", "legal_aid", hours=office_hours,
             minimum_age=18, service_areas=("01",), closed_on=(date(2026, 12, 1),),
             assured_date=TODAY - timedelta(days=30)),
    _listing(5, women_union, [], "Đường dây nóng hỗ trợ phụ nữ", "hotline", always_open=True,
             service_areas=("20",), languages=("vi",), assured_date=TODAY),
    _listing(6, shelter_org, [city_office.__class__(**{**city_office.__dict__,
                                                      "id": "10000000-0000-4000-8000-000000000099"})],
             "Tư vấn ban đêm", "counselling", hours=(OpeningHours(("FR",), "22:00", "06:00"),),
             status="active", maximum_age=17, assured_date=TODAY),
    _listing(7, women_union, [city_office], "Nhà tạm lánh đã đóng cửa tạm thời", "counselling",
             status="temporarily_closed", always_open=True, assured_date=TODAY),
    _listing(8, women_union, [city_office], "Dịch vụ ngừng hoạt động", "counselling", status="inactive",
             assured_date=TODAY),
]
BY_NAME = {listing.service.name: listing.service.id for listing in LISTINGS}


@pytest.fixture
def loaded(index):
    index.upsert(LISTINGS)
    return index


def ids(result):
    return [hit.listing.service.id for hit in result.hits]


def search(index, viewer=PUBLIC, **fields):
    fields.setdefault("per_page", 100)
    return index.search(SearchQuery(**fields), viewer, TODAY)


# --- full text ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["nha tam lanh", "Nhà tạm lánh", "NHA TAM LANH", "nhà tam lanh"])
def test_text_finds_vietnamese_with_or_without_diacritics(loaded, text):
    found = ids(search(loaded, text=text))
    assert BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"] in found
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] not in found


def test_text_folds_d_with_stroke(loaded):
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] in ids(search(loaded, text="dong da"))  # Đống Đa


def test_text_matches_organization_and_place_names(loaded):
    found = ids(search(loaded, text="Lang Son"))
    assert BY_NAME["Tư vấn, tham vấn cho phụ nữ"] in found  # organization name
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] not in found


def test_text_tolerates_a_typo(loaded):
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] in ids(search(loaded, text="phap ly mienn phi"))


def test_text_prefix_of_the_last_word(loaded):
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] in ids(search(loaded, text="tro giup pha"))


def test_text_that_matches_nothing(loaded):
    result = search(loaded, text="xyzzyqwerty")
    assert result.total == 0 and result.hits == []


def test_hits_explain_why_they_matched(loaded):
    hit = search(loaded, text="tam lanh").hits[0]
    assert any("<mark>" in text for text in hit.highlights.values())
    assert "<mark>tạm</mark> <mark>lánh</mark>" in hit.highlights["service.name"]


def test_each_search_marks_its_own_words_in_a_hit_found_before(loaded):
    def marked(text):
        return {h.listing.service.id: h.highlights for h in search(loaded, text=text).hits}[SHELTER.service.id]

    assert "<mark>tạm</mark> <mark>lánh</mark>" in marked("tam lanh")["locations.0.name"]
    again = marked("hoa sen")
    assert "<mark>Hoa</mark> <mark>Sen</mark>" in again["locations.0.name"]
    assert "<mark>tạm</mark>" not in again["locations.0.name"]
    assert "service.name" not in again


def test_relevance_ranks_a_name_match_first(loaded):
    # Engines may order the rest differently; the service named by the query comes first.
    assert ids(search(loaded, text="tiep nhan tin bao"))[0] == BY_NAME["Tiếp nhận tin báo bạo lực gia đình"]


# --- filters -----------------------------------------------------------------------

def test_kind_filter_is_repeatable(loaded):
    found = set(ids(search(loaded, kinds=("police", "legal_aid"))))
    assert found == {BY_NAME["Tiếp nhận tin báo bạo lực gia đình"], BY_NAME["Trợ giúp pháp lý miễn phí"]}


def test_inactive_services_are_never_found(loaded):
    assert BY_NAME["Dịch vụ ngừng hoạt động"] not in ids(search(loaded))
    assert search(loaded).total == len(LISTINGS) - 1


def test_area_filter_matches_located_in_or_serving(loaded):
    cao_loc = set(ids(search(loaded, areas=(AreaFilter("183", ("20",)),))))
    # located in Cao Lộc (police, the shelter's district), serving all of Lạng Sơn (hotline)
    assert {BY_NAME["Tiếp nhận tin báo bạo lực gia đình"], BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"],
            BY_NAME["Đường dây nóng hỗ trợ phụ nữ"]} <= cao_loc
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] not in cao_loc
    province = set(ids(search(loaded, areas=(AreaFilter("20"),))))
    assert BY_NAME["Tư vấn, tham vấn cho phụ nữ"] in province  # serves a district of the province
    assert BY_NAME["Trợ giúp pháp lý miễn phí"] not in province


def test_a_confidential_commune_is_not_matchable_without_permission(loaded):
    commune = AreaFilter("06184", ("183", "20"))
    shelter = BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]
    assert shelter in ids(search(loaded, PRIVILEGED, areas=(commune,)))
    # still found because it serves the whole province, which contains the commune —
    # but not via its hidden commune: drop the service area and it disappears.
    only_located = [l for l in LISTINGS if l.service.id == shelter][0]
    from dataclasses import replace
    loaded.upsert([replace(only_located, service=replace(only_located.service, service_areas=()),
                           served_ancestors=())])
    assert shelter not in ids(search(loaded, PUBLIC, areas=(commune,)))
    assert shelter in ids(search(loaded, PRIVILEGED, areas=(commune,)))


def test_language_age_gender_capacity(loaded):
    assert set(ids(search(loaded, languages=("nut",)))) == {BY_NAME["Tư vấn, tham vấn cho phụ nữ"]}
    assert set(ids(search(loaded, languages=("tyz", "nut")))) == {
        BY_NAME["Tư vấn, tham vấn cho phụ nữ"], BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]}
    adults_only = BY_NAME["Trợ giúp pháp lý miễn phí"]
    minors_only = BY_NAME["Tư vấn ban đêm"]
    assert adults_only not in ids(search(loaded, age=16)) and minors_only in ids(search(loaded, age=16))
    assert adults_only in ids(search(loaded, age=30)) and minors_only not in ids(search(loaded, age=30))
    assert BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"] not in ids(search(loaded, gender="male"))
    assert BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"] in ids(search(loaded, gender="female"))
    assert ids(search(loaded, has_capacity=True)) == [BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]]


@pytest.mark.parametrize("moment, open_names", [
    # Wednesday 09:00 in Hà Nội: office hours, 24/7 services
    (datetime(2026, 11, 25, 9, 0, tzinfo=HANOI),
     {"Tư vấn, tham vấn cho phụ nữ", "Trợ giúp pháp lý miễn phí", "Nhà tạm lánh cho phụ nữ và trẻ em",
      "Tiếp nhận tin báo bạo lực gia đình", "Đường dây nóng hỗ trợ phụ nữ"}),
    # Wednesday 12:00: the lunch break closes the offices
    (datetime(2026, 11, 25, 12, 0, tzinfo=HANOI),
     {"Nhà tạm lánh cho phụ nữ và trẻ em", "Tiếp nhận tin báo bạo lực gia đình", "Đường dây nóng hỗ trợ phụ nữ"}),
    # Saturday 03:00, after a Friday 22:00-06:00 shift: the overnight service is open
    (datetime(2026, 11, 28, 3, 0, tzinfo=HANOI),
     {"Tư vấn ban đêm", "Nhà tạm lánh cho phụ nữ và trẻ em", "Tiếp nhận tin báo bạo lực gia đình",
      "Đường dây nóng hỗ trợ phụ nữ"}),
    # The same Wednesday 09:00 expressed in UTC (02:00Z)
    (datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc),
     {"Tư vấn, tham vấn cho phụ nữ", "Trợ giúp pháp lý miễn phí", "Nhà tạm lánh cho phụ nữ và trẻ em",
      "Tiếp nhận tin báo bạo lực gia đình", "Đường dây nóng hỗ trợ phụ nữ"}),
    # Tuesday 1 December 09:00 is a closure day for the legal aid centre
    (datetime(2026, 12, 1, 9, 0, tzinfo=HANOI),
     {"Tư vấn, tham vấn cho phụ nữ", "Nhà tạm lánh cho phụ nữ và trẻ em",
      "Tiếp nhận tin báo bạo lực gia đình", "Đường dây nóng hỗ trợ phụ nữ"}),
])
def test_open_at_uses_the_providers_local_time(loaded, moment, open_names):
    # temporarily closed services are never "open", even when 24/7
    assert set(ids(search(loaded, open_at=moment))) == {BY_NAME[n] for n in open_names}


def test_open_at_agrees_with_the_domain_every_half_hour_of_a_week(loaded):
    start = datetime(2026, 11, 23, 0, 15, tzinfo=HANOI)  # a Monday
    for step in range(7 * 48):
        moment = start + timedelta(minutes=30 * step)
        expected = {l.service.id for l in LISTINGS
                    if is_open(l.service, moment, l.locations[0].timezone if l.locations else "Asia/Ho_Chi_Minh")}
        assert set(ids(search(loaded, open_at=moment))) == expected, moment


# --- geography ---------------------------------------------------------------------

def test_radius_filter_and_distance_sort(loaded):
    result = search(loaded, latitude=ORIGIN[0], longitude=ORIGIN[1], radius_km=5, sort="distance")
    names = [hit.listing.service.name for hit in result.hits]
    # three services share the office 50 m away; ties may come in any order
    assert set(names[:3]) == {"Tư vấn, tham vấn cho phụ nữ", "Tư vấn ban đêm", "Nhà tạm lánh đã đóng cửa tạm thời"}
    assert names[3] == "Nhà tạm lánh cho phụ nữ và trẻ em"  # 2.5 km
    assert "Tiếp nhận tin báo bạo lực gia đình" not in names  # 8.5 km
    assert "Trợ giúp pháp lý miễn phí" not in names
    distances = [hit.distance_km for hit in result.hits]
    assert distances == sorted(distances)
    assert all(d is not None and d <= 5 for d in distances)


def test_distance_sort_without_radius_puts_places_without_coordinates_last(loaded):
    result = search(loaded, latitude=ORIGIN[0], longitude=ORIGIN[1], sort="distance")
    assert result.hits[-1].listing.service.name == "Đường dây nóng hỗ trợ phụ nữ"
    assert result.hits[-1].distance_km is None
    assert result.hits[-2].listing.service.name == "Trợ giúp pháp lý miễn phí"


def test_confidential_distance_is_whole_kilometres_from_the_cell_centre_without_permission(loaded):
    def shelter_distance(viewer):
        result = search(loaded, viewer, latitude=ORIGIN[0], longitude=ORIGIN[1], radius_km=10)
        return next(h.distance_km for h in result.hits if h.listing.service.kind == "shelter")

    exact = shelter_distance(PRIVILEGED)
    assert exact == pytest.approx(distance_km(ORIGIN, (shelter_place.latitude, shelter_place.longitude)), abs=0.01)
    cell = public_position(shelter_place.latitude, shelter_place.longitude)
    assert shelter_distance(PUBLIC) == float(round(distance_km(ORIGIN, cell)))
    # the domain's policy, which every adapter must apply
    assert shelter_distance(PUBLIC) == visible_distance(ORIGIN, shelter_place, PUBLIC)
    assert exact == pytest.approx(visible_distance(ORIGIN, shelter_place, PRIVILEGED), abs=0.01)


def test_moving_the_origin_cannot_tell_apart_two_shelters_in_one_cell(index):
    """Bisecting a radius along rays from many origins locates where a distance flips; with
    distances from the cell centre, two shelters 1 km apart in one cell always look the
    same, so the flips reveal the cell at most."""
    from dataclasses import replace
    import random

    twins = []
    for n, point in ((31, (21.8711, 106.7611)), (32, (21.8789, 106.7689))):
        place = replace(shelter_place, id=f"10000000-0000-4000-8000-0000000000{n}", latitude=point[0],
                        longitude=point[1])
        twins.append(_listing(n, shelter_org, [place], f"Nhà tạm lánh {n}", "shelter", always_open=True))
    assert public_position(21.8711, 106.7611) == public_position(21.8789, 106.7689)
    index.upsert(twins)
    rng = random.Random(7)
    for _ in range(40):
        origin = (21.87 + rng.uniform(-0.2, 0.2), 106.77 + rng.uniform(-0.2, 0.2))
        radius = rng.uniform(0.5, 30)
        result = search(index, latitude=origin[0], longitude=origin[1], radius_km=radius, sort="distance")
        distances = {h.listing.service.name: h.distance_km for h in result.hits}
        assert len(set(distances.values())) <= 1, (origin, distances)  # never one in, one out
        assert [h.listing.service.name for h in result.hits] in ([], ["Nhà tạm lánh 31", "Nhà tạm lánh 32"])


# --- confidentiality ---------------------------------------------------------------

def test_confidential_location_is_redacted_without_permission(loaded):
    hit = next(h for h in search(loaded, kinds=("shelter",)).hits)
    place = hit.listing.locations[0]
    assert place.latitude is None and place.longitude is None
    assert place.address.address_1 == "" and place.commune_code is None and place.description == ""
    assert place.district_code == "183" and place.name == "Nhà tạm lánh Hoa Sen"
    assert "06184" not in hit.listing.area_names


def test_confidential_location_is_whole_with_permission(loaded):
    place = search(loaded, PRIVILEGED, kinds=("shelter",)).hits[0].listing.locations[0]
    assert (place.latitude, place.longitude) == (shelter_place.latitude, shelter_place.longitude)
    assert place.address.address_1 == "Số 7 ngõ Bí Mật"


@pytest.mark.parametrize("text", ["ngo Bi Mat", "cho Ky Lua", "Dong Dang"])
def test_hidden_address_words_are_not_searchable_without_permission(loaded, text):
    shelter = BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]
    assert shelter not in ids(search(loaded, text=text))
    assert shelter in ids(search(loaded, PRIVILEGED, text=text))


# Each adapter tells a viewer what domain.confidential's rule says of the confidential
# shelter, no more and no less: field by field of what it shows, by which of its texts and
# areas it is found, and where it is measured from.
SHELTER = LISTINGS[0]


@pytest.mark.parametrize("viewer", [PUBLIC, PRIVILEGED], ids=["public", "privileged"])
def test_a_confidential_location_is_shown_as_the_domain_rule_says(loaded, viewer):
    told = disclosure(viewer, shelter_place.confidential)
    (hit,) = search(loaded, viewer, kinds=("shelter",)).hits
    (shown,) = hit.listing.locations
    expected = told.location(shelter_place)
    for name in Location.__dataclass_fields__:
        assert getattr(shown, name) == getattr(expected, name), name
    hidden = set(shelter_place.area_codes) - set(told.areas(shelter_place))
    assert set(hit.listing.area_names) == set(SHELTER.area_names) - hidden


@pytest.mark.parametrize("viewer", [PUBLIC, PRIVILEGED], ids=["public", "privileged"])
def test_a_confidential_location_is_found_by_what_the_domain_rule_tells(loaded, viewer):
    told = disclosure(viewer, shelter_place.confidential)
    everything = WHOLE.texts(shelter_place, SHELTER.area_names)
    for name, text in everything.items():
        found = SHELTER.service.id in ids(search(loaded, viewer, kinds=("shelter",), text=text))
        assert found == (name in told.texts(shelter_place, SHELTER.area_names)), (name, text)
    for code in shelter_place.area_codes:
        found = SHELTER.service.id in ids(search(loaded, viewer, areas=(AreaFilter(code),)))
        assert found == (code in told.areas(shelter_place) or code in SHELTER.service.service_areas), code


@pytest.mark.parametrize("viewer", [PUBLIC, PRIVILEGED], ids=["public", "privileged"])
def test_a_confidential_location_is_measured_as_the_domain_rule_says(loaded, viewer):
    told = disclosure(viewer, shelter_place.confidential)
    expected = told.distance(distance_km(ORIGIN, told.position(shelter_place.latitude, shelter_place.longitude)))

    def shelter_within(radius):
        hits = search(loaded, viewer, kinds=("shelter",), latitude=ORIGIN[0], longitude=ORIGIN[1],
                      radius_km=radius).hits
        return [h.distance_km for h in hits]

    # the radius compares the distance shown (a thousandth off it: a radius of exactly a shown
    # value such as 2.55 is 254.999... hundredths in binary floating point)
    assert shelter_within(expected + 0.001) == [expected]
    assert shelter_within(expected - 0.009) == []


@pytest.mark.parametrize("origin", [ORIGIN, (69.65, 18.96)], ids=["Lang Son", "far north"])
def test_a_radius_keeps_every_place_within_it_whichever_way_it_lies(index, origin):
    """Places 20 m inside and 20 m outside the radius, all round the origin: each is found
    exactly when the distance shown is within it, whatever shortcut an index takes first
    (east and west of a place, a kilometre spans more degrees of longitude than of latitude)."""
    radius = 10
    listings = []
    for n, bearing in enumerate(range(0, 360, 30)):
        for k, km in enumerate((radius - 0.02, radius + 0.02)):
            number = 40 + 2 * n + k
            place = _loc(number, women_union, f"Điểm {number}", *destination(origin, km, bearing), "20", "178")
            listings.append(_listing(number, women_union, [place], f"Điểm {number}", "counselling"))
    index.upsert(listings)
    hits = search(index, latitude=origin[0], longitude=origin[1], radius_km=radius).hits
    expected = {x.service.name for x in listings if visible_distance(origin, x.locations[0], PUBLIC) <= radius}
    assert len(expected) == 12
    assert {h.listing.service.name for h in hits} == expected


def test_a_confidential_place_is_within_a_radius_where_each_viewer_is_told_it_is(index):
    """A shelter near its cell's corner lies 1.5 km from the cell's centre. The public,
    measured from the centre, finds it there within any radius; a caller who may see it
    finds it at its own position; and neither finds it where the other is told it is."""
    corner = _loc(31, shelter_org, "Nhà tạm lánh góc", 21.8799, 106.7799, "20", "183", confidential=True)
    index.upsert([_listing(31, shelter_org, [corner], "Nhà tạm lánh góc", "shelter", always_open=True)])
    centre, exact = public_position(corner.latitude, corner.longitude), (corner.latitude, corner.longitude)
    assert distance_km(centre, exact) > 1.4

    def within(viewer, origin):
        return [h.distance_km for h in search(index, viewer, latitude=origin[0], longitude=origin[1],
                                              radius_km=0.4).hits]

    assert within(PUBLIC, centre) == [visible_distance(centre, corner, PUBLIC)] == [0]
    assert within(PRIVILEGED, exact) == [visible_distance(exact, corner, PRIVILEGED)] == [0]
    assert within(PUBLIC, exact) == []
    assert within(PRIVILEGED, centre) == []


# --- counts, facets, paging --------------------------------------------------------

def test_facets_count_the_whole_result(loaded):
    result = search(loaded, per_page=2)
    assert result.total == 7 and len(result.hits) == 2
    assert result.facets["kind"] == {"counselling": 3, "shelter": 1, "police": 1, "legal_aid": 1, "hotline": 1}
    assert result.facets["district"]["183"] == 2  # shelter (district is public) and police
    assert result.facets["district"]["178"] == 3
    assert result.facets["language"]["tyz"] == 2


def test_facets_follow_the_filters(loaded):
    result = search(loaded, kinds=("counselling",))
    assert result.facets["kind"] == {"counselling": 3}
    assert result.facets["language"] == {"vi": 3, "tyz": 1, "nut": 1}


def test_pages_cover_everything_once(loaded):
    first = search(loaded, per_page=3, page=1)
    rest = [search(loaded, per_page=3, page=p) for p in (2, 3)]
    seen = ids(first) + [i for r in rest for i in ids(r)]
    assert len(seen) == len(set(seen)) == 7
    assert search(loaded, per_page=3, page=4).hits == []


def test_stale_records_are_flagged(loaded):
    stale = {h.listing.service.name for h in search(loaded).hits if h.stale}
    assert stale == {"Tư vấn, tham vấn cho phụ nữ"}


# --- writes ------------------------------------------------------------------------

def test_upsert_replaces_and_delete_removes(loaded):
    from dataclasses import replace
    listing = LISTINGS[2]
    renamed = replace(listing, service=replace(listing.service, name="Tiếp nhận tin báo 113"))
    loaded.upsert([renamed])
    assert ids(search(loaded, text="113")) == [listing.service.id]
    assert search(loaded).total == 7
    loaded.delete([listing.service.id])
    assert listing.service.id not in ids(search(loaded))
    assert listing.service.id not in loaded.service_ids()


def test_a_rebuild_never_mixes_up_records_cached_before_it(loaded, second_index):
    # warm what the second "worker" knows, then rebuild from elsewhere with fewer records
    before = {h.listing.service.id: h.listing.service.kind for h in search(second_index).hits}
    assert len(before) == 7
    loaded.rebuild([l for l in LISTINGS if l.service.kind != "shelter"])
    after = search(second_index).hits
    assert len(after) == 6 and len({h.listing.service.id for h in after}) == 6
    assert all(h.listing.service.kind == before[h.listing.service.id] for h in after)
    assert [h.listing.service.kind for h in search(second_index, kinds=("police",)).hits] == ["police"]


def test_rebuild_replaces_everything(loaded):
    assert loaded.rebuild(LISTINGS[:3]) == 3
    assert loaded.service_ids() == {l.service.id for l in LISTINGS[:3]}
    assert ids(search(loaded, text="tam lanh")) == [BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]]


def test_replacing_the_newest_listing_forgets_its_old_text(loaded):
    from dataclasses import replace
    newest = LISTINGS[-2]  # the last one that search shows
    renamed = replace(LISTINGS[-1], service=replace(LISTINGS[-1].service, name="Dịch vụ mới", status="active"))
    loaded.upsert([renamed])
    assert ids(search(loaded, text="dich vu moi")) == [renamed.service.id]
    assert ids(search(loaded, text="ngung hoat dong")) == []
    assert newest.service.id in ids(search(loaded))


def test_a_write_by_one_process_is_seen_by_another(loaded, second_index):
    from dataclasses import replace
    assert search(second_index).total == 7
    listing = LISTINGS[0]
    loaded.upsert([replace(listing, service=replace(listing.service, name="Nhà an toàn Bình Minh"))])
    assert ids(search(second_index, text="binh minh")) == [listing.service.id]
    loaded.delete([listing.service.id])
    assert search(second_index).total == 6
    # (other services may still match "binh minh" one typo away: `tinh`)
    assert listing.service.id not in ids(search(second_index, text="binh minh"))


def test_an_older_listing_never_replaces_a_newer_one(loaded):
    """Two writers race to the index (a capacity count and an edit): the newer wins."""
    from dataclasses import replace
    listing = LISTINGS[0]
    newer = replace(listing, service=replace(listing.service, capacity=Capacity(0, 10),
                                             updated_at=listing.service.updated_at + timedelta(seconds=5)))
    loaded.upsert([newer])
    loaded.upsert([listing])  # arrives late, reflects an older state
    assert search(loaded, has_capacity=True).total == 0


def test_matching_ids_lists_every_match_best_first(loaded):
    ids_found = loaded.matching_ids(SearchQuery(text="tu van"), PUBLIC, limit=100)
    assert set(ids_found) == set(ids(search(loaded, text="tu van")))
    assert loaded.matching_ids(SearchQuery(text="tu van"), PUBLIC, limit=1) == ids_found[:1]
    assert loaded.matching_ids(SearchQuery(text="ngo Bi Mat"), PUBLIC, limit=10) == []
    assert loaded.matching_ids(SearchQuery(text="ngo Bi Mat"), PRIVILEGED, limit=10) == [
        BY_NAME["Nhà tạm lánh cho phụ nữ và trẻ em"]]


def test_distance_order_follows_the_distances_shown_even_across_pages(index):
    """A confidential place 2.3-2.5 km away (from its cell's centre) is shown as 2 km, so it
    comes before a public place 2.2 km away: the order is the one the caller reads."""
    import math
    from dataclasses import replace

    def away(km):  # a point `km` due north of the origin
        return ORIGIN[0] + math.degrees(km / 6371.0088), ORIGIN[1]

    shelter_at = next(p for p in ((21.87 + i * 0.0011, 106.77) for i in range(100))
                      if 0.25 < distance_km(ORIGIN, public_position(*p)) % 1 < 0.45)
    shown = distance_km(ORIGIN, public_position(*shelter_at))
    shelter = replace(shelter_place, latitude=shelter_at[0], longitude=shelter_at[1])
    office = replace(city_office, id="10000000-0000-4000-8000-000000000077", confidential=False,
                     latitude=away(math.floor(shown) + 0.1)[0], longitude=away(0)[1])
    index.upsert([_listing(41, shelter_org, [shelter], "Nhà tạm lánh Mai", "shelter", always_open=True),
                  _listing(42, women_union, [office], "Văn phòng tư vấn", "counselling", always_open=True)])
    result = search(index, latitude=ORIGIN[0], longitude=ORIGIN[1], sort="distance")
    assert [h.listing.service.name for h in result.hits] == ["Nhà tạm lánh Mai", "Văn phòng tư vấn"]
    assert [h.distance_km for h in result.hits] == [float(math.floor(shown)), round(math.floor(shown) + 0.1, 2)]
    pages = [search(index, latitude=ORIGIN[0], longitude=ORIGIN[1], sort="distance", per_page=1, page=p)
             for p in (1, 2)]
    assert [ids(p) for p in pages] == [["20000000-0000-4000-8000-000000000041"],
                                       ["20000000-0000-4000-8000-000000000042"]]
    exact = search(index, PRIVILEGED, latitude=ORIGIN[0], longitude=ORIGIN[1], sort="distance")
    assert [h.distance_km for h in exact.hits] == sorted(h.distance_km for h in exact.hits)


# --- autocomplete ------------------------------------------------------------------

def suggested(index, text, viewer=PUBLIC, limit=10):
    return [s.text for s in index.suggest(text, viewer, limit)]


def test_suggestions_complete_names_with_or_without_diacritics(loaded):
    for typed in ("nha tam", "Nhà tạm l", "NHA TAM LANH C"):
        assert suggested(loaded, typed)[:2] == ["Nhà tạm lánh cho phụ nữ và trẻ em",
                                                "Nhà tạm lánh đã đóng cửa tạm thời"], typed
    # every word anywhere in a name counts too, after the names that start with them
    assert suggested(loaded, "nha tam")[2:] == ["Trung tâm Trợ giúp pháp lý Nhà nước thành phố Hà Nội"]
    assert suggested(loaded, "nha tam", limit=1) == ["Nhà tạm lánh cho phụ nữ và trẻ em"]


def test_suggestions_include_organizations_and_put_names_starting_with_the_words_first(loaded):
    assert suggested(loaded, "lang so") == ["Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn", "Trung tâm Công tác xã hội tỉnh Lạng Sơn"]
    found = suggested(loaded, "tu va")
    assert found[:2] == ["Tư vấn ban đêm", "Tư vấn, tham vấn cho phụ nữ"]


def test_suggestions_mark_the_typed_words(loaded):
    (first,) = loaded.suggest("tro giup pha", PUBLIC, 1)
    assert first.text == "Trợ giúp pháp lý miễn phí"
    assert first.highlight == "<mark>Trợ</mark> <mark>giúp</mark> <mark>pháp</mark> lý miễn phí"


def test_suggestions_never_offer_inactive_services_nor_hidden_places(loaded):
    assert suggested(loaded, "dich vu") == []  # "Dịch vụ ngừng hoạt động" is inactive
    assert suggested(loaded, "ngo bi") == [] and suggested(loaded, "ngo bi", PRIVILEGED) == []
    assert suggested(loaded, "xyzzy") == [] and suggested(loaded, "  ") == []


# --- rebuilding while searching ------------------------------------------------------

def test_searches_during_a_rebuild_never_fail_nor_come_back_empty(loaded):
    import threading
    from dataclasses import replace

    many = [replace(l, service=replace(l.service, id=f"30000000-0000-4000-8000-{n:012d}"))
            for n in range(1500) for l in [LISTINGS[n % 7]]]
    outcomes, stop = [], threading.Event()

    def keep_searching():
        while not stop.is_set():
            try:
                outcomes.append(search(loaded, text="tu van", per_page=5).total)
            except Exception as exc:  # reported below, with the others
                outcomes.append(exc)

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        assert loaded.rebuild(LISTINGS + many) == len(LISTINGS) + 1500
    finally:
        stop.set()
        searcher.join()
    assert outcomes and all(isinstance(n, int) and n >= 2 for n in outcomes), outcomes[:5]
    assert search(loaded, text="tu van").total == 2 + sum(1 for n in range(1500) if n % 7 in (1, 5))


# --- decomposed Unicode (NFD), as some phones send it ----------------------------------

def _nfd(text):
    import unicodedata
    return unicodedata.normalize("NFD", text)


SONG_BANG = "Nhà tạm lánh Sông Bằng"


@pytest.fixture
def song_bang(index):
    """A service whose names were entered decomposed (NFD), next to the usual listings."""
    organization = Organization(id="00000000-0000-4000-8000-000000000051", name=_nfd("Hội Phụ nữ huyện Bảo Lạc"))
    listing = _listing(51, organization, [], _nfd(SONG_BANG), "counselling", always_open=True,
                       description=_nfd("Chỗ ở an toàn bên sông"))
    index.upsert(LISTINGS + [listing])
    return index, listing.service.id


@pytest.mark.parametrize("text", ["song bang", "Sông Bằng", _nfd("Sông Bằng"), _nfd("nhà tạm lánh sông bằng")])
def test_a_name_entered_decomposed_is_found_by_any_spelling(song_bang, text):
    index, service_id = song_bang
    assert ids(search(index, text=text)) == [service_id]


@pytest.mark.parametrize("text", ["Nhà tạm lánh", "NHÀ TẠM LÁNH", "nhà tạm lá", "Bảo Lạc"])
def test_a_decomposed_query_finds_what_the_composed_one_finds(song_bang, text):
    index, service_id = song_bang
    found = ids(search(index, text=_nfd(text)))
    assert service_id in found
    assert found == ids(search(index, text=text))


def test_a_decomposed_query_highlights_the_words_it_matched(song_bang):
    index, service_id = song_bang
    (hit,) = search(index, text=_nfd("sông bằng")).hits
    assert hit.listing.service.name == SONG_BANG  # shown composed (NFC), as entered elsewhere
    assert hit.highlights["service.name"] == "Nhà tạm lánh <mark>Sông</mark> <mark>Bằng</mark>"


@pytest.mark.parametrize("typed", ["song b", _nfd("Sông B"), _nfd("nhà tạm lánh sô")])
def test_suggest_completes_a_decomposed_name_and_a_decomposed_query(song_bang, typed):
    index, _ = song_bang
    assert suggested(index, typed)[0] == SONG_BANG
    assert suggested(index, _nfd("hội phụ nữ huyện b")) == ["Hội Phụ nữ huyện Bảo Lạc"]


# --- sorting by name, with text ------------------------------------------------------

def test_sort_by_name_with_text_orders_by_name_not_by_score(loaded):
    # "phu nu" is in three services' names, but only in the organization or the place of
    # two others: by relevance those come last, by name they come in between.
    expected = ["Đường dây nóng hỗ trợ phụ nữ", "Nhà tạm lánh cho phụ nữ và trẻ em",
                "Nhà tạm lánh đã đóng cửa tạm thời", "Tư vấn ban đêm", "Tư vấn, tham vấn cho phụ nữ"]
    result = search(loaded, text="phu nu", sort="name")
    assert [h.listing.service.name for h in result.hits] == expected
    pages = [search(loaded, text="phu nu", sort="name", per_page=2, page=p) for p in (1, 2, 3)]
    assert [h.listing.service.name for p in pages for h in p.hits] == expected


# --- autocomplete ranking with many candidates --------------------------------------

@pytest.fixture
def crowded(index):
    """Sixty services whose names merely contain a word starting with `t` (and sort before
    `t`), two whose names start with it, and sixty services of one organization."""
    organization = Organization(id="00000000-0000-4000-8000-000000000061", name="Hội Phụ nữ xã Đông Khê")
    many = [_listing(0, organization, [], f"Hỗ trợ khẩn cấp {n:02d}", "counselling", always_open=True)
            for n in range(60)]
    many = [replace(l, service=replace(l.service, id=f"40000000-0000-4000-8000-{n:012d}")) for n, l in enumerate(many)]
    few = [_listing(62, organization, [], "Tư vấn qua điện thoại", "hotline", always_open=True),
           _listing(63, organization, [], "Tạm lánh khẩn cấp", "counselling", always_open=True)]
    index.upsert(many + few)
    return index


def test_suggest_puts_names_starting_with_a_short_prefix_first_among_many_candidates(crowded):
    assert suggested(crowded, "t") == ["Tạm lánh khẩn cấp", "Tư vấn qua điện thoại"] + [
        f"Hỗ trợ khẩn cấp {n:02d}" for n in range(8)]
    assert suggested(crowded, "t", limit=1) == ["Tạm lánh khẩn cấp"]
    assert suggested(crowded, "ta") == ["Tạm lánh khẩn cấp"]
    assert suggested(crowded, "ho t", limit=3) == ["Hỗ trợ khẩn cấp 00", "Hỗ trợ khẩn cấp 01", "Hỗ trợ khẩn cấp 02"]


def test_suggest_offers_a_name_shared_by_many_services_once(crowded):
    assert suggested(crowded, "hoi") == ["Hội Phụ nữ xã Đông Khê"]
    assert suggested(crowded, "dong k") == ["Hội Phụ nữ xã Đông Khê"]


def test_suggest_follows_renames_and_removals(crowded):
    assert suggested(crowded, "t", limit=2) == ["Tạm lánh khẩn cấp", "Tư vấn qua điện thoại"]  # read once
    (old,) = [h.listing for h in search(crowded, text="ho tro khan cap 05").hits]
    crowded.upsert([replace(old, service=replace(old.service, name="Tìm chỗ ở gấp",
                                                 updated_at=old.service.updated_at + timedelta(seconds=1)))])
    assert suggested(crowded, "t", limit=3) == ["Tạm lánh khẩn cấp", "Tìm chỗ ở gấp", "Tư vấn qua điện thoại"]
    assert "Hỗ trợ khẩn cấp 05" not in suggested(crowded, "ho tro khan cap 0")
    crowded.delete(["20000000-0000-4000-8000-000000000063"])  # Tạm lánh khẩn cấp
    assert suggested(crowded, "t", limit=2) == ["Tìm chỗ ở gấp", "Tư vấn qua điện thoại"]
