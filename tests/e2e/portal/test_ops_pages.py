"""The ops pages against a real Haven (`haven run`): ops land on the indicators, read them as
tables with a chart drawn on the server, hidden counts shown as `<5` and explained, filter
them by period, area and kind with JavaScript off; the serious incidents with their
written-report deadlines; a supervisor marks a referral as a serious incident and records
the written report on the referral page (errors beside their fields, nothing typed lost);
the yearly report downloads as XLSX and CSV."""
from __future__ import annotations

import csv
import io
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.portal.test_agency_pages import api_headers, api_step, refer, shelter  # noqa: F401 - a fixture
from tests.support.browser import check_page, sign_in
from tests.support.network import free_port
from tests.support.portal_client import PortalClient, text_of

VIETNAM = timezone(timedelta(hours=7))
DUE_DISCOVERED_AGO = timedelta(hours=2)


def stats(haven, username: str, **params) -> dict:
    answer = requests.get(haven.url("referral") + "/v1/stats", params=params, headers=api_headers(haven, username),
                          timeout=20)
    assert answer.status_code == 200, answer.text
    return answer.json()


def mark_incident(haven, referral_id: str, discovered: datetime) -> dict:
    answer = requests.post(f"{haven.url('referral')}/v1/referrals/{referral_id}/serious-incident", timeout=10,
                           headers=api_headers(haven, "demo-caseworker"),
                           json={"discovered_at": discovered.isoformat(),
                                 "phoned_at": (discovered + timedelta(minutes=20)).isoformat(),
                                 "phoned_to": "Phòng Văn hóa - Xã hội phường Ba Đình"})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def referrals(haven, shelter):  # noqa: F811 - the imported fixture
    """Referrals of this run: one accepted, one declined as a duplicate (a count from 1 to 4,
    which the indicators hide), one whose incident's written report is missing (discovered
    6 days ago) and one whose report is still due."""
    accepted, declined, missing, due = (refer(haven, shelter) for _ in range(4))
    api_step(haven, accepted["id"], "acknowledge")
    api_step(haven, accepted["id"], "accept")
    api_step(haven, declined["id"], "decline", {"reason": "duplicate"})
    now = datetime.now(VIETNAM).replace(microsecond=0)
    mark_incident(haven, missing["id"], now - timedelta(days=6))
    mark_incident(haven, due["id"], now - DUE_DISCOVERED_AGO)
    return {"accepted": accepted, "declined": declined, "missing": missing, "due": due}


@pytest.fixture(scope="module")
def ops_client(haven) -> PortalClient:
    return PortalClient(haven.url("portal"), language="en").sign_in("demo-ops")


# --- indicators --------------------------------------------------------------------------------

def test_ops_land_on_the_indicators_with_tables_a_chart_and_hidden_counts_explained(haven, new_person, referrals):
    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-ops")
    assert re.search(r"/ops$", page.url), page.url
    expect(page.locator("h1")).to_have_text("Indicators")  # demo-ops reads English
    expect(page.locator(".ops-scope")).to_contain_text("All referrals in Haven")
    figures = stats(haven, "demo-ops", group_by="month")
    declines = page.locator("#declines-caption").locator("xpath=..")
    duplicate = figures["total"]["declined_by_reason"]["duplicate"]
    assert duplicate == "<5"  # one decline as a duplicate in this run: published as "<5", never as 1
    expect(declines.locator("tr", has_text="Duplicate referral").locator("td")).to_have_text("<5")
    expect(page.locator("#hidden-figures")).to_have_count(1)  # explained once, in plain words
    expect(page.locator("#hidden-figures")).to_contain_text("never shows a number of referrals from 1 to 4")
    made = figures["total"]["counts"]["created"]
    expect(page.locator(".glance li").first).to_contain_text(str(made))
    # The chart is an image drawn on the server, with its figures in the table beside it.
    chart = page.locator(".ops-chart img")
    expect(chart).to_have_attribute("alt", re.compile("same figures are in the table"))
    rows = page.locator("table.figures").first.locator("tbody tr")
    expect(rows).to_have_count(len(figures["groups"]))
    check_page(page, "ops-indicators")


