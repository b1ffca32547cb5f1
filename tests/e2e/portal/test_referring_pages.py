"""Referring, against a real Haven: the refer form and its confirmation, one referral per
form, consent and the supervisor's override, the organization's referrals, cancelling
(and a stale cancel), the supervisor's overview; and the pages' accessibility at 360 and
1280 px."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.support.browser import check_page, sign_in
from tests.support.portal_client import PortalClient, text_of

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([^"]*)"')


def api_token(haven, username: str) -> str:
    answer = requests.post(haven.url("referral") + "/v1/auth/login",
                           json={"username": username, "password": "haven-demo"}, timeout=10)
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def services(haven) -> list[str]:
    """Active services of the demo agency's organization (demo-agency can answer for them)."""
    token = api_token(haven, "demo-agency")
    headers = {"Authorization": f"Bearer {token}"}
    me = requests.get(haven.url("directory") + "/v1/auth/me", headers=headers, timeout=10).json()
    found = requests.get(haven.url("directory") + "/v1/services", params={"organization_id": me["organization_id"]},
                         headers=headers, timeout=10).json()["items"]
    return [s["id"] for s in found if s["status"] == "active"]


def referral_total(haven, username: str = "demo-caseworker") -> int:
    headers = {"Authorization": f"Bearer {api_token(haven, username)}"}
    return requests.get(haven.url("referral") + "/v1/referrals", params={"per_page": 1}, headers=headers,
                        timeout=10).json()["total"]


def person(haven, username: str) -> PortalClient:
    return PortalClient(haven.url("portal"), language="en").sign_in(username)


def form_of(client: PortalClient, service_id: str) -> tuple[list[tuple[str, str]], str]:
    """A fresh refer form: its own Idempotency-Key field, and its CSRF token."""
    page = client.get(f"/services/{service_id}/refer")
    assert page.status_code == 200
    return [("idempotency_key", KEY.search(page.text).group(1))], client.csrf(page)


ANSWERS = [("profile.client_ref", "CASE-2026-117"), ("profile.age_group", "25_59"), ("profile.gender", "female"),
           ("urgency", "high"), ("risk_level", "high"), ("services_requested", "shelter"),
           ("personal.safe_contact_method", "SMS only, say it is the pharmacy"),
           ("personal.needs", "a child in her care"),
           ("consent.obtained_by", "demo-caseworker"), ("consent.obtained_date", "2026-01-05"),
           ("consent.obtained_time", "09:30"), ("consent.scope", "contact"), ("consent.scope", "needs")]
CONSENT = [("consent.given", "yes")]


def field_block(page_html: str, field_id: str) -> str:
    """The HTML of one field (its div.field or fieldset: label, hint, errors and control),
    to check what is shown beside it."""
    at = page_html.index(f'id="{field_id}"')
    start = max(page_html.rfind('<div class="field', 0, at), page_html.rfind("<fieldset", 0, at))
    closing = "</fieldset>" if page_html.startswith("<fieldset", start) else "</div>"
    return page_html[start:page_html.index(closing, at)]


def send(client, service_id, answers, form=None):
    fields, csrf = form or form_of(client, service_id)
    return client.post(f"/services/{service_id}/refer", fields + answers, csrf=csrf, allow_redirects=False)


def test_a_referral_with_consent_is_confirmed_with_its_deadlines(haven, services):
    caseworker = person(haven, "demo-caseworker")
    answer = send(caseworker, services[0], ANSWERS + CONSENT)
    assert answer.status_code == 303
    assert re.fullmatch(r"/referrals/[0-9a-f-]{36}/sent", answer.headers["Location"])
    confirmation = text_of(caseworker.get(answer.headers["Location"]))
    assert "The referral was sent" in confirmation
    assert "Sent to " in confirmation
    assert "Agency to confirm it has seen it" in confirmation and "Agency to decide" in confirmation
    assert "hours left" in confirmation  # high urgency: hours to answer, counted from now
    assert "Open this referral" in confirmation and "Back to the search" in confirmation


