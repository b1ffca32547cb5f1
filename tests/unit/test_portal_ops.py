"""The ops pages' rules: programme years, the indicators' filters and the API query they
make, how hidden figures read (never as 0) and that a chart draws no bar for them, the
serious-incident forms (Vietnam time, errors beside their fields) and the yearly report's
choices."""
from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale

from services.portal.domain import figures as f
from services.portal.domain.errors import FieldError, Rejected
from services.portal.entrypoints import ops, ops_charts
from services.portal.service_layer import incidents as i
from services.portal.service_layer import indicators as ind
from services.portal.service_layer.ports import Reply
from services.portal.service_layer.searching import Area, AreaTree

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 in Vietnam


class FakeApi:
    """One API: answers by path, records what was asked."""

    def __init__(self, answers: dict | None = None, refusal: Exception | None = None):
        self.answers = answers or {}
        self.refusal = refusal
        self.asked: list[tuple] = []

    def get(self, path, token, params=None):
        self.asked.append(("GET", path, dict(params or {})))
        return Reply(self.answers.get(path, {}))

    def send(self, method, path, token, body=None, headers=None):
        self.asked.append((method, path, body))
        if self.refusal is not None:
            raise self.refusal
        return Reply(self.answers.get(path, {}))


class FakeReference:
    def __init__(self):
        self.tree = AreaTree([Area("01", "Thành phố Hà Nội", "province"), Area("20", "Tỉnh Lạng Sơn", "province"),
                              Area("001", "Quận Ba Đình", "district", "01"),
                              Area("00004", "Phường Ngọc Hà", "commune", "001"),
                              Area("06000", "Phường Đông Kinh", "commune", "20")])

    def areas(self):
        return self.tree

    def kinds(self):
        return [{"code": "shelter", "name_vi": "Nhà tạm lánh", "name_en": "Shelter"},
                {"code": "legal_aid", "name_vi": "Trợ giúp pháp lý", "name_en": "Legal aid"}]


class FakeNames:
    def name(self, organization_id):
        return {"org-a": "Hội LHPN phường Ba Đình", "org-b": "Nhà tạm lánh Bình Minh"}.get(organization_id)


# --- programme years --------------------------------------------------------------------------

def test_the_programme_year_runs_from_1_december_to_30_november():
    assert f.programme_year(2026) == (date(2025, 12, 1), date(2026, 11, 30))
    assert f.programme_year_of(date(2026, 11, 30)) == 2026
    assert f.programme_year_of(date(2026, 12, 1)) == 2027
    # In December every agency reports the year that has just ended.
    assert f.last_finished_year(date(2026, 12, 2)) == 2026
    assert f.last_finished_year(date(2026, 6, 1)) == 2025


def test_three_programme_years_are_allowed_and_a_day_more_is_not():
    assert not f.longer_than_years(date(2023, 12, 1), date(2026, 11, 30), 3)
    assert f.longer_than_years(date(2023, 12, 1), date(2026, 12, 1), 3)
    assert not f.longer_than_years(date(2024, 2, 29), date(2027, 2, 28), 3)


# --- filters ----------------------------------------------------------------------------------

def test_without_filters_the_api_is_asked_for_its_programme_year_by_month():
    filters, problems = ind.StatsFilters.from_query({}, FakeReference())
    assert problems == {} and filters.query() == {"group_by": "month"}


def test_a_wrong_date_or_a_last_day_before_the_first_is_named_beside_its_field_and_not_sent():
    filters, problems = ind.StatsFilters.from_query({"from": "2026-13-01", "to": "2026-02-01"}, FakeReference())
    assert problems == {"from": ind.NOT_A_DATE}
    assert filters.query() == {"to": "2026-02-01", "group_by": "month"}
    filters, problems = ind.StatsFilters.from_query({"from": "2026-03-01", "to": "2026-02-01"}, FakeReference())
    assert problems == {"to": ind.BEFORE_START} and "to" not in filters.query()
    _, problems = ind.StatsFilters.from_query({"from": "2020-01-01", "to": "2026-02-01"}, FakeReference())
    assert problems == {"to": ind.TOO_LONG}


