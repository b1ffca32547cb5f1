"""How the portal writes times, durations, distances and codes: Vietnam time and
Vietnamese formats by default, English on request, never a raw code."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from babel.dates import format_timedelta
from flask_babel import force_locale

from services.portal.entrypoints import i18n
from services.portal.entrypoints.words import WORDS, choices, word

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội


def test_times_are_in_vietnam_time_with_vietnamese_formats(app):
    with force_locale("vi"):
        assert i18n.when("2026-12-02T03:05:00Z") == "10:05 02/12/2026"
        assert i18n.day("2026-12-01T18:30:00+00:00") == "02/12/2026"  # already the 2nd in Vietnam
    with force_locale("en"):
        assert i18n.when("2026-12-02T03:05:00Z") == "2 Dec 2026, 10:05"


def test_a_time_without_a_zone_is_read_as_utc_and_nonsense_is_blank(app):
    with force_locale("vi"):
        assert i18n.when("2026-12-02T03:05:00") == "10:05 02/12/2026"
        assert i18n.when("not a time") == ""
        assert i18n.when(None) == ""


def test_deadlines_read_as_time_left_or_overdue_in_both_languages(app):
    with force_locale("en"):
        assert i18n.time_left(NOW + timedelta(hours=2), now=NOW) == "2 hours left"
        assert i18n.time_left(NOW - timedelta(minutes=10), now=NOW) == "overdue by 10 minutes"
        assert i18n.ago(NOW - timedelta(minutes=5), now=NOW) == "5 minutes ago"
        assert i18n.ago(NOW - timedelta(seconds=20), now=NOW) == "just now"
    with force_locale("vi"):
        assert i18n.time_left(NOW + timedelta(hours=2), now=NOW) == "còn 2 tiếng"
        assert i18n.time_left(NOW - timedelta(minutes=10), now=NOW) == "quá hạn 10 phút"
        assert i18n.ago(NOW - timedelta(minutes=5), now=NOW) == "5 phút trước"
    assert i18n.overdue(NOW - timedelta(seconds=1), now=NOW)
    assert not i18n.overdue(NOW + timedelta(seconds=1), now=NOW)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_duration_reads_as_babel_would_write_it(app, language):
    # The portal works out the unit and keeps the words; babel's format_timedelta is the reference.
    rng = random.Random(7)
    seconds = [0, 0.4, 1, 59, 65, 66, 67, 3599, 3600, 3960, 3961, 86400, 95040, 95041, 604800, 691200, 10**9,
               -4000] + [rng.uniform(0, 10**8) for _ in range(400)] + [rng.uniform(0, 10**5) for _ in range(400)]
    with force_locale(language):
        for value in seconds:
            assert i18n.duration(value) == format_timedelta(timedelta(seconds=abs(value)), threshold=1.1,
                                                            locale=language), value


def test_distances_and_numbers_follow_the_language(app):
    with force_locale("vi"):
        assert i18n.distance(0.432) == "430 m"
        assert i18n.distance(12.34) == "12,3 km"
        assert i18n.number(1234) == "1.234"
    with force_locale("en"):
        assert i18n.distance(12.34) == "12.3 km"
        assert i18n.number(1234) == "1,234"


def test_codes_read_as_words_in_vietnamese_and_english(app):
    with force_locale("vi"):
        assert word("status", "accepted") == "Đã tiếp nhận"
        assert word("decline_reason", "no_capacity") == "Hết chỗ"
        assert word("urgency", "emergency") == "Khẩn cấp"
    with force_locale("en"):
        assert word("status", "accepted") == "Accepted"
        assert dict(choices("risk_level"))["severe"] == "Severe risk (immediate danger)"


def test_an_unknown_code_reads_as_words_not_as_a_crash(app):
    with force_locale("en"):
        assert word("status", "on_hold") == "on hold"
        assert word("status", None) == ""


def test_every_code_of_the_referral_service_has_words():
    """Each code the referral service can answer with (its domain's lists) has words here."""
    from services.referral.domain import client, model, sla

    lists = {"status": model.STATUSES, "urgency": model.URGENCIES, "risk_level": model.RISK_LEVELS,
             "decline_reason": model.DECLINE_REASONS, "cancel_reason": model.CANCEL_REASONS,
             "deadline_kind": sla.DEADLINE_KINDS, "deadline_state": sla.DEADLINE_STATES,
             "age_group": client.AGE_GROUPS, "gender": client.GENDERS}
    for group, codes in lists.items():
        assert set(codes) <= set(WORDS[group]), f"{group}: no words for {set(codes) - set(WORDS[group])}"


def test_a_templates_words_are_translated_escaped_and_formatted_as_jinja_does(app):
    from flask import render_template_string

    with force_locale("en"):
        assert render_template_string('{{ _("%(distance)s away", distance=d) }}', d="<b>2 km</b>") == \
            "&lt;b&gt;2 km&lt;/b&gt; away"  # a variable is escaped into the words
        assert render_template_string('{{ _("100%% sure") }}') == "100% sure"  # always a format string
        assert render_template_string('{{ _("Filters") }}') == "Filters"
    with force_locale("vi"):
        assert render_template_string('{{ _("Filters") }}') == "Bộ lọc"
