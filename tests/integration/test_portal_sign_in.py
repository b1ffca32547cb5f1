"""The sign-in limits still protect caseworkers when everyone signs in through the portal.

Every sign-in through the portal reaches the services from the portal's address; the
portal names the person's address (X-Haven-Sign-In-Client) and the services believe it
only from HAVEN_SIGN_IN_TRUSTED_CLIENTS. Else one guesser would lock out every portal user.
"""
from __future__ import annotations

import ipaddress
import re

import pytest

from haven.platform.local_users import LocalUser, LocalUsers, hash_password
from haven.platform.sign_in_limits import SIGN_IN_CLIENT_HEADER, counted_client, networks
from services.portal.bootstrap import create_app
from tests.support.apps import service_app
from tests.support.served_service import ServedService

PASSWORD = "Mật-khẩu của Lan đủ dài"
GUESSER, CASEWORKER = "203.0.113.7", "198.51.100.20"
LIMITS = {"HAVEN_LOGIN_MAX_FAILURES": "2", "HAVEN_LOGIN_MAX_FAILURES_PER_ADDRESS": "4"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_caseworker(data_dir) -> None:
    LocalUsers(str(data_dir)).add(LocalUser("lan", "Trần Lan", ("caseworker",), "org-1"),
                                  password_hash=hash_password(PASSWORD))


@pytest.fixture(scope="module")
def referral(tmp_path_factory):
    data = tmp_path_factory.mktemp("portal-sign-in")
    add_caseworker(data)
    served = ServedService("referral", data, **LIMITS).start()  # trusts 127.0.0.1: the portal's address
    yield served
    served.stop()


@pytest.fixture(scope="module")
def portal(referral, tmp_path_factory):
    app = create_app({"HAVEN_DATA_DIR": str(tmp_path_factory.mktemp("portal")), "PORTAL_REFERRAL_URL": referral.url,
                      "PORTAL_SECRET_KEY": "portal-test-key", "PORTAL_DEFAULT_LANGUAGE": "en"})
    app.config["TESTING"] = True
    return app


def sign_in(app, address: str, username: str, password: str):
    browser = app.test_client()
    page = browser.get("/sign-in", environ_base={"REMOTE_ADDR": address})
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    return browser.post("/sign-in", data={"csrf_token": token, "username": username, "password": password,
                                          "next": "/"}, environ_base={"REMOTE_ADDR": address})


def test_a_guesser_behind_the_portal_does_not_lock_out_a_caseworker_signing_in_through_it(portal):
    answers = [sign_in(portal, GUESSER, name, "wrong password").status_code
               for name in ("lan", "mai", "hoa", "tuan", "linh", "nam")]
    assert answers[:4] == [401, 401, 401, 401] and answers[4:] == [429, 429]  # the guesser meets the limit...
    stopped = sign_in(portal, GUESSER, "lan", PASSWORD)
    assert stopped.status_code == 429 and "Too many failed sign-ins" in stopped.get_data(as_text=True)
    # ...and only the guesser: Lan, from her own office, signs in through the same portal.
    her = sign_in(portal, CASEWORKER, "lan", PASSWORD)
    assert her.status_code == 302, her.get_data(as_text=True)[:500]


def test_a_direct_client_cannot_name_another_address(tmp_path):
    add_caseworker(tmp_path)
    service = service_app("referral", tmp_path, **LIMITS).test_client()
    answers = []
    for n in range(6):  # each attempt claims to come from another address
        answers.append(service.post("/v1/auth/login", json={"username": f"user{n}", "password": "wrong"},
                                    headers={SIGN_IN_CLIENT_HEADER: f"192.0.2.{n + 1}"},
                                    environ_base={"REMOTE_ADDR": GUESSER}).status_code)
    assert answers == [401, 401, 401, 401, 429, 429]  # counted against its own address all the same


def test_which_address_an_attempt_counts_against():
    portals = networks("127.0.0.1, ::1,10.42.0.0/16")
    assert counted_client("127.0.0.1", CASEWORKER, portals) == CASEWORKER
    assert counted_client("10.42.3.9", "2001:db8::7", portals) == "2001:db8::7"
    assert counted_client("::1", CASEWORKER, portals) == CASEWORKER
    assert counted_client(GUESSER, CASEWORKER, portals) == GUESSER  # not a portal: the header is ignored
    assert counted_client("127.0.0.1", "not an address", portals) == "127.0.0.1"  # rubbish: the portal's own
    assert counted_client("127.0.0.1", None, portals) == "127.0.0.1"
    assert portals[2] == ipaddress.ip_network("10.42.0.0/16")
    with pytest.raises(ValueError):
        networks("10.0.0.0/8,portal.internal")


def test_a_token_is_renewed_while_its_account_is_enabled_and_never_after(tmp_path):
    """The portal's sliding session renews with /v1/auth/refresh: a disabled account stops
    there, at the next renewal, not when the session would have ended."""
    add_caseworker(tmp_path)
    service = service_app("referral", tmp_path).test_client()
    first = service.post("/v1/auth/login", json={"username": "lan", "password": PASSWORD}).get_json()["access_token"]
    renewed = service.post("/v1/auth/refresh", headers={"Authorization": f"Bearer {first}"})
    assert renewed.status_code == 200 and renewed.headers["Cache-Control"] == "no-store"
    second = renewed.get_json()["access_token"]
    assert second != first
    assert service.get("/v1/auth/me", headers={"Authorization": f"Bearer {second}"}).get_json()["subject"] == "lan"
    assert service.post("/v1/auth/refresh").status_code == 401  # no token, no renewal
    LocalUsers(str(tmp_path)).disable("lan")
    refused = service.post("/v1/auth/refresh", headers={"Authorization": f"Bearer {second}"})
    assert refused.status_code == 401 and "can no longer sign in" in refused.get_json()["detail"]


def test_with_an_identity_provider_the_services_renew_nothing(tmp_path):
    service = service_app("referral", tmp_path, HAVEN_AUTH_JWKS_URL="https://id.example.org/jwks").test_client()
    assert service.post("/v1/auth/refresh").status_code == 404