def test_the_chart_is_an_svg_without_script_that_a_browser_draws(haven, new_person, ops_client, referrals):
    page = new_person(width=1280).new_page()
    sign_in(page, "demo-ops")
    page.goto("/ops?group_by=kind")
    chart = page.locator(".ops-chart img")
    expect(chart).to_be_visible()
    page.wait_for_function("() => document.querySelector('.ops-chart img').complete")
    assert page.evaluate("() => document.querySelector('.ops-chart img').naturalWidth") > 0
    source = chart.get_attribute("src")
    answer = ops_client.get(source)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/svg+xml")
    csp = answer.headers["Content-Security-Policy"]
    assert "<script" not in answer.text and "unsafe-inline" not in csp and "'sha256-" in csp
    assert "Shelter" in answer.text  # groups by their names, not codes
    check_page(page, "ops-indicators-by-kind")
    # Opened on its own, under its own CSP, the chart keeps its style (allowed by its hash):
    # the bars of referrals made are the portal's blue.
    page.goto(source)
    fill = page.evaluate("() => getComputedStyle(document.querySelector('.serie-0 rect')).fill")
    assert fill == "rgb(11, 83, 148)", fill


def test_filters_by_area_kind_and_period_work_without_javascript_and_a_wrong_period_is_named(
        haven, new_person, referrals):
    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-ops")
    page.locator(".ops-filters summary").click()
    page.locator("#field-province").select_option(label="Thành phố Hà Nội")
    page.locator("#field-kind").select_option("shelter")
    page.locator("#field-group_by").select_option("area")
    page.locator(".ops-filter-form button[type=submit]").click()
    assert "province=" in page.url and "kind=shelter" in page.url
    expect(page.locator(".ops-filters summary")).to_contain_text("2 chosen")  # closed: the figures come first
    expect(page.locator(".ops-scope")).to_contain_text("(Thành phố Hà Nội, Shelter)")  # what the figures cover
    page.locator(".ops-filters summary").click()
    expect(page.locator("#field-area")).to_be_visible()  # the province's communes are offered now
    province = re.search(r"province=([^&]+)", page.url).group(1)
    figures = stats(haven, "demo-ops", group_by="commune", province=province, kind="shelter")
    expect(page.locator("table.figures").first.locator("tbody tr")).to_have_count(len(figures["groups"]))
    check_page(page, "ops-indicators-filtered")

    page.goto("/ops?from=2026-12-10&to=2026-12-01")
    expect(page.locator("#error-to")).to_have_text("The last day must not be before the first day.")
    expect(page.locator("#field-from")).to_have_value("2026-12-10")  # what was typed is kept
    check_page(page, "ops-indicators-wrong-period")


def test_a_supervisor_sees_her_organizations_figures_in_vietnamese_and_a_caseworker_is_refused(haven, new_person):
    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-supervisor")
    page.goto("/ops")
    expect(page.locator("h1")).to_have_text("Chỉ số")
    expect(page.locator(".ops-scope")).to_contain_text("cơ quan của bạn đã gửi hoặc nhận")
    check_page(page, "ops-indicators-supervisor")
    caseworker = PortalClient(haven.url("portal"), language="en").sign_in("demo-caseworker")
    refused = caseworker.get("/ops")
    assert refused.status_code == 403 and "Not allowed" in text_of(refused)


# --- serious incidents -------------------------------------------------------------------------

