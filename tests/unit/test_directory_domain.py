import math
import random

import pytest

from services.directory.domain.errors import VersionConflict
from services.directory.domain.model import Centre, Organization
from services.directory.domain.search import EARTH_RADIUS_KM, box_around, distance_km
from tests.support.geo import destination


def test_revising_bumps_the_version_and_keeps_the_identity():
    organization = Organization(id="o1", name="Old")
    revised = organization.revise(1, name="New")
    assert (revised.id, revised.name, revised.version) == ("o1", "New", 2)
    assert revised.updated_at >= organization.updated_at
    assert organization.name == "Old"  # the original is untouched


def test_revising_an_older_version_is_a_conflict():
    organization = Organization(id="o1", name="A").revise(1, name="B")
    with pytest.raises(VersionConflict) as conflict:
        organization.revise(1, name="C")
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)


def test_identity_and_stamps_are_not_editable():
    with pytest.raises(ValueError, match="id"):
        Organization(id="o1", name="A").revise(1, id="o2")


def test_highlights_are_escaped_html_with_marks():
    from services.directory.domain.text import highlight

    marked = highlight('Tư vấn <img src=x onerror="alert(1)"> & hỗ trợ', ["tu", "van"])
    assert marked == ('<mark>Tư</mark> <mark>vấn</mark> &lt;img src=x onerror=&quot;alert(1)&quot;&gt; '
                      '&amp; hỗ trợ')
    assert highlight("Nhà tạm lánh", ["xyz"]) is None


def test_folding_matches_vietnamese_without_diacritics():
    from services.directory.domain.text import fold, terms

    assert fold("Nhà tạm lánh Đống Đa, LẠNG SƠN") == "nha tam lanh dong da, lang son"
    assert terms("  Cẩm Thủy—Thanh Hóa ") == ["cam", "thuy", "thanh", "hoa"]


def _nfd(text):
    import unicodedata

    return unicodedata.normalize("NFD", text)


def test_text_typed_decomposed_is_kept_composed():
    from services.directory.domain.model import Address, Area, Location, Phone, Service
    from services.directory.domain.search import SearchQuery

    name = "Nhà tạm lánh Sông Bằng"
    organization = Organization(id="o1", name=_nfd(name), description=_nfd("Bảo Lạc"))
    assert (organization.name, organization.description) == (name, "Bảo Lạc")
    assert organization.revise(1, name=_nfd("Hội Phụ nữ")).name == "Hội Phụ nữ"  # edits too
    service = Service(id="s1", organization_id="o1", name=_nfd(name), kind="shelter", description=_nfd("Chỗ ở"),
                      fees_description=_nfd("Miễn phí"), phones=(Phone("0229", _nfd("Trực đêm")),))
    assert (service.name, service.description, service.fees_description) == (name, "Chỗ ở", "Miễn phí")
    assert service.phones[0].description == "Trực đêm"
    place = Location(id="l1", organization_id="o1", name=_nfd("Điểm tạm lánh"),
                     address=Address(address_1=_nfd("Số 7 ngõ Bí Mật"), city=_nfd("Lạng Sơn")))
    assert (place.name, place.address.address_1, place.address.city) == ("Điểm tạm lánh", "Số 7 ngõ Bí Mật", "Lạng Sơn")
    assert Area("20", _nfd("Lạng Sơn"), "province").name == "Lạng Sơn"
    assert SearchQuery(text=_nfd("sông bằng")).text == "sông bằng"


def test_words_are_split_after_folding_so_marks_never_cut_a_word():
    from services.directory.domain.text import terms

    assert terms(_nfd("Nhà tạm lánh Sông Bằng")) == ["nha", "tam", "lanh", "song", "bang"]


def test_suggestions_put_names_starting_with_the_typed_words_first_then_by_their_words():
    from services.directory.domain.search import suggestions

    names = ["Hỗ trợ khẩn cấp", "Tư vấn, tham vấn", "Tư vấn ban đêm", "Tạm lánh", "Hỗ trợ khẩn cấp", "Nhà tạm"]
    assert [s.text for s in suggestions(names, "t", 10)] == ["Tạm lánh", "Tư vấn ban đêm", "Tư vấn, tham vấn",
                                                             "Hỗ trợ khẩn cấp", "Nhà tạm"]
    assert [s.text for s in suggestions(names, _nfd("tư v"), 1)] == ["Tư vấn ban đêm"]
    assert suggestions(names, "tu van ban", 10)[0].highlight == "<mark>Tư</mark> <mark>vấn</mark> <mark>ban</mark> đêm"


@pytest.mark.parametrize("latitude, longitude", [(95, 105.8), (21.0, 181), (float("nan"), 105.8)])
def test_an_area_centre_is_a_point_on_earth(latitude, longitude):
    with pytest.raises(ValueError):
        Centre(latitude, longitude)


@pytest.mark.parametrize("origin", [(21.8537, 106.7615), (0.0, 0.0), (-33.87, 151.21), (69.65, 18.96),
                                    (89.95, 10.0), (-89.99, -70.0), (10.0, 179.95), (10.0, -179.95)])
@pytest.mark.parametrize("km", [0.5, 10, 300])
def test_every_place_within_reach_lies_in_the_box_around_the_origin(origin, km):
    box = box_around(origin, km)
    rng = random.Random(f"{origin} {km}")
    for _ in range(400):
        # half on the edge of the circle (where a box too tight would drop them), half inside
        reach = km * (1 - 1e-6) if rng.random() < 0.5 else km * rng.random()
        lat, lon = destination(origin, reach, rng.uniform(0, 360))
        assert distance_km(origin, (lat, lon)) <= km
        assert box.south <= lat <= box.north, (lat, lon, box)
        if box.west is not None:
            assert box.west <= lon <= box.east, (lat, lon, box)


def test_the_box_around_a_place_is_as_tall_as_the_circle_and_wider_away_from_the_equator():
    km = 10
    tall = math.degrees(km / EARTH_RADIUS_KM)
    for latitude in (0.0, 21.85, 69.65):
        box = box_around((latitude, 105.0), km)
        assert (box.south, box.north) == (pytest.approx(latitude - tall), pytest.approx(latitude + tall))
        assert box.east - 105.0 == pytest.approx(105.0 - box.west)
        assert tall / math.cos(math.radians(latitude)) <= box.east - 105.0 < 1.01 * tall / math.cos(math.radians(latitude))
    # a circle holding a pole, or across the antimeridian: any longitude
    assert box_around((89.95, 10.0), km).west is None
    assert box_around((10.0, 179.95), km).east is None
