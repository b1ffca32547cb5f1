import pytest

from services.directory.domain.model import Organization, VersionConflict


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
