"""Signing in to the portal at a real OpenID Connect provider (oidc-provider-mock), and the
services verifying the provider's tokens against its JWKS.

What the mock does not do, and so is not proven here: it ignores PKCE (it registers no
code-challenge check), so the portal's S256 challenge is checked by this test instead; its
access tokens are opaque, so the portal sends the services the (JWT) ID token, whose
audience is the portal's client id; its refresh grant returns no new ID token; and it takes
no public client (its code grant allows only client_secret_basic), so the portal here is a
confidential client with PKCE as well.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from services.portal.bootstrap import create_app
from services.portal.domain.errors import SignInRequired
from services.portal.domain.session import Tokens
from services.portal.entrypoints import kept_form
from tests.support.served_service import ServedService

CLIENT_ID = "haven-portal"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def provider():
    import os

    import oidc_provider_mock

    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the mock serves plain HTTP on localhost
    with oidc_provider_mock.run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        answer = requests.put(f"{issuer}/users/mai", json={
            "name": "Nguyễn Thị Mai", "roles": ["caseworker"], "org": "org-women-union", "locale": "en"}, timeout=5)
        assert answer.status_code == 204
        yield issuer


@pytest.fixture(scope="module")
def services(provider, tmp_path_factory):
    trust = {"HAVEN_AUTH_JWKS_URL": f"{provider}/jwks", "HAVEN_AUTH_ISSUER": provider,
             "HAVEN_AUTH_AUDIENCE": CLIENT_ID}
    data = tmp_path_factory.mktemp("oidc-services")
    started = {name: ServedService(name, data / name, **trust).start() for name in ("referral", "directory")}
    yield started
    for served in started.values():
        served.stop()


@pytest.fixture
def portal(provider, services, tmp_path):
    app = create_app({"HAVEN_DATA_DIR": str(tmp_path), "PORTAL_SECRET_KEY": "test-secret-key-of-the-portal",
                      "PORTAL_REFERRAL_URL": services["referral"].url,
                      "PORTAL_DIRECTORY_URL": services["directory"].url,
                      "HAVEN_AUTH_OIDC_ISSUER": provider, "HAVEN_AUTH_OIDC_CLIENT_ID": CLIENT_ID,
                      "HAVEN_AUTH_OIDC_CLIENT_SECRET": "the-portals-client-secret",
                      "HAVEN_AUTH_OIDC_SCOPES": "openid profile"})
    app.config["TESTING"] = True
    return app


def english(app):
    browser = app.test_client()
    browser.set_cookie("haven_lang", "en")
    return browser


def csrf_of(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def to_provider(browser, **form):
    """The sign-in page's button: the portal sends the browser to the provider."""
    sign_in = browser.get("/sign-in?next=/referrals")
    assert "Sign in with your organization" in sign_in.get_data(as_text=True)
    # Browsers hold a form's redirect to form-action: the provider may be the target, nobody else.
    provider_origin = browser.application.extensions["haven.portal"].oidc.issuer
    assert f"form-action 'self' {provider_origin};" in sign_in.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in sign_in.headers["Content-Security-Policy"]
    answer = browser.post("/auth/oidc/start", data={"csrf_token": csrf_of(sign_in), "next": "/referrals", **form})
    assert answer.status_code == 303
    return answer.headers["Location"]


def log_in_at_provider(authorization_url: str, subject: str = "mai") -> str:
    """The person types their subject into the mock's authorization form; the provider's
    answer sends the browser back to the portal's callback."""
    assert requests.get(authorization_url, timeout=5).status_code == 200  # the form
    back = requests.post(authorization_url, data={"sub": subject}, allow_redirects=False, timeout=5)
    assert back.status_code in (302, 303), back.text
    return back.headers["Location"]


def callback_path(location: str) -> str:
    parts = urlparse(location)
    assert parts.path == "/auth/callback"
    return f"{parts.path}?{parts.query}"


def bearer_of(browser) -> str:
    with browser.session_transaction() as kept:
        return kept["auth"]["at"]