def test_without_consent_the_error_is_beside_the_consent_question_and_everything_typed_is_kept(haven, services):
    caseworker = person(haven, "demo-caseworker")
    before = referral_total(haven)
    page = send(caseworker, services[0], ANSWERS)
    assert page.status_code == 422
    beside = field_block(page.text, "field-consent-given")
    assert "field-error" in beside and "Answer whether the survivor agreed" in text_of(beside)
    assert 'href="#field-consent-given"' in page.text  # the summary at the top links to it
    for name, value in ANSWERS:
        if name in ("consent.scope", "services_requested", "profile.age_group", "profile.gender", "urgency",
                    "risk_level"):
            assert re.search(rf'name="{re.escape(name)}" value="{value}"[^>]* (checked|selected)', page.text) or \
                re.search(rf'<option value="{value}" selected', page.text), (name, value)
        else:
            assert html.escape(value) in page.text, name
    assert referral_total(haven) == before


def test_the_same_form_sent_twice_makes_one_referral(haven, services):
    caseworker = person(haven, "demo-caseworker")
    form = form_of(caseworker, services[0])
    before = referral_total(haven)
    first = send(caseworker, services[0], ANSWERS + CONSENT, form)
    second = send(caseworker, services[0], ANSWERS + CONSENT, form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] in second.headers["Location"]  # the same referral's confirmation
    assert referral_total(haven) == before + 1
    assert "this is the same referral" in text_of(caseworker.get(second.headers["Location"]))


def test_a_caseworker_is_offered_no_override_and_cannot_send_one(haven, services):
    caseworker = person(haven, "demo-caseworker")
    page = caseworker.get(f"/services/{services[0]}/refer")
    assert "override" not in text_of(page).lower()
    forged = send(caseworker, services[0], ANSWERS + [("override.use", "yes"), ("override.reason", "danger")])
    assert forged.status_code in (403, 422)
    assert "Only a supervisor can override consent." in text_of(forged)


def test_a_supervisor_overrides_at_severe_risk_with_a_reason_and_not_without(haven, services):
    supervisor = person(haven, "demo-supervisor")
    page = supervisor.get(f"/services/{services[0]}/refer")
    assert "Only at severe risk" in text_of(page)
    severe = [("profile.client_ref", "CASE-URGENT-9"), ("urgency", "emergency"), ("risk_level", "severe"),
              ("override.use", "yes")]
    no_reason = send(supervisor, services[0], severe)
    assert no_reason.status_code == 422
    assert "Say why the survivor's life is in immediate danger" in text_of(field_block(no_reason.text, "field-override-reason"))
    not_severe = send(supervisor, services[0], [("profile.client_ref", "CASE-URGENT-9"), ("urgency", "emergency"),
                                                ("risk_level", "high"), ("override.use", "yes"),
                                                ("override.reason", "He is at the door")])
    assert not_severe.status_code == 422
    assert "only at severe risk" in text_of(field_block(not_severe.text, "field-override-use"))
    sent = send(supervisor, services[0], severe + [("override.reason", "He is at the door with a knife")])
    assert sent.status_code == 303
    assert "Overridden by a supervisor" in text_of(supervisor.get(sent.headers["Location"]))


def test_my_referrals_lists_them_in_words_and_filters_by_status(haven, services):
    caseworker = person(haven, "demo-caseworker")
    sent = send(caseworker, services[0], ANSWERS + CONSENT)
    referral_id = sent.headers["Location"].split("/")[2]
    listed = caseworker.get("/referrals")
    assert f'href="/referrals/{referral_id}"' in listed.text
    row = row_of(listed.text, referral_id)
    assert "Sent, waiting for the agency" in row
    # what the agency owes next, with the time left (high urgency: 4 hours to confirm it has seen it)
    assert re.search(r"Agency to confirm it has seen it: [34] hours left \(due \d+ \w+ 20\d\d, \d\d:\d\d\)", row), row
    assert "overdue" not in row and "⚠" not in row
    # the test Haven sends no e-mail, SMS or webhook: nothing reported, so nothing is claimed
    assert "told by" not in row and "Who was told" not in row
    assert "acknowledged" not in text_of(listed) and "_" not in text_of(listed)  # codes only as words
    declined_only = caseworker.get("/referrals?status=declined")
    assert f'href="/referrals/{referral_id}"' not in declined_only.text
    assert caseworker.get("/referrals?status=sent&urgency=high").text.count(f'href="/referrals/{referral_id}"') == 1


