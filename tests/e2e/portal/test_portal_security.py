"""What keeps a survivor's case safe in the browser, checked on the real portal: the headers
of every page, the session cookie, CSRF, escaping, and the templates themselves (no inline
script or style, no personal data in a URL)."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from services.portal.bootstrap import create_app
from tests.support.portal_client import PortalClient, text_of

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "portal" / "templates"
ATTACK = "<script>alert(1)</script>"
# Fields that carry a person (survivor or worker): never in a GET form, so never in a URL.
PERSONAL = re.compile(r"name|phone|address|story|client_ref|survivor|contact|birth|password|note|description|"
                      r"outcome|reason_text|email", re.I)


def routes() -> list[str]:
    """The portal's GET pages without URL parameters, as its own URL map lists them."""
    app = create_app({"HAVEN_DATA_DIR": "/tmp", "PORTAL_SECRET_KEY": "only-to-list-routes"})
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")})


def assert_safe_headers(answer, where: str) -> None:
    headers = answer.headers
    csp = headers.get("Content-Security-Policy", "")
    assert csp, f"{where}: no Content-Security-Policy"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{where}: {csp}"
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert "no-store" in headers.get("Cache-Control", ""), f"{where}: {headers.get('Cache-Control')}"


@pytest.mark.parametrize("user", [None, "demo-caseworker", "demo-agency", "demo-supervisor"])
def test_every_page_answer_carries_the_strict_headers_and_is_never_cached(portal_url, user):
    person = PortalClient(portal_url, language="en")
    if user:
        person.sign_in(user)
    seen = 0
    for path in routes() + ["/no-such-page", "/referrals/" + str(uuid.uuid4())]:
        if path in ("/healthz", "/readyz", "/metrics"):
            continue
        answer = person.get(path, allow_redirects=False)
        assert answer.status_code < 500, f"{path} as {user}: {answer.status_code}"
        assert_safe_headers(answer, f"{path} as {user}")
        seen += 1
    assert seen >= 3


def test_assets_have_hashed_names_and_are_cached_for_a_year(portal_url):
    page = PortalClient(portal_url).get("/sign-in")
    assets = set(re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js|svg))"', page.text))
    assert assets, "the sign-in page links no stylesheet or script"
    for path in assets:
        assert re.search(r"[.-][0-9a-f]{8,}\.", path), f"{path}: no content hash in the name"
        answer = PortalClient(portal_url).get(path)
        assert answer.status_code == 200, path
        cache = answer.headers["Cache-Control"]
        assert "immutable" in cache and "max-age=31536000" in cache, f"{path}: {cache}"
        assert answer.headers.get("X-Content-Type-Options") == "nosniff"


def session_cookie(set_cookie: str) -> str:
    found = [c for c in re.split(r",(?=\s*\w+=)", set_cookie) if c.strip().startswith("haven_session=")]
    assert found, f"no session cookie in {set_cookie!r}"
    return found[0]


def test_the_session_cookie_is_http_only_and_same_site(portal_url):
    person = PortalClient(portal_url)
    person.get("/sign-in")
    answer = person.post("/sign-in", {"username": "demo-caseworker", "password": "haven-demo", "next": "/"},
                         allow_redirects=False)
    cookie = session_cookie(answer.headers["Set-Cookie"])
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # gone when the browser closes
    assert "Secure" not in cookie  # plain HTTP on 127.0.0.1 in `haven run`


