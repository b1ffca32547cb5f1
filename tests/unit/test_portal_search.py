"""The search page's pure helpers: open now and the next opening in Vietnam time, the
filters a query string carries and the directory query they become, highlights rendered
safely, and distance and opening times in both languages."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode

import pytest
from flask_babel import force_locale
from markupsafe import Markup

from services.portal.domain.errors import ServiceDown
from services.portal.domain.opening_hours import Schedule, week
from services.portal.entrypoints import i18n
from services.portal.entrypoints.search import highlighted, near_options, opening_words, search_url, service_url, tel
from services.portal.service_layer.ports import Reply
from services.portal.service_layer.searching import (PER_PAGE, AreaTree, Searching, SearchFilters, directory_query, excerpt,
                                                     link_args, marked_parts, read_filters)

OFFICE = {"status": "active", "hours": [{"byday": ["MO", "TU", "WE", "TH", "FR"], "opens_at": "07:30",
                                         "closes_at": "11:30"},
                                        {"byday": ["MO", "TU", "WE", "TH", "FR"], "opens_at": "13:30",
                                         "closes_at": "17:00"}]}
NIGHT = {"status": "active", "hours": [{"byday": ["SA"], "opens_at": "22:00", "closes_at": "06:00"}]}


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def local_clock(moment: datetime | None) -> str:
    assert moment is not None
    return moment.strftime("%a %H:%M")


# --- open now and the next opening, in Vietnam time ------------------------------------

def test_an_office_is_open_in_its_morning_hours_vietnam_time():
    state = Schedule.of(OFFICE).state_at(utc(2026, 12, 2, 3, 0))  # Wednesday 10:00 in Hà Nội
    assert state.open and local_clock(state.closes_at) == "Wed 11:30"


def test_at_lunch_it_is_closed_and_opens_again_at_half_past_one():
    state = Schedule.of(OFFICE).state_at(utc(2026, 12, 2, 5, 0))  # 12:00 in Hà Nội
    assert not state.open and local_clock(state.next_opens_at) == "Wed 13:30"


def test_the_day_is_the_vietnamese_day_not_the_servers():
    # 23:30 UTC on Wednesday is 06:30 on Thursday in Hà Nội: it opens in an hour, "today".
    state = Schedule.of(OFFICE).state_at(utc(2026, 12, 2, 23, 30))
    assert not state.open and local_clock(state.next_opens_at) == "Thu 07:30"


def test_after_friday_afternoon_it_next_opens_on_monday_morning():
    state = Schedule.of(OFFICE).state_at(utc(2026, 12, 4, 10, 30))  # Friday 17:30
    assert local_clock(state.next_opens_at) == "Mon 07:30"


def test_hours_past_midnight_run_into_the_next_day():
    state = Schedule.of(NIGHT).state_at(utc(2026, 12, 5, 19, 0))  # Sunday 02:00 in Hà Nội
    assert state.open and local_clock(state.closes_at) == "Sun 06:00"


def test_a_closed_day_is_skipped():
    closed = {**OFFICE, "closed_on": ["2026-12-03"]}  # Thursday
    state = Schedule.of(closed).state_at(utc(2026, 12, 2, 12, 0))  # Wednesday 19:00
    assert local_clock(state.next_opens_at) == "Fri 07:30"


def test_round_the_clock_is_always_open_until_a_closed_day_comes():
    assert Schedule.of({"always_open": True}).state_at(utc(2026, 12, 2, 3, 0)).always
    holiday = Schedule.of({"always_open": True, "closed_on": ["2026-12-03"]}).state_at(utc(2026, 12, 2, 3, 0))
    assert holiday.open and not holiday.always and holiday.closes_at.strftime("%d %H:%M") == "03 00:00"


def test_a_service_not_taking_referrals_is_not_open():
    state = Schedule.of({**OFFICE, "status": "temporarily_closed"}).state_at(utc(2026, 12, 2, 3, 0))
    assert not state.open and not state.taking_referrals


def test_the_week_lists_each_day_with_its_hours_and_closed_days_empty():
    table = dict(week(OFFICE))
    assert table["MO"] == [("07:30", "11:30"), ("13:30", "17:00")]
    assert table["SU"] == []


# --- filters, the query string and the directory query ---------------------------------

def args(**values) -> dict[str, list[str]]:
    return {name: value if isinstance(value, list) else [value] for name, value in values.items()}


def test_the_query_text_reaches_the_directory_untouched():
    filters, problems = read_filters(args(q="nha tam lanh"))
    assert not problems
    assert directory_query(filters, None)["q"] == "nha tam lanh"  # the directory folds diacritics itself


def test_filters_become_the_directory_query():
    tree = AreaTree.of([{"code": "01", "name": "Hà Nội", "level": "province"},
                        {"code": "001", "name": "Ba Đình", "level": "district", "parent_code": "01"},
                        {"code": "00016", "name": "Ngọc Hà", "level": "commune", "parent_code": "001"}])
    filters, problems = read_filters(args(kind=["shelter", "health"], province="01", area="00016", lat="21.03",
                                          lon="105.85", radius="2,5", sort="distance", open="now", free="1",
                                          language="tyz", age="17", gender="female", page="2"))
    assert not problems
    assert directory_query(filters, tree) == {
        "page": 2, "per_page": PER_PAGE, "kind": ["shelter", "health"], "province": "01", "commune": "00016",
        "lat": 21.03, "lon": 105.85, "radius_km": 2.5, "sort": "distance", "open_now": "true",
        "has_capacity": "true", "language": ["tyz"], "age": 17, "gender": "female"}
    district, _ = read_filters(args(province="01", area="001"))
    assert directory_query(district, tree)["district"] == "001"


def test_open_at_a_time_is_sent_as_vietnam_time_without_an_offset():
    filters, problems = read_filters(args(open="at", at="2026-12-24T18:30"))
    assert not problems and directory_query(filters, None)["open_at"] == "2026-12-24T18:30:00"


def test_bad_input_is_named_per_field_and_left_out_of_the_search():
    filters, problems = read_filters(args(radius="abc", age="old", gender="robot", open="at", at="tomorrow"))
    assert problems == {"radius": "not_a_number", "age": "bad_age", "gender": "unknown_gender", "at": "bad_time"}
    assert filters.radius == "abc"  # shown back as typed
    query = directory_query(filters, None)
    assert not {"radius_km", "age", "gender", "open_at"} & set(query)


def test_a_radius_needs_a_location():
    assert read_filters(args(radius="10"))[1] == {"radius": "radius_needs_location"}
    assert read_filters(args(radius="5000", lat="21", lon="105"))[1] == {"radius": "radius_out_of_range"}


def test_a_re_referral_id_must_be_a_referral_id():
    assert read_filters(args(re_refer="not-an-id"))[0].re_refer == ""
    rid = "6f1c2a3e-0000-4000-8000-000000000001"
    assert read_filters(args(re_refer=rid))[0].re_refer == rid


def test_every_filter_survives_the_trip_through_a_shared_link():
    filters, _ = read_filters(args(q="tạm lánh", kind=["shelter"], province="01", area="001", lat="21.03",
                                   lon="105.85", radius="10", open="at", at="2026-12-24T18:30", free="1",
                                   language="vi", age="30", gender="female", page="3",
                                   re_refer="6f1c2a3e-0000-4000-8000-000000000001"))
    again, problems = read_filters(parse_qs(urlencode(link_args(filters))))
    assert not problems and again == filters


def test_a_first_visit_has_searched_nothing():
    assert not SearchFilters().searched
    assert read_filters(args(free="1"))[0].searched


# --- highlights --------------------------------------------------------------------------

def test_a_highlight_is_rendered_from_escaped_pieces_only():
    parts = marked_parts("<mark>Nh&agrave;</mark> t&#7841;m &lt;b&gt;bold&lt;/b&gt;")
    assert parts == [("Nhà", True), (" tạm <b>bold</b>", False)]
    assert highlighted(parts) == Markup("<mark>Nhà</mark> tạm &lt;b&gt;bold&lt;/b&gt;")


def test_html_the_api_did_not_escape_is_escaped_anyway():
    rendered = str(highlighted(marked_parts('<img src=x onerror="alert(1)"><mark>x</mark><script>bad()</script>')))
    assert "<img" not in rendered and "<script" not in rendered
    assert "&lt;script&gt;" in rendered and "<mark>x</mark>" in rendered


def test_a_long_description_is_cut_around_its_first_match():
    parts = [("a" * 300 + " ", False), ("tạm", True), (" " + "b" * 300, False)]
    shown = excerpt(parts, width=100)
    assert shown[0] == ("…", False) and shown[-1] == ("…", False) and ("tạm", True) in shown
    assert sum(len(t) for t, _ in shown) <= 102


def test_a_phone_link_keeps_digits_and_plus_only():
    assert tel("+84 852 575 370 (24/7)") == "+84852575370247"
    assert tel("0852.575.370") == "0852575370"


# --- words in both languages -----------------------------------------------------------

def test_opening_words_in_english_and_vietnamese(app):
    wednesday_ten = utc(2026, 12, 2, 3, 0)
    office = Schedule.of(OFFICE)
    with force_locale("en"):
        assert opening_words(office.state_at(wednesday_ten), wednesday_ten) == ("Open now", "Open until 11:30", "ok")
        lunch = utc(2026, 12, 2, 5, 0)
        assert opening_words(office.state_at(lunch), lunch)[1] == "Opens today at 13:30"
        friday = utc(2026, 12, 4, 10, 30)
        assert opening_words(office.state_at(friday), friday) == ("Closed now", "Opens Monday at 07:30", "warn")
        assert opening_words(Schedule.of({"always_open": True}).state_at(friday), friday)[0] == "Open 24 hours"
        closed = Schedule.of({**OFFICE, "status": "temporarily_closed"}).state_at(friday)
        assert opening_words(closed, friday, "temporarily_closed")[0] == "Temporarily closed"
    with force_locale("vi"):
        assert opening_words(office.state_at(wednesday_ten), wednesday_ten)[:2] == ("Đang mở cửa", "Mở đến 11:30")
        evening = utc(2026, 12, 2, 12, 0)  # 19:00
        assert opening_words(office.state_at(evening), evening)[1] == "Mở cửa lúc 07:30 ngày mai"
        friday = utc(2026, 12, 4, 10, 30)
        assert opening_words(office.state_at(friday), friday)[1] == "Mở cửa lúc 07:30 Thứ Hai"


def test_distances_read_in_both_languages(app):
    with force_locale("en"):
        assert i18n.distance(3.0) == "3 km"
        assert i18n.distance(0.25) == "250 m"
        assert i18n.distance(0.0) == "less than 1 km"  # a confidential shelter's whole km, never "0 m"
    with force_locale("vi"):
        assert i18n.distance(12.34) == "12,3 km"
        assert i18n.distance(0.0) == "dưới 1 km"


# --- the use case, with a fake directory -------------------------------------------------

class FakeDirectory:
    service = "directory"

    def __init__(self, down: bool = False):
        self.asked: list[tuple[str, dict | None]] = []
        self.down = down

    def get(self, path, token, params=None):
        self.asked.append((path, params))
        if self.down:
            raise ServiceDown("directory")
        if path == "/v1/kinds":
            return Reply([{"code": "shelter", "name_vi": "Nhà tạm lánh", "name_en": "Shelter"}])
        if path == "/v1/areas":
            return Reply([{"code": "01", "name": "Hà Nội", "level": "province"}])
        if path == "/v1/search":
            return Reply({"total": 1, "items": [{"service": {"id": "s1", "name": "Nhà tạm lánh", "kind": "shelter",
                                                             "always_open": True, "capacity": {"available": 3,
                                                                                               "maximum": 9}},
                                                 "organization": {"name": "Hội"},
                                                 "locations": [{"confidential": True, "district_code": "001",
                                                                "address": {}}],
                                                 "area_names": {"001": "Ba Đình"}, "distance_km": 3.0}],
                          "facets": {"kind": {"shelter": 1}}})
        raise AssertionError(path)

    def send(self, *a, **k):
        raise AssertionError("search sends nothing")


def test_a_bogus_kind_is_refused_before_the_directory_is_asked():
    directory = FakeDirectory()
    filters, problems = read_filters(args(kind="bogus", q="x"))
    page = Searching(directory).search(filters, problems, "token", utc(2026, 12, 2, 3, 0))
    assert page.problems == {"kind": "unknown_kind"} and not page.results
    assert "/v1/search" not in [path for path, _ in directory.asked]


def test_a_confidential_shelter_shows_its_district_and_no_street():
    page = Searching(FakeDirectory()).search(read_filters(args(q="nha"))[0], {}, "token", utc(2026, 12, 2, 3, 0))
    (result,) = page.results
    assert result.confidential and result.places[0].areas == ["Ba Đình"] and result.places[0].street == ""
    assert not result.places[0].disclosed and result.opening.always and result.free_places == 3
    assert page.facets["kind"][0].args == [("q", "nha"), ("kind", "shelter")]


def test_kinds_and_areas_are_asked_once_and_kept_while_the_directory_is_down():
    directory = FakeDirectory()
    searching = Searching(directory, clock=lambda: 0.0, reference_seconds=300)
    searching.kinds(), searching.kinds(), searching.areas()
    assert [p for p, _ in directory.asked] == ["/v1/kinds", "/v1/areas"]
    searching.clock = lambda: 1000.0
    directory.down = True
    assert searching.kinds()[0]["code"] == "shelter"  # the list it had
    with pytest.raises(ServiceDown):
        Searching(FakeDirectory(down=True)).kinds()


# --- near a commune: searched around its centre -------------------------------------------

HANOI = [{"code": "01", "name": "Thành phố Hà Nội", "level": "province", "centre": None},
         {"code": "001", "name": "Quận Ba Đình", "level": "district", "parent_code": "01",
          "centre": {"latitude": 21.034, "longitude": 105.826}},
         {"code": "00016", "name": "Phường Ngọc Hà", "level": "commune", "parent_code": "001",
          "centre": {"latitude": 21.0375, "longitude": 105.828}},
         {"code": "00028", "name": "Phường Kim Mã", "level": "commune", "parent_code": "001", "centre": None},
         {"code": "20", "name": "Tỉnh Lạng Sơn", "level": "province"},
         {"code": "06184", "name": "Thị trấn Đồng Đăng", "level": "commune", "parent_code": "20",
          "centre": {"latitude": 21.94, "longitude": 106.70}}]


class DirectoryWithCentres(FakeDirectory):
    def get(self, path, token, params=None):
        if path == "/v1/areas" and not self.down:
            self.asked.append((path, params))
            return Reply(HANOI)
        return super().get(path, token, params)


def near(**values):
    directory = DirectoryWithCentres()
    filters, problems = read_filters(args(**values))
    page = Searching(directory).search(filters, problems, "token", utc(2026, 12, 2, 3, 0))
    searched = [params for path, params in directory.asked if path == "/v1/search"]
    return page, (searched[0] if searched else None)


def test_near_a_commune_searches_around_its_centre_nearest_first():
    page, query = near(near_area="00016", radius="10")
    assert not page.problems
    assert (query["lat"], query["lon"], query["radius_km"], query["sort"]) == (21.0375, 105.828, 10.0, "distance")
    assert page.filters.near_name == "Phường Ngọc Hà"


def test_a_chosen_commune_wins_over_a_location_left_in_the_form():
    page, query = near(near_area="001", lat="10.77", lon="106.70", radius="5")
    assert (query["lat"], query["lon"]) == (21.034, 105.826)
    assert ("lat", "10.77000") not in link_args(page.filters)


def test_she_may_still_order_a_search_near_a_commune_by_name():
    assert near(near_area="00016", sort="name")[1]["sort"] == "name"
    assert "sort" not in near(near_area="00016", sort="relevance")[1]  # best match, as she chose


@pytest.mark.parametrize("code", ["99999", "00028", "01", "<script>"])
def test_a_place_that_cannot_be_searched_around_is_named_beside_its_field(code):
    page, query = near(near_area=code, radius="10")  # unknown, no centre, a province, not a code at all
    assert page.problems == {"near_area": "unknown_place"} and query is None
    assert len(page.filters.near_area) <= 20


def test_the_link_carries_the_communes_code_not_coordinates():
    page, _ = near(q="tam lanh", near_area="00016", radius="10")
    pairs = link_args(page.filters)
    assert ("near_area", "00016") in pairs and not {"lat", "lon"} & {name for name, _ in pairs}
    again, problems = read_filters(parse_qs(urlencode(pairs)))
    assert not problems and again.near_area == "00016" and again.radius_km == 10.0


def test_the_places_to_search_near_are_those_with_a_centre_by_province():
    places = [(province.name, options) for province, options in AreaTree.of(HANOI).places()]
    assert places == [("Thành phố Hà Nội", [("001", "Quận Ba Đình"), ("00016", "Phường Ngọc Hà, Quận Ba Đình")]),
                      ("Tỉnh Lạng Sơn", [("06184", "Thị trấn Đồng Đăng")])]


def test_the_near_list_offers_every_place_by_province_with_hers_chosen(app):
    tree = AreaTree.of(HANOI + [{"code": "06185", "name": "Xã <b>&", "level": "commune", "parent_code": "20",
                                 "centre": {"latitude": 21.9, "longitude": 106.7}}])
    options = near_options(tree, "00016", "No commune chosen")
    assert isinstance(options, Markup)
    assert options.count("<option") == 5 and options.count('<optgroup label="') == 2
    assert '<option value="00016" selected>Phường Ngọc Hà, Quận Ba Đình</option>' in options
    assert options.count(" selected") == 1
    assert "Xã &lt;b&gt;&amp;" in options and "<b>" not in options  # names are escaped
    # Written once per list and language: the next page with another choice marks only that one.
    assert near_options(tree, "001", "No commune chosen").count(" selected") == 1
    assert '<option value="001" selected>' in near_options(tree, "001", "No commune chosen")
    assert " selected" not in near_options(tree, "", "No commune chosen")
    assert " selected" not in near_options(tree, "99999", "No commune chosen")  # not in the list: nothing chosen
    assert near_options(tree, "", "Chưa chọn xã").startswith('<option value="">Chưa chọn xã</option>')


@pytest.fixture
def search_pages(app):
    """An app with only the search pages' routes, for the links they write."""
    from flask import Flask

    from services.portal.entrypoints.search import blueprint

    pages = Flask(__name__)
    pages.register_blueprint(blueprint)
    return pages


