"""The caseworker's search and service pages against a real Haven: without JavaScript
(PortalClient) for what a form and a link do, with Chromium for the autocomplete, the
accessibility scan and the screenshots."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.portal.service_layer.searching import PER_PAGE
from tests.support.browser import check_page, sign_in
from tests.support.network import free_port
from tests.support.portal_client import PortalClient, text_of

SEARCH = "/search?q=nha+tam+lanh"


@pytest.fixture(scope="module")
def caseworker(haven) -> PortalClient:
    return PortalClient(haven.url("portal")).sign_in("demo-caseworker")


def found_count(page) -> int:
    match = re.search(r"Tìm thấy ([\d.]+) dịch vụ", text_of(page))
    assert match, f"no result count on the page: {text_of(page)[:400]}"
    return int(match.group(1).replace(".", ""))


def service_links(page) -> list[str]:
    return re.findall(r'href="(/services/[0-9a-f-]{36})[^"]*"', page.text)


def directory_token(haven, username: str) -> str:
    answer = requests.post(haven.url("referral") + "/v1/auth/login",
                           json={"username": username, "password": "haven-demo"}, timeout=10)
    answer.raise_for_status()
    return answer.json()["access_token"]


def test_search_without_diacritics_finds_the_shelter(caseworker):
    page = caseworker.get(SEARCH)
    assert page.status_code == 200
    words = text_of(page)
    assert "Nhà tạm lánh" in words
    assert found_count(page) > 0
    assert 'value="nha tam lanh"' in page.text  # the box keeps what she typed, as typed
    assert re.search(r'<mark>Nhà</mark> <mark>tạm</mark> <mark>lánh</mark>', page.text)  # the matches are marked
    assert re.search(r'href="tel:\d+"', page.text)  # phones can be called with one tap


def test_filters_narrow_the_results_and_live_in_the_address(caseworker):
    everything = found_count(caseworker.get(SEARCH))
    narrowed = caseworker.get(SEARCH + "&kind=shelter&free=1&province=01")
    assert narrowed.status_code == 200
    assert 0 < found_count(narrowed) < everything
    words = text_of(narrowed)
    assert "Hà Nội" in words and "Còn" in words  # free places, in words
    assert re.search(r'<option value="shelter" selected>', narrowed.text)
    assert re.search(r'<input type="checkbox" name="free" value="1" checked>', narrowed.text)
    # The province's districts and communes are offered now (no JavaScript needed).
    assert 'name="area"' in narrowed.text and "Quận Hoàn Kiếm" in narrowed.text
    # Every link that changes the search (a facet, a page) keeps the other filters.
    facet = re.search(r'href="(/search\?[^"]*area=[^"]+)"', narrowed.text)
    assert facet, "no district facet"
    kept = parse_qs(urlsplit(html.unescape(facet.group(1))).query)
    assert kept["q"] == ["nha tam lanh"] and kept["kind"] == ["shelter"] and kept["free"] == ["1"]
    district = caseworker.get(html.unescape(facet.group(1)))
    assert 0 < found_count(district) <= found_count(narrowed)


def test_the_next_page_link_carries_the_search(caseworker):
    first = caseworker.get(SEARCH)
    pager = re.search(r'<a class="button" rel="next" href="([^"]+)"', first.text)
    assert pager, "more than one page of results, but no link to the next"
    second = caseworker.get(html.unescape(pager.group(1)))
    assert "trang 2/" in text_of(second)
    assert set(service_links(second)).isdisjoint(service_links(first))


def test_the_service_page_shows_each_days_hours_and_the_refer_link(caseworker):
    results = caseworker.get("/search?q=tro+giup+phap+ly&kind=legal_aid")
    link = service_links(results)[0]
    page = caseworker.get(link)
    assert page.status_code == 200
    words = text_of(page)
    assert "Thứ Hai 07:30 đến 11:30, 13:30 đến 17:00" in words
    assert "Chủ Nhật Đóng cửa" in words
    assert f'href="{link}/refer"' in page.text
    assert "Chuyển gửi" in words


def test_a_re_referral_keeps_its_referral_and_refers_through_the_re_refer_page(caseworker):
    referral = "6f1c2a3e-0000-4000-8000-000000000001"
    results = caseworker.get(f"{SEARCH}&re_refer={referral}")
    assert "Chọn một dịch vụ khác" in text_of(results)
    match = re.search(r'href="(/services/([0-9a-f-]{36})\?re_refer=' + referral + ')"', results.text)
    assert match, "result links lost the re-referral"
    page = caseworker.get(match.group(1))
    assert f'href="/referrals/{referral}/re-refer?service_id={match.group(2)}"' in html.unescape(page.text)


def test_a_confidential_shelter_shows_its_district_but_no_street(haven, caseworker):
    token = directory_token(haven, "demo-supervisor")  # may see confidential addresses
    hits = requests.get(haven.url("directory") + "/v1/search", params={"q": "nha tam lanh", "kind": "shelter"},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["items"]
    hit = next(h for h in hits if h["locations"] and h["locations"][0]["address"]["address_1"])
    street = hit["locations"][0]["address"]["address_1"]
    page = caseworker.get(f"/services/{hit['service']['id']}")
    words = text_of(page)
    assert street not in words
    assert "Địa chỉ được giữ bí mật" in words and "Liên hệ được sắp xếp qua điện thoại." in words
    assert any(name in words for name in hit["area_names"].values())  # where it is, roughly
    results = caseworker.get(SEARCH + "&kind=shelter")
    assert street not in text_of(results)
    supervisor = PortalClient(haven.url("portal")).sign_in("demo-supervisor").get(f"/services/{hit['service']['id']}")
    assert street in text_of(supervisor) and "tuyệt đối không chia sẻ" in text_of(supervisor)


@pytest.mark.parametrize("query, message", [
    ("radius=abc", "Nhập khoảng cách bằng số ki-lô-mét"),
    ("kind=bogus", "Chọn loại dịch vụ trong danh sách."),
    ("age=old", "Nhập tuổi bằng số năm tròn"),
    ("open=at&at=tomorrow", "Nhập ngày và giờ"),
])
def test_bad_filter_input_gets_a_clear_message_not_an_error_page(caseworker, query, message):
    page = caseworker.get(f"{SEARCH}&{query}")
    assert page.status_code == 400
    words = text_of(page)
    assert message in words and "Sửa các bộ lọc" in words
    assert 'value="nha tam lanh"' in page.text  # nothing typed is lost


def test_when_the_directory_is_down_the_page_says_so_and_keeps_the_search(haven, tmp_path):
    from services.portal.bootstrap import create_app

    app = create_app({"HAVEN_DATA_DIR": str(tmp_path), "PORTAL_DIRECTORY_URL": f"http://127.0.0.1:{free_port()}",
                      "PORTAL_REFERRAL_URL": haven.url("referral"), "PORTAL_NOTIFY_URL": haven.url("notify"),
                      "PORTAL_API_TIMEOUT_SECONDS": "10"})  # nobody listens there: refused at once;
    # the sign-in still goes to the real referral service, which a loaded machine may keep past 1 s
    browser = app.test_client()
    form = browser.get("/sign-in").get_data(as_text=True)
    csrf = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', form).group(1))
    signed = browser.post("/sign-in", data={"csrf_token": csrf, "username": "demo-caseworker",
                                            "password": "haven-demo", "next": "/"})
    assert signed.status_code == 302
    page = browser.get(SEARCH + "&free=1")
    body = page.get_data(as_text=True)
    assert page.status_code == 503
    words = text_of(body)
    assert "Danh bạ dịch vụ không phản hồi" in words and "Nội dung tìm kiếm vẫn được giữ" in words
    assert 'value="nha tam lanh"' in body and 'name="free" value="1" checked' in body
    assert browser.get("/search/suggest?q=nha").get_json() == {"suggestions": []}


def test_the_autocomplete_offers_names_and_works_from_the_keyboard(new_person):
    page = new_person().new_page()
    sign_in(page, "demo-caseworker")
    page.goto("/search")
    box = page.locator("#field-q")
    box.press_sequentially("nha tam", delay=30)
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert "Nhà tạm lánh" in options.first.inner_text()
    box.press("ArrowDown")
    box.press("ArrowDown")
    second = options.nth(1)
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    assert second.get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false" and page.locator("#q-suggestions").is_hidden()
    box.press("ArrowDown")  # opens the list again
    options.first.wait_for()
    box.press("ArrowDown")
    chosen = options.first.inner_text()
    with page.expect_navigation():
        box.press("Enter")
    assert box.input_value() == chosen
    assert "Tìm thấy" in page.locator("#results-heading").inner_text()
    check_page(page, "search-results")


def test_search_and_service_pages_pass_the_accessibility_scan(new_person):
    page = new_person(width=360).new_page()  # axe runs as a script: JavaScript on
    sign_in(page, "demo-caseworker")
    page.goto("/search")
    check_page(page, "search-form")
    page.goto(SEARCH + "&kind=shelter")
    page.locator("a[href^='/services/']").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text()
    check_page(page, "service-confidential")
    page.goto("/search?q=tro+giup+phap+ly&kind=legal_aid")
    page.locator("a[href^='/services/']").first.click()
    page.wait_for_load_state()
    check_page(page, "service-with-hours")
    page.goto(SEARCH + "&radius=abc")
    check_page(page, "search-bad-filter")


def test_near_me_fills_the_location_and_the_results_say_how_far(new_person):
    context = new_person(width=360)
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 21.0285, "longitude": 105.8542})  # Hoàn Kiếm, Hà Nội
    page = context.new_page()
    sign_in(page, "demo-caseworker")
    page.goto("/search?q=tro+giup+phap+ly")
    page.locator("summary").click()
    page.locator("#near-me").click()
    page.locator("#near-status").filter(has_text="Đã tìm thấy vị trí").wait_for()
    page.locator("#field-radius").fill("10")
    with page.expect_navigation():
        page.locator(".filters-body button[type=submit]").click()
    assert "lat=21.02850" in page.url and "radius=10" in page.url
    distances = page.locator(".result .distance").all_inner_texts()
    assert distances and all(text.startswith("cách ") for text in distances)
    for text in distances:  # "cách 2,4 km" or "cách 430 m": all within the 10 km asked
        number, unit = text.removeprefix("cách ").split()
        assert float(number.replace(".", "").replace(",", ".")) / (1000 if unit == "m" else 1) <= 10
    assert page.locator("#field-sort option[value=distance]").count() == 1  # nearest first is offered now


# --- near a commune -----------------------------------------------------------------------

NGOC_HA = "00016"  # Phường Ngọc Hà, Quận Ba Đình, Hà Nội: a demo commune with its centre


def distances_km(page) -> list[float]:
    found = []
    for number, unit in re.findall(r'<span class="distance">cách ([\d.,]+) (km|m)</span>', page.text):
        found.append(float(number.replace(".", "").replace(",", ".")) / (1000 if unit == "m" else 1))
    return found


def test_near_a_commune_finds_the_nearest_services_within_the_radius(haven, caseworker):
    form = caseworker.get("/search")
    assert re.search(r'<optgroup label="Thành phố Hà Nội">.*?<option value="00016">Phường Ngọc Hà, Quận Ba Đình'
                     r'</option>', form.text, re.S), "the demo commune is not offered to search near"
    page = caseworker.get(f"/search?near_area={NGOC_HA}&radius=10")
    assert page.status_code == 200
    assert "Trong vòng 10 km quanh Phường Ngọc Hà" in text_of(page)
    distances = distances_km(page)
    assert len(distances) >= 3 and distances == sorted(distances) and max(distances) <= 10
    assert f'<option value="{NGOC_HA}" selected>' in page.text and '<option value="distance" selected>' in page.text
    # Measured from the commune's centre, as the directory lists it: the same services, in the same order.
    centre = next(a["centre"] for a in requests.get(haven.url("directory") + "/v1/areas", timeout=10).json()
                  if a["code"] == NGOC_HA)
    token = directory_token(haven, "demo-caseworker")
    direct = requests.get(haven.url("directory") + "/v1/search", timeout=10, headers={"Authorization": f"Bearer {token}"},
                          params={"lat": centre["latitude"], "lon": centre["longitude"], "radius_km": 10,
                                  "sort": "distance", "per_page": PER_PAGE}).json()
    assert [f"/services/{hit['service']['id']}" for hit in direct["items"]] == list(dict.fromkeys(service_links(page)))
    # Every link that changes the search keeps the commune by its code, never as coordinates.
    pager = re.search(r'rel="next" href="([^"]+)"', page.text)
    facet = pager or re.search(r'href="(/search\?[^"]*kind=[^"]+)"', page.text)
    kept = parse_qs(urlsplit(html.unescape(facet.group(1))).query)
    assert kept["near_area"] == [NGOC_HA] and "lat" not in kept and "lon" not in kept


def test_a_bogus_commune_gets_the_fields_message_not_an_error_page(caseworker):
    page = caseworker.get(f"{SEARCH}&near_area=99999&radius=10")
    assert page.status_code == 400
    words = text_of(page)
    assert "Không tìm được quanh nơi này" in words and "Sửa các bộ lọc" in words
    assert re.search(r'<p class="field-error" id="error-near_area">', page.text)
    assert 'href="#field-near_area"' in page.text  # the summary leads to the field
    assert 'value="nha tam lanh"' in page.text and 'name="radius" type="text" value="10"' in page.text


def test_choosing_a_commune_in_the_browser_searches_around_it(new_person):
    context = new_person(width=360)
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 10.7769, "longitude": 106.7009})  # Hồ Chí Minh City: far from Ngọc Hà
    page = context.new_page()
    sign_in(page, "demo-caseworker")
    page.goto("/search")
    page.locator("#near-me").click()
    page.locator("#near-status").filter(has_text="Đã tìm thấy vị trí").wait_for()
    page.locator("#field-near_area").select_option(NGOC_HA)  # the commune, chosen last, is what is searched
    assert page.locator("#field-lat").input_value() == ""
    page.locator("#field-radius").fill("10")
    with page.expect_navigation():
        page.locator(".filters-body button[type=submit]").click()
    sent = parse_qs(urlsplit(page.url).query)  # blank fields dropped
    assert sent["near_area"] == [NGOC_HA] and "lat" not in sent and "lon" not in sent
    assert "Trong vòng 10 km quanh Phường Ngọc Hà" in page.locator(".near-summary").inner_text()
    assert page.locator(".result .distance").count() > 0
    check_page(page, "search-near-commune")