def test_the_serious_incidents_list_puts_the_missing_report_first_with_how_late_it_is(haven, new_person, referrals):
    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-ops")
    page.goto("/ops/incidents")
    first = page.locator(".incident-row").first
    expect(first).to_contain_text("Written report missing")
    expect(first.locator(".incident-due")).to_contain_text("overdue by")
    due = page.locator(".incident-row", has_text="Written report due").first
    expect(due.locator(".incident-due")).to_contain_text("left")
    check_page(page, "ops-incidents")
    page.locator(".ops-filters summary").click()
    page.locator("#field-state").select_option("missing")
    page.locator(".ops-filters button[type=submit]").click()
    expect(page.locator(".incident-row", has_text="Written report due")).to_have_count(0)
    expect(page.locator(".incident-row").first).to_contain_text("Written report missing")
    # By the day of discovery (Vietnam days, both included): the due one's day, not 6 days ago.
    day = (datetime.now(VIETNAM) - DUE_DISCOVERED_AGO).strftime("%Y-%m-%d")
    answer = page.goto(f"/ops/incidents?discovered_from={day}&discovered_to={day}")
    assert answer.status == 200
    expect(page.locator(".incident-row", has_text="Written report due").first).to_be_visible()
    expect(page.locator(".incident-row", has_text="Written report missing")).to_have_count(0)


def test_a_supervisor_marks_a_serious_incident_and_records_the_written_report_on_the_referral_page(
        haven, shelter, new_person):  # noqa: F811 - the imported fixture
    referral = refer(haven, shelter)
    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-supervisor")
    page.goto(f"/referrals/{referral['id']}")
    page.locator("#serious-incident summary").click()
    page.locator("#field-incident-phoned_to").fill("Phòng Văn hóa - Xã hội phường Ba Đình")
    page.locator("#serious-incident button[type=submit]").click()
    # Nothing sent: the missing dates are named beside their fields, what was typed is kept.
    expect(page.locator("#error-incident-discovered_date")).to_be_visible()
    expect(page.locator("#error-incident-phoned_date")).to_be_visible()
    expect(page.locator("#field-incident-phoned_to")).to_have_value("Phòng Văn hóa - Xã hội phường Ba Đình")
    expect(page.locator("#serious-incident")).to_have_attribute("open", "")
    check_page(page, "referral-incident-errors")

    now = datetime.now(VIETNAM)
    discovered, phoned, sent = now - timedelta(hours=2), now - timedelta(hours=1), now - timedelta(minutes=30)
    page.locator("#field-incident-discovered_date").fill(discovered.strftime("%Y-%m-%d"))
    page.locator("#field-incident-discovered_time").fill(discovered.strftime("%H:%M"))
    page.locator("#field-incident-phoned_date").fill(phoned.strftime("%Y-%m-%d"))
    page.locator("#field-incident-phoned_time").fill(phoned.strftime("%H:%M"))
    page.locator("#serious-incident button[type=submit]").click()
    expect(page.locator(".success")).to_contain_text("là vụ việc nghiêm trọng")
    incident = page.locator("section#serious-incident")
    expect(incident).to_contain_text("Sắp đến hạn báo cáo bằng văn bản")  # demo-supervisor reads Vietnamese
    expect(incident.locator(".incident-state")).to_contain_text("còn")  # the time left, in words

    page.locator("#field-report-sent_date").fill(sent.strftime("%Y-%m-%d"))
    page.locator("#field-report-sent_time").fill(sent.strftime("%H:%M"))
    page.locator("section#serious-incident button[type=submit]").click()
    expect(page.locator("#error-report-sent_to")).to_be_visible()
    expect(page.locator("#field-report-sent_date")).to_have_value(sent.strftime("%Y-%m-%d"))
    check_page(page, "referral-incident-report-errors")
    page.locator("#field-report-sent_to").fill("Sở Y tế thành phố Hà Nội")
    page.locator("section#serious-incident button[type=submit]").click()
    expect(incident).to_contain_text("Báo cáo bằng văn bản gửi đúng hạn")
    expect(incident).to_contain_text("Sở Y tế thành phố Hà Nội")
    expect(incident.locator("form")).to_have_count(0)  # recorded once
    check_page(page, "referral-incident-reported")


