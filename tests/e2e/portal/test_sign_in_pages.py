"""Signing in and out of the real portal, what a session's end keeps, and the language switch.

Most checks go through PortalClient (plain HTTP, as a browser without JavaScript); idle
expiry uses a second portal on the same Haven whose sessions end after 3 idle seconds.
Failed sign-ins here use names other helpers' journeys do not sign in with, so the sign-in
limits never slow those down.
"""
from __future__ import annotations

import html
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import browser as browsers
from tests.support.portal_client import PortalClient, text_of
from tests.support.served_service import ServedService

WRONG = "The user name or password is not correct."
IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def quick_portal(haven, tmp_path_factory):
    """A portal whose sessions end after IDLE_SECONDS without a request."""
    served = ServedService("portal", tmp_path_factory.mktemp("quick-portal"),
                           PORTAL_IDLE_MINUTES=str(IDLE_SECONDS / 60), PORTAL_DEFAULT_LANGUAGE="en",
                           PORTAL_DIRECTORY_URL=haven.url("directory"), PORTAL_REFERRAL_URL=haven.url("referral"),
                           PORTAL_NOTIFY_URL=haven.url("notify")).start()
    yield served
    served.stop()


def hidden(page, name: str, form: str | None = "/sign-in") -> list[str]:
    """The hidden field's values in the form posting to `form` (None: in any form)."""
    text = page.text
    if form is not None:
        found = re.search(rf'<form[^>]*action="{re.escape(form)}".*?</form>', text, flags=re.S)
        text = found.group(0) if found else ""
    return [html.unescape(v) for v in re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', text)]


def without_tokens(page) -> str:
    return re.sub(r'(name="csrf_token" value|data-csrf)="[^"]+"', "", page.text)


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(portal_url):
    person = PortalClient(portal_url, language="en")
    person.get("/sign-in")
    wrong_password = person.post("/sign-in", {"username": "demo-ops", "password": "not her password", "next": "/"})
    person.get("/sign-in")
    unknown = person.post("/sign-in", {"username": "nobody-at-all", "password": "not her password", "next": "/"})
    assert wrong_password.status_code == unknown.status_code == 401
    assert WRONG in text_of(wrong_password) and WRONG in text_of(unknown)
    # Nothing tells the two apart but the name she typed, which is kept for her to correct.
    assert without_tokens(wrong_password).replace("demo-ops", "NAME") == \
        without_tokens(unknown).replace("nobody-at-all", "NAME")
    assert 'value="not her password"' not in wrong_password.text  # a password is never echoed


def test_an_empty_form_says_what_is_missing_beside_the_fields(portal_url):
    person = PortalClient(portal_url, language="en")
    person.get("/sign-in")
    answer = person.post("/sign-in", {"username": "", "password": "", "next": "/"})
    assert answer.status_code == 422
    assert "Enter your user name." in text_of(answer) and "Enter your password." in text_of(answer)


def test_signing_in_brings_the_person_back_to_the_page_they_asked_for(portal_url):
    person = PortalClient(portal_url, language="en")
    asked = person.get("/capacity", allow_redirects=False)
    assert asked.status_code == 302
    sign_in = urlsplit(asked.headers["Location"])
    assert sign_in.path == "/sign-in" and parse_qs(sign_in.query)["next"] == ["/capacity"]
    form = person.get(f"{sign_in.path}?{sign_in.query}")
    assert hidden(form, "next") == ["/capacity"]
    arrived = person.post("/sign-in", {"username": "demo-agency", "password": "haven-demo", "next": "/capacity"},
                          allow_redirects=False)
    assert arrived.status_code == 302 and arrived.headers["Location"] == "/capacity"


@pytest.mark.parametrize("elsewhere", ["//evil.example/steal", "https://evil.example/", "/\\evil.example",
                                       "\\\\evil.example"])
def test_no_sign_in_sends_the_person_to_another_site(portal_url, elsewhere):
    person = PortalClient(portal_url, language="en")
    form = person.get("/sign-in", params={"next": elsewhere})
    assert hidden(form, "next") == ["/"]
    arrived = person.post("/sign-in", {"username": "demo-supervisor", "password": "haven-demo", "next": elsewhere},
                          allow_redirects=False)
    assert arrived.status_code == 302 and arrived.headers["Location"] == "/"
    switched = person.post("/language", {"language": "en", "next": elsewhere}, csrf=person.csrf(form),
                           allow_redirects=False)
    assert switched.headers["Location"] == "/"


def test_the_english_switch_is_remembered_across_pages_and_sign_out(portal_url):
    person = PortalClient(portal_url)
    page = person.get("/sign-in")
    assert "Đăng nhập" in text_of(page)  # Vietnamese by default
    person.post("/language", {"language": "en", "next": "/sign-in"})
    assert "Sign in to Haven" in text_of(person.last)
    person.post("/sign-in", {"username": "demo-supervisor", "password": "haven-demo", "next": "/"})
    assert person.last.ok and "<html lang=\"en\"" in person.last.text
    out = person.post("/sign-out", {})
    assert urlsplit(out.url).path == "/sign-in"
    assert "You are signed out." in text_of(out) and "<html lang=\"en\"" in out.text


def test_sign_out_ends_the_session(portal_url):
    person = PortalClient(portal_url, language="en").sign_in("demo-agency")
    assert person.get("/capacity", allow_redirects=False).status_code == 200
    person.post("/sign-out", {}, csrf=person.csrf(person.get("/capacity")))
    again = person.get("/capacity", allow_redirects=False)
    assert again.status_code == 302 and urlsplit(again.headers["Location"]).path == "/sign-in"


def test_a_form_sent_after_the_session_ended_is_kept_and_sent_again_after_signing_in(quick_portal):
    person = PortalClient(quick_portal.url, language="en").sign_in("demo-agency")
    form = person.get("/capacity")
    service = f"/capacity/{uuid.uuid4()}"
    time.sleep(IDLE_SECONDS + 0.5)  # she steps away; the session ends
    answer = person.post(service, {"available": "7", "maximum": "12"}, csrf=person.csrf(form))
    assert answer.status_code == 401
    words = text_of(answer)
    assert "Your session ended because it was idle" in words and "What you typed is kept." in words
    [kept] = hidden(answer, "kept_form")
    assert "available" not in kept and service not in kept  # sealed: the next person reads nothing in it
    resumed = person.post("/sign-in", {"username": "demo-agency", "password": "haven-demo", "next": service,
                                       "kept_form": kept})
    assert resumed.status_code == 200 and "You are signed in again" in text_of(resumed)
    assert f'action="{service}"' in resumed.text
    assert hidden(resumed, "available", service) == ["7"] and hidden(resumed, "maximum", service) == ["12"]
    # Sending it goes to the page it was meant for, as her again (not the sign-in page).
    sent = person.post(service, {"available": "7", "maximum": "12"}, csrf=person.csrf(resumed),
                       allow_redirects=False)
    assert sent.status_code != 401 and "/sign-in" not in sent.headers.get("Location", "")


def test_a_form_kept_after_a_session_ended_never_goes_to_the_next_person_who_signs_in(quick_portal):
    """A shared computer: the caseworker's session ends with a referral half sent; a
    colleague of another role signs in there next. Nothing of the form reaches them."""
    caseworker = PortalClient(quick_portal.url, language="en").sign_in("demo-caseworker")
    form = caseworker.get("/")
    time.sleep(IDLE_SECONDS + 0.5)
    service = f"/services/{uuid.uuid4()}/refer"
    answer = caseworker.post(service, {"personal_name": "Chị Hạnh Trinh", "personal_phone": "0912 345 678"},
                             csrf=caseworker.csrf(form))
    assert answer.status_code == 401 and "Hạnh Trinh" not in answer.text and "0912" not in answer.text
    [kept] = hidden(answer, "kept_form")
    colleague = caseworker.post("/sign-in", {"username": "demo-supervisor", "password": "haven-demo",
                                             "next": service, "kept_form": kept}, allow_redirects=False)
    assert colleague.status_code == 302 and urlsplit(colleague.headers["Location"]).path == "/"
    assert "Hạnh Trinh" not in colleague.text and "0912" not in colleague.text
    home = caseworker.get("/")
    assert "Hạnh Trinh" not in home.text and "You are signed in again" not in text_of(home)
    # an altered kept form is no form at all
    forged = PortalClient(quick_portal.url, language="en").post(
        "/sign-in", {"username": "demo-caseworker", "password": "haven-demo", "next": "/", "kept_form": kept[:-4] + "AAAA"},
        allow_redirects=False)
    assert forged.status_code == 302 and urlsplit(forged.headers["Location"]).path == "/"


def test_a_form_sent_with_no_session_at_all_is_not_kept_for_whoever_signs_in(quick_portal):
    stranger = PortalClient(quick_portal.url, language="en")
    form = stranger.get("/sign-in")
    answer = stranger.post(f"/services/{uuid.uuid4()}/refer", {"personal_name": "Chị Hạnh Trinh"},
                           csrf=stranger.csrf(form))
    assert answer.status_code == 401
    assert hidden(answer, "kept_form") == [] and "Hạnh Trinh" not in answer.text
    assert "What you typed is kept." not in text_of(answer)


def test_an_idle_session_ends_and_a_page_asked_for_after_it_comes_back_after_sign_in(quick_portal):
    person = PortalClient(quick_portal.url, language="en").sign_in("demo-agency")
    assert person.get("/capacity", allow_redirects=False).status_code == 200
    time.sleep(IDLE_SECONDS + 0.5)
    ended = person.get("/capacity")
    assert urlsplit(ended.url).path == "/sign-in" and hidden(ended, "next") == ["/capacity"]
    assert "Your session ended because it was idle" in text_of(ended)
    arrived = person.post("/sign-in", {"username": "demo-agency", "password": "haven-demo", "next": "/capacity"},
                          allow_redirects=False)
    assert arrived.headers["Location"] == "/capacity"


def test_a_background_poll_does_not_keep_the_session_alive(quick_portal):
    person = PortalClient(quick_portal.url, language="en").sign_in("demo-agency")
    polled = [e for e in quick_portal_passive_paths() if person.get(e, allow_redirects=False).status_code == 200]
    assert polled, "no passive (polled) page answered"
    for _ in range(4):  # the page keeps polling while nobody is there
        time.sleep(1)
        for path in polled:
            person.get(path, allow_redirects=False)
    assert person.get("/capacity", allow_redirects=False).status_code == 302


def quick_portal_passive_paths() -> list[str]:
    """The portal's views marked @passive, as paths (those without URL parameters)."""
    from services.portal.bootstrap import create_app

    app = create_app({"HAVEN_DATA_DIR": "/tmp", "PORTAL_SECRET_KEY": "only-to-list-routes"})
    return [rule.rule for rule in app.url_map.iter_rules()
            if getattr(app.view_functions[rule.endpoint], "portal_passive", False) and not rule.arguments]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_sign_in_page_is_accessible(new_person, portal_url, language):
    context = new_person(width=360)
    context.add_cookies([{"name": "haven_lang", "value": language, "url": portal_url}])
    page = context.new_page()
    page.goto("/sign-in")
    assert page.locator("html").get_attribute("lang") == language
    browsers.check_page(page, f"sign-in-{language}")
    page.locator("form[action='/sign-in'] button[type=submit]").click()  # nothing typed
    page.wait_for_load_state()
    assert page.locator("#field-username").get_attribute("aria-invalid") == "true" or \
        page.locator(".error-summary, [id^=error-]").count() > 0
    browsers.check_page(page, f"sign-in-errors-{language}")


def test_the_resume_page_is_accessible(chromium, quick_portal):
    context = browsers.new_context(chromium, quick_portal.url, width=360)
    try:
        page = context.new_page()
        browsers.sign_in(page, "demo-agency")
        page.goto("/capacity")
        time.sleep(IDLE_SECONDS + 0.5)
        service = f"/capacity/{uuid.uuid4()}"
        # A form she had open, sent after the session ended (built here: any page's form will do).
        page.evaluate("""(action) => {
            const form = document.createElement('form'); form.method = 'post'; form.action = action;
            for (const [name, value] of [['csrf_token', document.body.dataset.csrf], ['available', '3']]) {
                const input = document.createElement('input'); input.type = 'hidden';
                input.name = name; input.value = value; form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();
        }""", service)
        page.wait_for_load_state()
        page.locator("input[name=kept_form]").wait_for(state="attached")  # the sign-in page, carrying it
        assert page.locator("input[name=kept_form]").count() == 1 and "available" not in page.content()
        browsers.check_page(page, "sign-in-session-ended")
        page.locator("#field-username").fill("demo-agency")
        page.locator("#field-password").fill("haven-demo")
        page.locator("form[action='/sign-in'] button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(f"form[action='{service}'] input[name=available]").get_attribute("value") == "3"
        browsers.check_page(page, "resume")
    finally:
        context.close()