def test_with_secure_cookies_the_session_cookie_never_travels_in_clear(tmp_path):
    app = create_app({"HAVEN_DATA_DIR": str(tmp_path), "PORTAL_SECRET_KEY": "k" * 32, "PORTAL_COOKIE_SECURE": "true"})
    answer = app.test_client().get("/sign-in")
    cookie = session_cookie(answer.headers["Set-Cookie"])
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(portal_url):
    person = PortalClient(portal_url, language="en").sign_in("demo-agency")
    good = person.csrf(person.get("/capacity"))
    for token in ("", "bm90LXRoZS10b2tlbg==", good[:-4] + "AAA="):
        fields = [("language", "vi"), ("next", "/capacity")] + ([("csrf_token", token)] if token else [])
        refused = person.http.post(f"{portal_url}/language", data=fields, allow_redirects=False, timeout=15)
        assert refused.status_code == 400, token
        assert "For your safety the form was not sent" in text_of(refused)
        assert "haven_lang" not in refused.headers.get("Set-Cookie", "")
        out = person.http.post(f"{portal_url}/sign-out", data=fields, allow_redirects=False, timeout=15)
        assert out.status_code == 400
    still = person.get("/capacity", allow_redirects=False)
    assert still.status_code == 200 and "<html lang=\"en\"" in still.text  # still signed in, still English
    # a forged token from another session does not work either
    other = PortalClient(portal_url).sign_in("demo-caseworker")
    stolen = other.csrf(other.get("/sign-in", allow_redirects=True))
    assert person.post("/sign-out", {}, csrf=stolen, allow_redirects=False).status_code == 400


def test_a_post_without_a_token_and_without_a_session_asks_to_sign_in(portal_url):
    stranger = PortalClient(portal_url, language="en")
    answer = stranger.http.post(f"{portal_url}/sign-in", data={"username": "demo-caseworker",
                                                               "password": "haven-demo", "next": "/"},
                                allow_redirects=False, timeout=15)
    assert answer.status_code in (400, 401)
    assert stranger.get("/capacity", allow_redirects=False).status_code == 302  # not signed in


def test_html_typed_in_is_shown_as_text(portal_url):
    person = PortalClient(portal_url, language="en")
    person.get("/sign-in")
    answer = person.post("/sign-in", {"username": ATTACK, "password": "x", "next": "/"})
    assert ATTACK not in answer.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    searcher = PortalClient(portal_url, language="en").sign_in("demo-caseworker")
    results = searcher.get(f"/search?q={quote(ATTACK)}")
    assert results.status_code == 200
    assert ATTACK not in results.text and "&lt;script&gt;" in results.text
    next_attack = searcher.get("/sign-in?next=" + quote('/"><script>alert(1)</script>'))
    assert "<script>alert(1)" not in next_attack.text


def templates() -> list[Path]:
    found = sorted(TEMPLATES.glob("*.html"))
    assert found
    return found


def test_no_template_has_inline_script_inline_style_or_event_handlers():
    for template in templates():
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            assert re.search(r"\bsrc=", tag), f"{template.name}: inline <script> ({tag})"
        assert not re.search(r"<style\b", text, flags=re.I), f"{template.name}: a <style> element"
        assert not re.search(r"\sstyle\s*=", text, flags=re.I), f"{template.name}: a style= attribute"
        handler = re.search(r"<[^>]*\son[a-z]+\s*=", text, flags=re.I)
        assert not handler, f"{template.name}: an on…= handler ({handler.group(0)[:80]})"
        assert not re.search(r"javascript:", text, flags=re.I), f"{template.name}: a javascript: URL"


def test_no_form_puts_personal_data_in_a_url():
    for template in templates():
        text = template.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b.*?</form>", text, flags=re.S | re.I):
            opening = re.match(r"<form\b[^>]*>", form, flags=re.I).group(0)
            method = re.search(r'method="(\w+)"', opening, flags=re.I)
            assert method, f"{template.name}: a form without a method (GET by default): {opening}"
            if method.group(1).lower() == "post":
                continue
            # A GET form's fields end up in the URL: filters and search words only.
            assert "<textarea" not in form.lower(), f"{template.name}: a GET form with a text area"
            for name in re.findall(r'name="([^"{]+)"', form):
                assert not PERSONAL.search(name), f"{template.name}: GET form field {name!r} may carry a person"
