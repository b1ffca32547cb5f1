"""The receiving agency's side of the portal against a real Haven: a referral the caseworker
sends is in the agency's inbox (live, within 5 s, with JavaScript), the agency answers it
on the referral page (acknowledge, accept, decline with a reason), a stale page is
explained and recoverable, another organization's staff find nothing, free places change
by one; and the caseworker sees "accepted" without reloading."""
from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support.browser import check_page, sign_in
from tests.support.portal_client import PortalClient, text_of

ETAG = re.compile(r'name="etag" value="([^"]*)"')
SAFE_METHOD = "Chỉ gọi điện, không nhắn tin"
NAME = "Chị Thử Nghiệm"


def api_headers(haven, username: str) -> dict:
    answer = requests.post(haven.url("referral") + "/v1/auth/login", timeout=10,
                           json={"username": username, "password": "haven-demo"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def shelter(haven) -> dict:
    """demo-agency's organization and one of its shelter services (found by search)."""
    me = requests.get(haven.url("referral") + "/v1/auth/me", headers=api_headers(haven, "demo-agency"), timeout=10)
    organization = me.json()["organization_id"]
    found = requests.get(haven.url("directory") + "/v1/search", params={"kind": "shelter", "per_page": 50}, timeout=10)
    service = next(item["service"] for item in found.json()["items"]
                   if item["service"]["organization_id"] == organization)
    return {"organization_id": organization, "service_id": service["id"], "service_name": service["name"]}


def refer(haven, shelter, urgency: str = "high") -> dict:
    """A referral from demo-caseworker to the demo shelter, through the referral API."""
    consented = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    answer = requests.post(haven.url("referral") + "/v1/referrals", headers=api_headers(haven, "demo-caseworker"),
                           timeout=10, json={
                               "receiving_service_id": shelter["service_id"], "urgency": urgency, "risk_level": "high",
                               "profile": {"client_ref": f"AG-{uuid.uuid4().hex[:8]}", "age_group": "25_59",
                                           "gender": "female"},
                               "personal": {"name": NAME, "phone": "0912 345 678", "safe_contact_time": "Sau 18 giờ",
                                            "safe_contact_method": SAFE_METHOD, "needs": ["chỗ ở"],
                                            "language": "tyz"},
                               "consent": {"given": True, "obtained_by": "demo-caseworker", "obtained_at": consented,
                                           "scope": ["contact", "needs"]}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def api_step(haven, referral_id: str, action: str, body: dict | None = None) -> None:
    answer = requests.post(f"{haven.url('referral')}/v1/referrals/{referral_id}/{action}", json=body or {},
                           headers=api_headers(haven, "demo-agency"), timeout=10)
    assert answer.status_code == 200, answer.text


def etag_of(page) -> str:
    import html
    found = ETAG.search(page.text)
    assert found, "the page offers no step"
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def agency(haven) -> PortalClient:
    return PortalClient(haven.url("portal"), language="en").sign_in("demo-agency")


# --- without JavaScript ---------------------------------------------------------------------

def test_a_referral_is_in_the_inbox_and_each_step_shows_its_new_status_at_once(haven, shelter, agency):
    referral = refer(haven, shelter)
    inbox = agency.get("/inbox")
    assert inbox.status_code == 200
    assert f'/referrals/{referral["id"]}' in inbox.text
    assert "Waiting for your answer" in text_of(inbox) and shelter["service_name"] in text_of(inbox)
    assert NAME not in inbox.text  # a list never shows personal fields
    # the deadline owed comes with the list: confirm it was seen, 4 hours at high urgency
    card = inbox.text.split(f'data-referral-id="{referral["id"]}"', 1)[1].split("</li>", 1)[0]
    assert re.search(r"Agency to confirm it has seen it: [34] hours left", text_of(card)), text_of(card)

    page = agency.get(f"/referrals/{referral['id']}")
    words = text_of(page)
    assert "Sent, waiting for the agency" in words and NAME not in words
    assert "shown here once your agency accepts" in words
    assert "Accept" not in words.split("What you can do", 1)[1].split("Cannot help?")[0]  # not offered yet

    done = agency.post(f"/referrals/{referral['id']}/acknowledge", {"etag": etag_of(page)})
    assert done.status_code == 200 and done.url.endswith(f"/referrals/{referral['id']}")  # back on the page
    words = text_of(done)
    assert "Done:" in words and "Seen by the agency" in words.split("Status of this referral", 1)[1][:40]

    done = agency.post(f"/referrals/{referral['id']}/accept", {"etag": etag_of(done)})
    words = text_of(done)
    assert "Accepted" in words.split("Status of this referral", 1)[1][:20]
    # now her details, with how to contact her safely first
    assert NAME in words and SAFE_METHOD in words
    assert "Language Tày" in words or "Language Tiếng Tày" in words, "the language in words, not its code"
    assert words.index("How to contact the survivor safely") < words.index(SAFE_METHOD) < words.index(NAME)
    assert 'class="safety"' in done.text

    inbox = agency.get("/inbox")
    assert "Accepted: help under way" in text_of(inbox) and f'/referrals/{referral["id"]}' in inbox.text


def test_a_decline_needs_a_reason_said_beside_its_field_with_the_note_kept(haven, shelter, agency):
    referral = refer(haven, shelter, urgency="normal")
    page = agency.get(f"/referrals/{referral['id']}")
    refused = agency.post(f"/referrals/{referral['id']}/decline",
                          {"etag": etag_of(page), "reason": "", "note": "Hết giường tối nay"})
    assert refused.status_code == 422
    field = refused.text.split('id="field-reason"')[0].rsplit('<div class="field', 1)[1]
    assert "Choose why your agency cannot take this referral." in field  # beside the field, in words
    assert "Hết giường tối nay</textarea>" in refused.text  # nothing typed is lost
    assert "Sent, waiting for the agency" in text_of(refused)

    declined = agency.post(f"/referrals/{referral['id']}/decline",
                           {"etag": etag_of(refused), "reason": "no_capacity", "note": "Hết giường tối nay"})
    words = text_of(declined)
    assert "Declined" in words.split("Status of this referral", 1)[1][:20]
    assert "No free places" in words  # the reason in the timeline, in words


def test_a_page_left_open_while_someone_else_acted_is_explained_and_nothing_typed_is_lost(haven, shelter, agency):
    referral = refer(haven, shelter)
    page = agency.get(f"/referrals/{referral['id']}")
    old = etag_of(page)
    api_step(haven, referral["id"], "acknowledge")  # a colleague, meanwhile

    stale = agency.post(f"/referrals/{referral['id']}/decline",
                        {"etag": old, "reason": "out_of_area", "note": "Ngoài địa bàn"})
    assert stale.status_code == 412
    words = text_of(stale)
    assert "changed this referral after you opened it" in words and "nothing was sent" in words
    assert "It is now: Seen by the agency." in words
    assert '<option value="out_of_area" selected>' in stale.text and "Ngoài địa bàn</textarea>" in stale.text

    # recoverable: the page now carries the current version, so sending again works
    declined = agency.post(f"/referrals/{referral['id']}/decline",
                           {"etag": etag_of(stale), "reason": "out_of_area", "note": "Ngoài địa bàn"})
    assert "Declined" in text_of(declined).split("Status of this referral", 1)[1][:20]

    # a step no longer possible (409): explained, with what can be done now
    gone = agency.post(f"/referrals/{referral['id']}/acknowledge", {"etag": ""})
    assert gone.status_code == 409
    words = text_of(gone)
    assert "acted on this referral meanwhile" in words and "It is now: Declined." in words


@pytest.fixture(scope="module")
def stranger(haven, shelter) -> PortalClient:
    """Agency staff of another organization (a local user added with `haven users add`)."""
    organizations = requests.get(haven.url("directory") + "/v1/organizations", params={"per_page": 5}, timeout=10)
    other = next(o["id"] for o in organizations.json()["items"] if o["id"] != shelter["organization_id"])
    added = subprocess.run([sys.executable, "-m", "haven", "users", "add", "other-agency", "--role", "agency_staff",
                            "--organization", other, "--password-stdin"], input="haven-other-1\n", text=True,
                           env=haven.env, capture_output=True, timeout=60)
    assert added.returncode == 0, added.stderr
    return PortalClient(haven.url("portal"), language="en").sign_in("other-agency", "haven-other-1")


def test_staff_of_another_organization_get_the_not_found_page(haven, shelter, agency, stranger):
    referral = refer(haven, shelter)
    mine = agency.get(f"/referrals/{referral['id']}")
    seen = stranger.get(f"/referrals/{referral['id']}")
    assert seen.status_code == 404 and "Not found" in text_of(seen) and NAME not in seen.text
    assert f'/referrals/{referral["id"]}' not in stranger.get("/inbox").text
    acted = stranger.post(f"/referrals/{referral['id']}/acknowledge", {"etag": etag_of(mine)},
                          csrf=stranger.csrf(stranger.get("/inbox")))
    assert acted.status_code == 404
    assert "Sent, waiting for the agency" in text_of(agency.get(f"/referrals/{referral['id']}"))  # untouched


def free_places(haven, service_id: str) -> dict:
    return requests.get(f"{haven.url('directory')}/v1/services/{service_id}", timeout=10).json()["capacity"]


def test_free_places_change_by_one_and_a_count_above_the_total_is_refused_beside_its_field(haven, shelter, agency):
    service = shelter["service_id"]
    page = agency.get("/capacity")
    assert page.status_code == 200 and shelter["service_name"] in text_of(page)
    before = free_places(haven, service)
    start = 1 if before["available"] == 0 else before["available"]
    if start != before["available"]:
        agency.post(f"/capacity/{service}", {"available": str(start)})

    fewer = agency.post(f"/capacity/{service}", {"change": "-1"})
    assert fewer.status_code == 200 and free_places(haven, service)["available"] == start - 1
    assert f"Saved: {start - 1} of {before['maximum']} places free." in text_of(fewer)
    more = agency.post(f"/capacity/{service}", {"change": "+1"})
    assert more.status_code == 200 and free_places(haven, service)["available"] == start

    refused = agency.post(f"/capacity/{service}", {"available": str(before["maximum"] + 1)})
    assert refused.status_code == 422
    assert "This is more than the total number of places." in refused.text.split('id="field-available"')[0][-600:]
    assert f'value="{before["maximum"] + 1}"' in refused.text  # what was typed stays
    assert free_places(haven, service)["available"] == start


def test_on_a_phone_the_unread_count_keeps_the_header_to_one_row_of_tools(haven, shelter, new_person):
    refer(haven, shelter, urgency="normal")  # the agency's inbox gets one more item
    staff = new_person(java_script=False, width=360).new_page()
    sign_in(staff, "demo-agency")
    unread, deadline = staff.locator("#unread"), time.monotonic() + 10
    while not unread.is_visible() and time.monotonic() < deadline:  # notify files it a moment later
        time.sleep(0.3)
        staff.reload()
    assert unread.is_visible()
    assert "Thông báo chưa đọc" in unread.text_content()  # still there for a screen reader
    line = staff.locator(".top-tools .who").bounding_box()["height"]
    tools, count = staff.locator(".top-tools").bounding_box(), unread.bounding_box()
    assert count["height"] <= line * 1.5 and tools["height"] <= line * 2, (line, count, tools)
    assert tools["x"] + tools["width"] <= 360
    check_page(staff, "agency-header-phone")


def test_on_a_phone_a_supervisors_four_pages_keep_to_one_row(haven, new_person):
    supervisor = new_person(java_script=False, width=360).new_page()
    sign_in(supervisor, "demo-supervisor")
    links = supervisor.locator(".menu a")
    assert links.count() >= 4
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, tops  # no page's link on a second line
    box = links.last.bounding_box()  # in Vietnamese all four are seen whole, with no sideways scroll
    assert box["x"] + box["width"] <= 360 and supervisor.evaluate("document.documentElement.scrollWidth") <= 360, box
    check_page(supervisor, "supervisor-header-phone")


# --- with JavaScript ------------------------------------------------------------------------

def test_a_new_referral_appears_in_an_open_inbox_and_the_caseworker_sees_accepted_without_reloading(
        haven, shelter, new_person):
    staff = new_person(java_script=True).new_page()
    sign_in(staff, "demo-agency")
    staff.goto("/inbox")
    staff.evaluate("window.notReloaded = true")
    referral = refer(haven, shelter, urgency="emergency")
    started = time.monotonic()
    staff.locator(f'[data-referral-id="{referral["id"]}"]').wait_for(timeout=5000)
    assert time.monotonic() - started < 5 and staff.evaluate("window.notReloaded === true")
    assert "1 chuyển gửi mới" in staff.locator("#live-announce").inner_text()
    # the emergency is ahead of every less urgent referral (older emergencies, due sooner, before it)
    waiting = staff.locator("#inbox-list ol.inbox-list").first.locator("li")
    order = [(item.get_attribute("data-referral-id"), "urgency-emergency" in item.get_attribute("class"))
             for item in waiting.all()]
    ahead = order[:[rid for rid, _ in order].index(referral["id"])]
    assert all(emergency for _, emergency in ahead), order
    check_page(staff, "agency-inbox")

    caseworker = new_person(java_script=True, width=360).new_page()
    sign_in(caseworker, "demo-caseworker")
    caseworker.goto(f"/referrals/{referral['id']}")
    assert "Đã gửi, chờ cơ sở" in caseworker.locator("#referral-status").inner_text()
    check_page(caseworker, "referral-page-caseworker")
    caseworker.evaluate("window.notReloaded = true")

    api_step(haven, referral["id"], "acknowledge")
    api_step(haven, referral["id"], "accept")
    started = time.monotonic()
    caseworker.locator("#referral-status", has_text="Đã tiếp nhận").wait_for(timeout=5000)
    assert time.monotonic() - started < 5 and caseworker.evaluate("window.notReloaded === true")
    assert caseworker.locator("#status-changed").is_visible()

    staff.goto(f"/referrals/{referral['id']}")
    assert staff.locator(".safety").is_visible()
    check_page(staff, "referral-page-agency")
    staff.goto("/capacity")
    check_page(staff, "agency-capacity")


def test_a_refused_decline_and_a_conflict_read_well_and_keep_what_was_typed(haven, shelter, new_person):
    referral = refer(haven, shelter, urgency="normal")
    staff = new_person(java_script=True, width=360).new_page()
    sign_in(staff, "demo-agency")
    staff.goto(f"/referrals/{referral['id']}")
    staff.locator("#field-note").fill("Chỉ nhận phụ nữ trên 18 tuổi")
    staff.locator(".decline-form button[type=submit]").click()
    staff.wait_for_load_state()
    assert staff.locator("#error-summary").is_visible()
    assert staff.locator("#field-note").input_value() == "Chỉ nhận phụ nữ trên 18 tuổi"
    check_page(staff, "referral-page-decline-refused")

    api_step(haven, referral["id"], "acknowledge")  # a colleague, meanwhile
    staff.locator("#field-reason").select_option("not_eligible")
    staff.locator(".decline-form button[type=submit]").click()
    staff.wait_for_load_state()
    assert staff.locator("#conflict").is_visible() and "Cơ sở đã xem" in staff.locator("#conflict").inner_text()
    assert staff.locator("#field-reason").input_value() == "not_eligible"
    assert staff.locator("#field-note").input_value() == "Chỉ nhận phụ nữ trên 18 tuổi"
    check_page(staff, "referral-page-conflict")