def test_grouping_by_area_is_by_province_then_by_commune_within_the_chosen_province():
    filters, _ = ind.StatsFilters.from_query({"group_by": "area"}, FakeReference())
    assert filters.query()["group_by"] == "province"
    filters, _ = ind.StatsFilters.from_query({"group_by": "area", "province": "01", "kind": "shelter"},
                                             FakeReference())
    assert filters.query() == {"group_by": "commune", "province": "01", "kind": "shelter"}


def test_a_commune_chosen_alone_brings_its_province_and_one_left_from_another_province_is_dropped():
    filters, problems = ind.StatsFilters.from_query({"area": "00004"}, FakeReference())
    assert problems == {} and (filters.province, filters.area) == ("01", "00004")
    filters, problems = ind.StatsFilters.from_query({"province": "20", "area": "00004"}, FakeReference())
    assert problems == {} and (filters.province, filters.area) == ("20", "")


def test_unknown_areas_kinds_and_groupings_are_named_and_dropped():
    filters, problems = ind.StatsFilters.from_query(
        {"province": "00004", "kind": "spa", "group_by": "survivor"}, FakeReference())
    assert problems == {"province": ind.UNKNOWN_AREA, "kind": ind.UNKNOWN_KIND, "group_by": ind.UNKNOWN_GROUPING}
    assert filters.query() == {"group_by": "month"}


def test_with_the_directory_down_the_codes_go_to_the_api_unchecked():
    filters, problems = ind.StatsFilters.from_query({"province": "01", "area": "00004"}, None)
    assert problems == {} and filters.query()["area"] == "00004"


def test_the_indicators_ask_the_stats_api_and_know_when_a_figure_is_hidden():
    api = FakeApi({"/v1/stats": {
        "period": {"from": "2025-12-01", "to": "2026-11-30"}, "group_by": "kind", "min_cell": 5,
        "total": {"counts": {"created": 12, "cancelled": "<5"}},
        "groups": [{"key": "shelter", "measures": {"counts": {"created": 9}}},
                   {"key": "legal_aid", "measures": {"counts": {"created": "<5"}}}]}})
    filters, _ = ind.StatsFilters.from_query({"group_by": "kind", "from": "2025-12-01"}, FakeReference())
    shown = ind.Indicators(api, FakeReference()).figures("token", filters)
    assert api.asked == [("GET", "/v1/stats", {"from": "2025-12-01", "group_by": "kind"})]
    assert [g.key for g in shown.groups] == ["shelter", "legal_aid"] and shown.hides_any
    assert ind.measure(shown.total, "counts", "cancelled") == "<5"
    assert ind.measure(shown.total, "times", "acknowledge", "median_seconds") is None
    open_figures = ind.Figures("2025-12-01", "2026-11-30", "month", 5, {"counts": {"created": 0}})
    assert not open_figures.hides_any


# --- how a figure reads -----------------------------------------------------------------------

def test_a_hidden_count_reads_as_hidden_never_as_zero(app):
    with force_locale("vi"):
        assert [ops.figure(v) for v in (1234, 0, "<5", "x", None)] == ["1.234", "0", "<5", "ẩn", "—"]
        assert ops.share(0.7) == "70%" and ops.share(None) == "—"
        assert ops.seconds(5400) == "2 tiếng" and ops.seconds(None) == "—"
    with force_locale("en"):
        assert [ops.figure(v) for v in (1234, "<5", "x")] == ["1,234", "<5", "hidden"]
        assert ops.seconds(30) == "under a minute"


def test_groups_are_named_in_words(app):
    with force_locale("en"):
        assert ops.group_labels("month", ["2025-12", "unknown"], FakeReference()) == [
            "Dec 2025", "Not recorded (older referrals)"]
        assert ops.group_labels("commune", ["00004", "99999"], FakeReference()) == ["Phường Ngọc Hà", "99999"]
        assert ops.group_labels("kind", ["shelter"], FakeReference()) == ["Shelter"]
        assert ops.group_labels("urgency", ["emergency"], None) == ["Emergency"]
    with force_locale("vi"):
        assert ops.group_labels("month", ["2025-12"], None) == ["12/2025"]
        assert ops.group_labels("kind", ["shelter"], FakeReference()) == ["Nhà tạm lánh"]


