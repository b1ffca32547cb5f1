"""Every string the portal shows has a Vietnamese translation, and the catalogs build."""
from __future__ import annotations

from services.portal import catalogs


def test_every_marked_string_is_translated_into_vietnamese():
    assert catalogs.untranslated("vi") == []


def test_the_catalog_refuses_a_string_left_untranslated(tmp_path, monkeypatch):
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "area.po").write_text('msgid "Find services"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "TRANSLATIONS", tmp_path)
    try:
        catalogs.merged("vi")
    except catalogs.CatalogError as exc:
        assert "Find services" in str(exc)
    else:
        raise AssertionError("an untranslated string was accepted")


def test_the_catalog_refuses_one_string_translated_two_ways(tmp_path, monkeypatch):
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "a.po").write_text('msgid "Inbox"\nmsgstr "Hộp thư đến"\n', encoding="utf-8")
    (tmp_path / "vi" / "b.po").write_text('msgid "Inbox"\nmsgstr "Hộp thư"\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "TRANSLATIONS", tmp_path)
    try:
        catalogs.merged("vi")
    except catalogs.CatalogError as exc:
        assert "Inbox" in str(exc)
    else:
        raise AssertionError("two translations of one string were accepted")


def test_the_extraction_finds_template_and_code_strings():
    found = catalogs.extracted()
    assert "Sign in to Haven" in found  # a template
    assert "No free places" in found  # words.py (lazy_gettext)


def test_no_english_string_assumes_the_survivor_is_a_woman():
    """Survivors may be men, boys or of another gender (the refer form asks, and services for
    men are in the directory): the English speaks of "the survivor", "they". The
    Vietnamese, "người bị hại", was neutral already."""
    import re

    gendered = sorted(m for m in catalogs.extracted() if re.search(r"\b(she|her|hers|herself)\b", m, re.I))
    assert gendered == []