def row_of(page_html: str, referral_id: str) -> str:
    """The words of one referral's row in a list."""
    at = page_html.index(f'href="/referrals/{referral_id}"')
    start = page_html.rfind("<li class=\"card referral-row", 0, at)
    return text_of(page_html[start:page_html.index("\n</li>", at)])


def backdate(haven, referral_id: str, hours: float) -> None:
    """Make a referral look sent `hours` earlier: a running Haven's clock cannot be moved,
    and a missed deadline takes a day at normal urgency. Only the test's own referral is
    touched, in the referral service's own store; everything after is the real services."""
    import sqlalchemy as sa

    from haven.platform.db import embedded_url
    from services.referral.adapters.orm import referrals

    engine = sa.create_engine(embedded_url(haven.data_dir, "referral"))
    try:
        with engine.begin() as connection:
            row = connection.execute(sa.select(referrals.c.created_at, referrals.c.next_deadline_at)
                                     .where(referrals.c.id == referral_id)).one()
            earlier = timedelta(hours=hours)
            connection.execute(referrals.update().where(referrals.c.id == referral_id).values(
                created_at=row.created_at - earlier, next_deadline_at=row.next_deadline_at - earlier))
    finally:
        engine.dispose()


def test_a_late_referral_is_marked_overdue_first_for_the_supervisor_then_missed_once_answered(haven, services):
    caseworker = person(haven, "demo-caseworker")
    late_answers = [(n, "normal" if n == "urgency" else v) for n, v in ANSWERS]
    referral_id = send(caseworker, services[0], late_answers + CONSENT).headers["Location"].split("/")[2]
    # normal urgency: 24 hours to confirm it has seen it (her consent, given in January, still comes first)
    backdate(haven, referral_id, hours=26)
    # newest first: other tests' referrals of today would push it off the first page; a filter finds it
    sent_day = (datetime.now(VIETNAM) - timedelta(hours=26)).date().isoformat()
    that_day = f"/referrals?created_from={sent_day}&created_to={sent_day}&urgency=normal"

    listed = caseworker.get(that_day)
    row = row_of(listed.text, referral_id)
    assert "Agency to confirm it has seen it: ⚠ overdue by 2 hours" in row  # in words, with a sign
    assert re.search(rf'<li class="card referral-row is-late">\s*<div class="row">\s*<h3 class="grow">'
                     rf'<a href="/referrals/{referral_id}"', listed.text)  # the red edge only repeats the words

    overview = person(haven, "demo-supervisor").get("/supervision")
    late, waiting = overview.text.split('id="escalated-heading"', 1)[1].split('id="waiting-heading"', 1)
    assert f'href="/referrals/{referral_id}"' in late and f'href="/referrals/{referral_id}"' not in waiting
    assert "overdue by 2 hours" in row_of(late, referral_id) and "No escalations" not in text_of(late)

    agency = {"Authorization": f"Bearer {api_token(haven, 'demo-agency')}"}
    current = requests.get(haven.url("referral") + f"/v1/referrals/{referral_id}", headers=agency, timeout=10)
    seen = requests.post(haven.url("referral") + f"/v1/referrals/{referral_id}/acknowledge", json={},
                         headers={**agency, "If-Match": current.headers["ETag"]}, timeout=10)
    assert seen.status_code == 200, seen.text
    row = row_of(caseworker.get(that_day).text, referral_id)
    assert "✗ Agency to confirm it has seen it: Missed" in row  # done, but late: marked so for good
    assert "Agency to decide: 2 days left" in row  # 72 hours from the (earlier) sending
    declined = requests.post(haven.url("referral") + f"/v1/referrals/{referral_id}/decline",
                             json={"reason": "no_capacity"}, headers={**agency, "If-Match": seen.headers["ETag"]},
                             timeout=10)
    assert declined.status_code == 200, declined.text  # out of the agency's waiting list for the other tests