def test_a_narrowed_view_names_its_area_and_kind(app):
    filters, _ = ind.StatsFilters.from_query({"area": "00004", "kind": "legal_aid"}, FakeReference())
    with force_locale("en"):
        assert ops.scope_names(filters, FakeReference()) == ["Phường Ngọc Hà", "Legal aid"]
        assert ops.scope_names(filters, None) == ["00004", "legal_aid"]  # the directory down: by code
    assert ops.scope_names(ind.StatsFilters(), FakeReference()) == []


def test_a_chart_draws_no_bar_for_a_hidden_count_and_carries_no_script():
    svg = ops_charts.bar_chart(["12/2025", "01/2026", "02/2026"], [("Made", [10, "<5", 0]), ("Helped", [8, "x", 0])],
                               "month")
    assert "<script" not in svg and "&lt;5" not in svg
    bars = re.findall(r'<rect[^>]*class="rect reactive', svg)
    assert len(bars) == 4  # 10 and 0 of the first series, 8 and 0 of the second: none for <5 or x
    assert set(re.findall(r'class="value">([^<]*)', svg)) == {"10", "8", "0"}  # 0 is a real figure
    assert "style=" not in svg  # pygal's tooltip layer (a style attribute) is gone with its script
    csp = ops_charts.content_security_policy(svg)
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
    css = html.unescape(re.search(r"<style[^>]*>(.*?)</style>", svg, re.S).group(1))
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'self' 'sha256-{digest}'" in csp  # its own <style>, by its hash, and nothing else


def test_a_phone_gets_a_narrow_chart_of_horizontal_bars_that_grows_with_its_groups():
    assert ops_charts.size(12, 2, "month", narrow=False) == (720, 340)
    width, height = ops_charts.size(12, 2, "month", narrow=True)
    assert width == ops_charts.NARROW and height > 600
    assert ops_charts.size(40, 2, "commune", narrow=False)[1] > ops_charts.size(4, 2, "commune", narrow=False)[1]
    svg = ops_charts.bar_chart(["Phường Ngọc Hà", "Phường Đông Kinh"], [("Made", [7, 9])], "commune", narrow=True)
    heights = {name: float(y) for y, name in re.findall(r'<text[^>]*y="([\d.]+)"[^>]*>(Phường[^<]*)', svg)}
    assert heights["Phường Ngọc Hà"] < heights["Phường Đông Kinh"]  # the first group on top


# --- serious incidents ------------------------------------------------------------------------

MARKED = {"discovered_date": "2026-12-01", "discovered_time": "15:00", "phoned_date": "2026-12-01",
          "phoned_time": "15:20", "phoned_to": " Phòng Văn hóa - Xã hội phường Ba Đình ", "note": ""}


def test_the_incident_times_are_typed_in_vietnam_time():
    body = i.marking_body(MARKED, NOW)
    assert body == {"discovered_at": "2026-12-01T15:00:00+07:00", "phoned_at": "2026-12-01T15:20:00+07:00",
                    "phoned_to": "Phòng Văn hóa - Xã hội phường Ba Đình"}