def test_a_result_links_to_its_service_page_carrying_a_re_referral_on(search_pages):
    service = "5b0c3f4e-8d2a-4c59-9c1e-2f7a6b1d0e11"
    referral = "0f8a2b1c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
    with search_pages.test_request_context("/search"):
        assert service_url(service) == f"/services/{service}"
        assert service_url(service, referral) == f"/services/{service}?re_refer={referral}"
        assert service_url("a/b?c") == "/services/a%2Fb%3Fc"  # an id is never read as a path or a query


def test_a_search_link_carries_every_value_as_typed(search_pages):
    from urllib.parse import parse_qsl, urlencode, urlsplit

    typed = [("q", "nhà tạm lánh & tư vấn = 100% + 24/7"), ("kind", "shelter"), ("kind", "hotline"),
             ("lat", "21.02850"), ("page", 2), ("q", "tạm lánh")]
    with search_pages.test_request_context("/search"):
        assert search_url([]) == "/search"
        for pairs in (typed, typed[1:3], [("re_refer", "a/b?c=d#e")]):
            link = search_url(pairs)
            assert link == "/search?" + urlencode(pairs)  # the same text a second time, quoted the same
            assert parse_qsl(urlsplit(link).query) == [(name, str(value)) for name, value in pairs]


@pytest.mark.parametrize("centre", [{"latitude": 95, "longitude": 105}, {"latitude": "21", "longitude": 105},
                                    {"latitude": 21}, [21, 105], {"latitude": True, "longitude": 105}])
def test_a_centre_the_directory_sent_wrong_is_no_centre(centre):
    tree = AreaTree.of([{"code": "001", "name": "Quận Ba Đình", "level": "district", "centre": centre}])
    assert tree.by_code["001"].centre is None


def test_without_a_place_the_order_is_best_match_and_a_distance_order_is_dropped():
    filters, problems = read_filters(args(q="x", sort="distance"))
    assert not problems and "sort" not in directory_query(filters, None)
    near_me, _ = read_filters(args(lat="21.03", lon="105.85"))
    assert directory_query(near_me, None)["sort"] == "distance"  # near a place: nearest first