def test_cancel_works_and_a_stale_cancel_is_explained(haven, services):
    caseworker = person(haven, "demo-caseworker")
    referral_id = send(caseworker, services[0], ANSWERS + CONSENT).headers["Location"].split("/")[2]
    form = caseworker.get(f"/referrals/{referral_id}/cancel")
    version, csrf = html.unescape(VERSION.search(form.text).group(1)), caseworker.csrf(form)
    wrong = caseworker.post(f"/referrals/{referral_id}/cancel", {"reason": "client_safe", "version": '"99"'})
    assert wrong.status_code == 412
    assert "Someone changed this referral since you opened this page" in text_of(wrong)
    assert f'href="/referrals/{referral_id}/cancel"' in wrong.text  # reload
    needs_note = caseworker.post(f"/referrals/{referral_id}/cancel", {"reason": "other", "version": version})
    assert needs_note.status_code == 422 and "Say in a few words why" in text_of(field_block(needs_note.text,
                                                                                             "field-note"))
    done = caseworker.post(f"/referrals/{referral_id}/cancel", {"reason": "client_safe", "version": version},
                           allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"].startswith(f"/referrals/{referral_id}")
    again = caseworker.post(f"/referrals/{referral_id}/cancel", {"reason": "client_safe", "version": version},
                            csrf=csrf)
    assert again.status_code in (409, 412)
    assert "It is now: Cancelled" in text_of(again)
    assert "Cancelled" in text_of(caseworker.get("/referrals?status=cancelled"))


def test_supervision_is_for_supervisors(haven, services):
    supervisor = person(haven, "demo-supervisor")
    overview = supervisor.get("/supervision")
    assert overview.status_code == 200
    assert "All referrals by status" in text_of(overview) and "Refer with a consent override" in text_of(overview)
    assert person(haven, "demo-caseworker").get("/supervision").status_code == 403


def test_a_declined_referral_is_sent_on_to_another_service(haven, services):
    caseworker = person(haven, "demo-caseworker")
    referral_id = send(caseworker, services[0], ANSWERS + CONSENT).headers["Location"].split("/")[2]
    token = api_token(haven, "demo-agency")
    headers = {"Authorization": f"Bearer {token}"}
    current = requests.get(haven.url("referral") + f"/v1/referrals/{referral_id}", headers=headers, timeout=10)
    declined = requests.post(haven.url("referral") + f"/v1/referrals/{referral_id}/decline",
                             json={"reason": "no_capacity"}, headers={**headers, "If-Match": current.headers["ETag"]},
                             timeout=10)
    assert declined.status_code == 200
    to_search = caseworker.get(f"/referrals/{referral_id}/re-refer", allow_redirects=False)
    assert to_search.status_code == 302 and f"re_refer={referral_id}" in to_search.headers["Location"]
    form = caseworker.get(f"/referrals/{referral_id}/re-refer?service_id={services[1]}")
    assert form.status_code == 200 and 'value="high" checked' in form.text  # pre-filled from the declined one
    sent = caseworker.post(f"/referrals/{referral_id}/re-refer", [("service_id", services[1]), ("urgency", "high"),
                                                                 ("risk_level", "high")], allow_redirects=False)
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/sent")
    assert referral_id not in sent.headers["Location"]
    assert "The referral was sent" in text_of(caseworker.get(sent.headers["Location"]))


def test_the_referring_pages_pass_axe_at_phone_and_desktop_widths(haven, services, new_person):
    page = new_person(width=360).new_page()  # axe runs as a script: JavaScript on
    sign_in(page, "demo-supervisor")
    page.goto(f"/services/{services[0]}/refer")
    page.locator("#field-profile-client_ref").fill("CASE-AXE-1")
    page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()
    check_page(page, "refer-form-with-errors")
    page.locator("input[name='consent.given'][value=yes]").check()
    page.locator("input[name=urgency][value=normal]").check()
    page.locator("input[name=risk_level][value=medium]").check()
    page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    assert "/sent" in page.url
    check_page(page, "referral-sent")
    referral_id = page.url.split("/")[-2]
    page.goto("/referrals")
    check_page(page, "my-referrals")
    page.goto(f"/referrals/{referral_id}/cancel")
    check_page(page, "cancel-referral")
    page.goto("/supervision")
    check_page(page, "supervision")