def test_what_is_missing_wrong_or_in_the_future_is_named_beside_its_field():
    with pytest.raises(Rejected) as refused:
        i.marking_body({**MARKED, "discovered_date": "", "phoned_date": "01/12/2026", "phoned_to": " ",
                        "note": "x" * 2001}, NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("incident.discovered_date", i.NEEDED), ("incident.phoned_date", i.NOT_A_DATE),
        ("incident.phoned_to", i.NEEDED), ("incident.note", i.TOO_LONG)]
    with pytest.raises(Rejected) as refused:
        i.report_body({"sent_date": "2026-12-02", "sent_time": "11:00", "sent_to": "Sở Y tế"}, NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [("report.sent_date", i.IN_FUTURE)]


def test_marking_posts_to_the_referral_and_the_apis_field_errors_move_beside_the_forms_fields():
    api = FakeApi(refusal=Rejected("bad", [FieldError("phoned_at", "phoned_at is before discovered_at")]))
    incidents = i.SeriousIncidents(api, FakeNames(), clock=lambda: NOW)
    with pytest.raises(Rejected) as refused:
        incidents.mark("token", "r-1", MARKED)
    assert api.asked[0][:2] == ("POST", "/v1/referrals/r-1/serious-incident")
    assert [e.field for e in refused.value.errors] == ["incident.phoned_date"]
    api = FakeApi(refusal=Rejected("bad", [FieldError("sent_to", "empty")]))
    with pytest.raises(Rejected) as refused:
        i.SeriousIncidents(api, FakeNames(), clock=lambda: NOW).record_written_report(
            "token", "r-1", {"sent_date": "2026-12-02", "sent_time": "09:00", "sent_to": "Sở Y tế"})
    assert api.asked[0] == ("POST", "/v1/referrals/r-1/serious-incident/written-report",
                            {"sent_at": "2026-12-02T09:00:00+07:00", "sent_to": "Sở Y tế"})
    assert [e.field for e in refused.value.errors] == ["report.sent_to"]


def test_the_incident_list_asks_for_whole_days_and_names_the_agencies():
    filters, problems = i.IncidentFilters.from_query({"state": "missing", "discovered_from": "2026-11-01",
                                                      "discovered_to": "2026-11-30", "page": "2"})
    assert problems == {}
    assert filters.query() == {"page": 2, "per_page": 20, "state": "missing", "from": "2026-11-01T00:00:00+07:00",
                               "to": "2026-12-01T00:00:00+07:00"}  # the API's `to` is exclusive: the 30th is in
    _, problems = i.IncidentFilters.from_query({"state": "forgotten", "discovered_to": "30/11/2026"})
    assert problems == {"state": i.UNKNOWN_STATE, "discovered_to": i.NOT_A_DATE}
    api = FakeApi({"/v1/serious-incidents": {"total": 21, "page": 2, "per_page": 20, "items": [
        {"referral_id": "r-1", "referring_organization_id": "org-a", "receiving_organization_id": "org-c",
         "state": "missing"}]}})
    found = i.SeriousIncidents(api, FakeNames()).listing("token", filters)
    assert found.organizations == {"org-a": "Hội LHPN phường Ba Đình"} and found.pages == 2


# --- the yearly report ------------------------------------------------------------------------

def test_the_report_is_of_the_year_just_ended_in_the_persons_language_unless_chosen():
    chosen, problems = ind.ReportRequest.from_query({}, FakeReference(), 2026, "en")
    assert problems == {} and chosen.query() == {"year": 2026, "format": "xlsx", "language": "en"}
    chosen, problems = ind.ReportRequest.from_query({"year": "2025", "format": "csv", "province": "20",
                                                     "language": "vi"}, FakeReference(), 2026, "en")
    assert chosen.query() == {"year": 2025, "format": "csv", "language": "vi", "province": "20"}
    chosen, problems = ind.ReportRequest.from_query({"year": "1999", "format": "pdf", "province": "00004"},
                                                    FakeReference(), 2026, "vi")
    assert problems == {"year": ind.NOT_A_YEAR, "format": ind.UNKNOWN_CHOICE, "province": ind.UNKNOWN_AREA}
    assert chosen.query() == {"year": 2026, "format": "xlsx", "language": "vi"}


def test_the_report_file_comes_from_the_referral_service():
    class FakeDownloads:
        def __init__(self):
            self.asked = []

        def fetch(self, path, token, params=None):
            self.asked.append((path, params))
            return ind.Download(b"PK", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                "haven-bao-cao-nam-2026.xlsx")

    downloads = FakeDownloads()
    found = ind.YearlyReport(downloads).file("token", ind.ReportRequest(2026))
    assert downloads.asked == [("/v1/reports/yearly", {"year": 2026, "format": "xlsx", "language": "vi"})]
    assert found.filename == "haven-bao-cao-nam-2026.xlsx"


def test_a_charts_axis_counts_in_whole_numbers_with_room_above_the_largest_bar():
    assert ops_charts._axis([44, 9, None]) == [0, 9, 18, 27, 36, 45, 54]
    assert ops_charts._axis([1, None]) == [0, 1, 2, 3, 4, 5]  # a few referrals: no 0.2 steps