def test_a_person_signs_in_at_the_provider_with_its_roles_and_the_services_accept_the_token(portal, services):
    browser = english(portal)
    authorization = to_provider(browser)
    query = parse_qs(urlparse(authorization).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] and query["nonce"]
    assert query["client_id"] == [CLIENT_ID] and "openid" in query["scope"][0].split()
    assert query["max_age"] == ["900"]  # a provider's session older than the idle limit asks for the password again

    # PKCE, checked here since the mock does not: the verifier sent with the code hashes to the challenge.
    provider = portal.extensions["haven.portal"].oidc
    sent = []
    original = provider.http.post
    provider.http.post = lambda url, **kw: sent.append(kw["data"]) or original(url, **kw)
    arrived = browser.get(callback_path(log_in_at_provider(authorization)))
    provider.http.post = original

    assert arrived.status_code == 302 and arrived.headers["Location"].endswith("/referrals")
    verifier = sent[0]["code_verifier"]
    assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() \
        == query["code_challenge"][0]
    with browser.session_transaction() as kept:
        who = kept["auth"]
    assert (who["sub"], who["name"], who["roles"], who["org"], who["via"]) == (
        "mai", "Nguyễn Thị Mai", ["caseworker"], "org-women-union", "oidc")
    assert "referral:create" in who["perms"]
    assert browser.get_cookie("haven_oidc", path="/auth/callback") is None  # the pending sign-in is used up

    token = bearer_of(browser)
    for served in services.values():  # each service verifies the provider's token with its JWKS
        me = requests.get(f"{served.url}/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.status_code == 200, me.text
        assert me.json()["roles"] == ["caseworker"] and me.json()["organization_id"] == "org-women-union"
    mine = requests.get(f"{services['referral'].url}/v1/referrals", headers={"Authorization": f"Bearer {token}"},
                        timeout=5)
    assert mine.status_code == 200, mine.text
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert requests.get(f"{services['referral'].url}/v1/auth/me", headers={"Authorization": f"Bearer {forged}"},
                        timeout=5).status_code == 401


def test_a_callback_with_another_state_is_refused(portal):
    browser = english(portal)
    location = log_in_at_provider(to_provider(browser))
    forged = re.sub(r"state=[^&]+", "state=not-this-browsers", callback_path(location))
    refused = browser.get(forged)
    assert refused.status_code == 400
    assert "could not be finished" in refused.get_data(as_text=True)
    assert browser.get("/").status_code == 302 and "/sign-in" in browser.get("/").headers["Location"]
    # and the genuine answer no longer works either: the pending sign-in was dropped
    assert browser.get(callback_path(location)).status_code == 400


def test_a_code_without_this_browsers_pkce_verifier_is_refused(portal):
    started_elsewhere = english(portal)
    location = log_in_at_provider(to_provider(started_elsewhere))
    victim = english(portal)  # login CSRF: a code pushed into a browser that never started a sign-in
    refused = victim.get(callback_path(location))
    assert refused.status_code == 400
    with victim.session_transaction() as kept:
        assert "auth" not in kept


def kept_for(portal, owner: str, path: str, typed: list[tuple[str, str]]) -> str:
    """What the sign-in page carries when `owner`'s session ended as they sent a form."""
    with portal.test_request_context():
        return kept_form.keep(owner, path, typed)


def test_the_pending_sign_in_is_encrypted_and_a_typed_form_comes_back_after_the_provider(portal):
    browser = english(portal)
    typed = [("client_ref", "HN-2025-0042"), ("story", "Chồng đánh, cần chỗ ở tối nay")]
    authorization = to_provider(browser, kept_form=kept_for(portal, "mai", "/referrals/new", typed))
    assert "HN-2025" not in authorization and "story" not in authorization  # nothing typed in a URL
    pending = browser.get_cookie("haven_oidc", path="/auth/callback").value
    assert "HN-2025" not in pending and "client_ref" not in pending
    answer = browser.get(callback_path(log_in_at_provider(authorization)))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'action="/referrals/new"' in page
    assert 'value="HN-2025-0042"' in page and "Chồng đánh, cần chỗ ở tối nay" in page


def test_a_form_kept_for_someone_else_does_not_come_back_after_the_provider(portal):
    browser = english(portal)
    typed = [("client_ref", "HN-2025-0042"), ("story", "Chồng đánh, cần chỗ ở tối nay")]
    authorization = to_provider(browser, kept_form=kept_for(portal, "another-caseworker", "/referrals/new", typed))
    answer = browser.get(callback_path(log_in_at_provider(authorization)))  # signed in as "mai"
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/")
    assert "HN-2025" not in answer.get_data(as_text=True)


def test_a_session_that_ended_offers_the_provider_again_and_brings_the_form_back(portal):
    browser = english(portal)
    browser.get(callback_path(log_in_at_provider(to_provider(browser))))  # signed in as "mai"
    form = browser.get("/", follow_redirects=True)
    with browser.session_transaction() as kept:
        auth = kept["auth"]
        auth["seen"] = 0  # idle since long ago
        kept["auth"] = auth
    refer = "/services/3f2c1a8e-5b7d-4c1e-9a2b-6d8e0f1a2b3c/refer"
    ended = browser.post(refer, data={"csrf_token": csrf_of(form), "client_ref": "HN-2025-0042"})
    page = ended.get_data(as_text=True)
    assert ended.status_code == 401 and 'action="/auth/oidc/start"' in page and 'name="password"' not in page
    assert "HN-2025" not in page
    sealed = re.search(r'name="kept_form" value="([^"]+)"', page).group(1)
    answer = browser.get(callback_path(log_in_at_provider(to_provider(browser, kept_form=sealed))))
    resumed = answer.get_data(as_text=True)
    assert answer.status_code == 200 and f'action="{refer}"' in resumed and 'value="HN-2025-0042"' in resumed


def test_sign_out_ends_the_session_and_the_providers(portal):
    browser = english(portal)
    browser.get(callback_path(log_in_at_provider(to_provider(browser))))
    home = browser.get("/")
    assert home.status_code in (200, 302) and "/sign-in" not in home.headers.get("Location", "")
    out = browser.post("/sign-out", data={"csrf_token": _any_csrf(browser)})
    assert out.status_code == 302
    ending = urlparse(out.headers["Location"])
    assert ending.path == "/oauth2/end_session"
    assert parse_qs(ending.query)["post_logout_redirect_uri"][0].endswith("/sign-in")
    assert "/sign-in" in browser.get("/").headers["Location"]


def _any_csrf(browser) -> str:
    """A CSRF token of this session (the sign-in page redirects a signed-in person, so take
    it from the session's secret the way a page's form would)."""
    from services.portal.entrypoints.security import masked_csrf_token

    with browser.application.test_request_context():
        from flask import session as flask_session
        with browser.session_transaction() as kept:
            flask_session.update(kept)
        return masked_csrf_token()


def test_renewal_at_this_provider_ends_the_session_cleanly(portal):
    """The mock's refresh grant answers an opaque access token and no ID token: nothing the
    services could verify, so the session ends (sign in again) rather than carry a token
    every service refuses."""
    browser = english(portal)
    browser.get(callback_path(log_in_at_provider(to_provider(browser))))
    with browser.session_transaction() as kept:
        tokens = Tokens(kept["auth"]["at"], kept["auth"]["exp"], kept["auth"]["rt"])
    assert tokens.refresh_token
    with pytest.raises(SignInRequired):
        portal.extensions["haven.portal"].oidc.refresh(tokens)


def test_in_a_browser_a_person_signs_in_at_the_provider_and_out_again(provider, services, tmp_path, chromium):
    """The whole flow in Chromium against a served portal: the sign-in button, the provider's
    form, back on the page asked for as the provider's person; sign-out ends it."""
    portal = ServedService("portal", tmp_path, PORTAL_DEFAULT_LANGUAGE="en",
                           PORTAL_REFERRAL_URL=services["referral"].url,
                           PORTAL_DIRECTORY_URL=services["directory"].url,
                           HAVEN_AUTH_OIDC_ISSUER=provider, HAVEN_AUTH_OIDC_CLIENT_ID=CLIENT_ID,
                           HAVEN_AUTH_OIDC_CLIENT_SECRET="the-portals-client-secret").start()
    try:
        context = chromium.new_context(base_url=portal.url, locale="en-GB")
        # the mock's page asks a CDN for its stylesheet: refused, not recorded (not the portal's)
        context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), lambda route: route.abort())
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto("/sign-in?next=/search")
        page.get_by_role("button", name="Sign in with your organization's account").click()
        page.get_by_placeholder("sub").fill("mai")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{portal.url}/search**")
        assert "Nguyễn Thị Mai" in page.locator("header").inner_text()
        page.locator("form[action='/sign-out'] button").click()
        page.wait_for_load_state()
        assert "/oauth2/end_session" in page.url  # the provider's own session is ended too
        page.goto("/search")
        assert "/sign-in" in page.url
        context.close()
    finally:
        portal.stop()


def test_a_token_naming_no_key_passes_only_while_the_provider_has_one_key():
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from haven.platform.auth import InvalidToken, signing_key

    def jwk():
        return jwt.PyJWK(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
            rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())))

    class KeySet:
        def __init__(self, keys):
            self.keys = keys

        def get_signing_keys(self):
            return self.keys

    one = jwk()
    assert signing_key(KeySet([one]), None) is one
    with pytest.raises(InvalidToken):
        signing_key(KeySet([one, jwk()]), None)  # which one? guessing would let either sign anything