def test_a_caseworker_marks_but_leaves_the_written_report_to_a_supervisor(haven, shelter):  # noqa: F811
    referral = refer(haven, shelter)
    caseworker = PortalClient(haven.url("portal"), language="en").sign_in("demo-caseworker")
    caseworker.get(f"/referrals/{referral['id']}")
    hour_ago = datetime.now(VIETNAM) - timedelta(hours=1)
    day, clock = hour_ago.strftime("%Y-%m-%d"), hour_ago.strftime("%H:%M")
    typed = {"incident.discovered_date": day, "incident.discovered_time": clock, "incident.phoned_date": day,
             "incident.phoned_time": clock, "incident.phoned_to": "Công an phường Ba Đình"}
    answer = caseworker.post(f"/referrals/{referral['id']}/serious-incident", typed)
    assert answer.status_code == 200, text_of(answer)
    words = text_of(answer)
    assert "Written report due" in words and "A supervisor of your organization records the written report" in words
    assert 'action="/referrals/' + referral["id"] + '/serious-incident/written-report"' not in answer.text
    again = caseworker.post(f"/referrals/{referral['id']}/serious-incident", typed)
    assert again.status_code == 409 and "already recorded" in text_of(again)


# --- the yearly report -------------------------------------------------------------------------

def test_the_yearly_report_downloads_as_xlsx_and_csv(haven, new_person, ops_client, referrals):
    from openpyxl import load_workbook

    page = new_person(java_script=False, width=360).new_page()
    sign_in(page, "demo-ops")
    page.goto("/ops/report")
    check_page(page, "ops-yearly-report")
    year = page.locator("#field-year").input_value()
    with page.expect_download() as started:
        page.locator("form.card button[type=submit]").click()
    download = started.value
    assert download.suggested_filename == f"haven-yearly-report-{year}.xlsx"  # demo-ops reads English
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert book.sheetnames[0] == "Summary" and len(book.sheetnames) == 7

    answer = ops_client.get(f"/ops/report/file?year={year}&format=csv&language=vi")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert f'filename="haven-bao-cao-nam-{year}.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert any("Tóm tắt" in cell for row in rows for cell in row)

    answer = page.goto("/ops/report/file?year=1999&format=pdf")
    assert answer.status == 422
    expect(page.locator("#error-year")).to_have_text("Choose a year from the list.")
    expect(page.locator("#error-format")).to_have_text("Choose from the list.")
    expect(page.locator("#field-year")).to_have_value(year)  # the report's year, not 1999
    check_page(page, "ops-yearly-report-errors")


# --- a service that is down --------------------------------------------------------------------

@pytest.fixture(scope="module")
def portal_with(haven):
    """`portal_with(directory=..., referral=...)`: a second portal on this Haven (in this
    process) with one service's address dead (a port nothing listens on). It shares the
    real portal's data folder, so its session key: a person signed in on the real portal is
    signed in on it too (cookies do not tell ports apart)."""
    from werkzeug.serving import make_server

    from services.portal.bootstrap import create_app

    servers = []

    def start(**dead) -> str:
        urls = {name: f"http://127.0.0.1:{free_port()}" if dead.get(name) else haven.url(name)
                for name in ("directory", "referral", "notify")}
        app = create_app({"HAVEN_DATA_DIR": haven.data_dir, "PORTAL_DIRECTORY_URL": urls["directory"],
                          "PORTAL_REFERRAL_URL": urls["referral"], "PORTAL_NOTIFY_URL": urls["notify"]})
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def test_with_the_directory_down_the_figures_still_show_and_with_the_referral_service_down_it_is_said(
        haven, ops_client, portal_with, referrals):
    without_directory = PortalClient(portal_with(directory=True), language="en")
    without_directory.http.cookies.update(ops_client.http.cookies)
    page = without_directory.get("/ops?group_by=kind&kind=shelter")
    assert page.status_code == 200, text_of(page)
    words = text_of(page)
    assert "referrals made" in words and "shelter" in words  # a kind by its code, the figures all there
    assert 'name="kind" value="shelter"' in page.text  # the filter is kept for the next view

    without_referral = PortalClient(portal_with(referral=True), language="en")
    without_referral.http.cookies.update(ops_client.http.cookies)
    for path in ("/ops", "/ops/incidents", "/ops/report/file?year=2026"):
        down = without_referral.get(path)
        assert down.status_code == 503, path
        assert "The referral service is not answering" in text_of(down), path
