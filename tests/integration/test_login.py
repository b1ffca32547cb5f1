"""Signing in with a local account, on every service, and what the services make of the token."""
import io
import logging
import re
import time
from types import SimpleNamespace

import jwt
import pytest

from haven.cli import SERVICES
from haven.platform import auth
from haven.platform.local_users import (
    FAILURE_WINDOW_SECONDS, InvalidCredentials, LocalUser, LocalUsers, LockedOut, hash_password,
)
from haven.platform.logging import JsonFormatter
from tests.support.apps import service_app
from tests.support.auth import bearer

PASSWORD = "Mật-khẩu đủ dài 42"


@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD)  # once: scrypt is slow on purpose


@pytest.fixture
def users(tmp_path, password_hash):
    store = LocalUsers(str(tmp_path))
    store.add(LocalUser("mai", "Nguyễn Thị Mai", ("agency_staff",), "shelter-1", email="mai@example.org"),
              password_hash=password_hash)
    store.add(LocalUser("lan", "Trần Lan", ("directory_admin",), language="en"), password_hash=password_hash)
    return store


@pytest.fixture
def apps(tmp_path, users):
    return {name: service_app(name, tmp_path).test_client() for name in sorted(SERVICES)}


def login(client, username, password=PASSWORD):
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def me(client, token):
    return client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_a_token_from_any_service_is_accepted_by_every_service(apps):
    answer = login(apps["referral"], "mai")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    for name, client in apps.items():
        identity = me(client, body["access_token"])
        assert identity.status_code == 200, name
        assert identity.get_json() == {
            "subject": "mai", "roles": ["agency_staff"], "organization_id": "shelter-1",
            "permissions": ["directory:capacity", "notify:inbox", "notify:subscriptions", "referral:personal",
                            "referral:read", "referral:respond"]}


def test_the_token_carries_its_permissions_into_a_real_endpoint(apps):
    token = login(apps["notify"], "lan").get_json()["access_token"]
    created = apps["directory"].post("/v1/organizations", json={"name": "Trung tâm CTXH (thử)"},
                                     headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201
    staff = login(apps["notify"], "mai").get_json()["access_token"]
    refused = apps["directory"].post("/v1/organizations", json={"name": "Không được"},
                                     headers={"Authorization": f"Bearer {staff}"})
    assert refused.status_code == 403


def test_user_names_are_not_case_sensitive(apps):
    assert login(apps["directory"], "  MAI ").status_code == 200


def test_the_lifetime_comes_from_the_setting(tmp_path, users):
    client = service_app("referral", tmp_path, HAVEN_AUTH_TOKEN_TTL_SECONDS="120").test_client()
    body = login(client, "mai").get_json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert body["expires_in"] == 120 and claims["exp"] - claims["iat"] == 120
    assert claims["sub"] == "mai" and claims["org"] == "shelter-1" and claims["locale"] == "vi"


def _refusal(response):
    body = response.get_json()
    return response.status_code, response.mimetype, response.headers.get("WWW-Authenticate"), \
        {key: body[key] for key in ("type", "title", "status", "detail")}


def test_wrong_password_unknown_user_and_disabled_account_get_the_same_401(apps, users):
    client = apps["directory"]
    wrong_password = login(client, "mai", "not the password")
    unknown_user = login(client, "nobody-here")
    users.disable("lan")
    disabled = login(client, "lan")  # right password, disabled account
    assert _refusal(wrong_password)[0] == 401
    assert _refusal(wrong_password)[1] == "application/problem+json"
    assert _refusal(wrong_password) == _refusal(unknown_user) == _refusal(disabled)
    assert "access_token" not in disabled.get_json()


def test_an_unknown_user_costs_as_much_time_as_a_wrong_password(apps):
    client = apps["directory"]
    login(client, "mai", "warm-up")

    def elapsed(username):
        started = time.perf_counter()
        assert login(client, username, "wrong").status_code == 401
        return time.perf_counter() - started

    known = min(elapsed("mai") for _ in range(2))
    unknown = min(elapsed(f"ghost-{i}") for i in range(2))
    # Both run one scrypt (~0.2 s); skipping it for unknown names would take ~1 ms.
    assert unknown > known * 0.5


def test_five_failures_lock_the_name_for_everyone_on_every_service(apps):
    for client in [apps["directory"]] * 2 + [apps["referral"]] * 3:
        assert login(client, "mai", "guess").status_code == 401
    locked = login(apps["notify"], "mai")  # the right password, too late
    assert locked.status_code == 429
    assert locked.mimetype == "application/problem+json"
    assert locked.get_json()["type"] == "urn:haven:problem:too-many-attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= FAILURE_WINDOW_SECONDS
    assert "access_token" not in locked.get_json()
    assert login(apps["notify"], "lan").status_code == 200  # other names are not affected


def test_unknown_names_lock_too_so_the_lockout_tells_nothing(apps):
    for _ in range(5):
        assert login(apps["directory"], "ghost", "guess").status_code == 401
    assert login(apps["directory"], "ghost", "guess").status_code == 429


def test_a_success_clears_earlier_failures(apps):
    for _ in range(4):
        login(apps["directory"], "mai", "guess")
    assert login(apps["directory"], "mai").status_code == 200
    for _ in range(4):
        assert login(apps["directory"], "mai", "guess").status_code == 401
    assert login(apps["directory"], "mai").status_code == 200


def test_the_lock_lifts_when_the_oldest_failure_leaves_the_window(tmp_path, users):
    now = [1_000_000.0]
    store = LocalUsers(str(tmp_path), clock=lambda: now[0])
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            store.authenticate("mai", "guess")
        now[0] += 60
    with pytest.raises(LockedOut) as locked:
        store.authenticate("mai", PASSWORD)
    assert locked.value.retry_after == FAILURE_WINDOW_SECONDS - 5 * 60
    now[0] += locked.value.retry_after
    assert store.authenticate("mai", PASSWORD).username == "mai"


@pytest.mark.parametrize("body, status, field", [
    ({"username": "mai"}, 422, "password"),
    ({"password": PASSWORD}, 422, "username"),
    ({"username": ["mai"], "password": PASSWORD}, 422, "username"),
    ({"username": "mai", "password": "x" * 2000}, 422, "password"),
    ({"username": "mai", "password": PASSWORD, "remember_me": True}, 422, "remember_me"),
])
def test_a_body_of_the_wrong_shape_is_422_naming_the_field(apps, body, status, field):
    response = apps["referral"].post("/v1/auth/login", json=body)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert field in {error["field"] for error in response.get_json()["errors"]}


def test_a_body_that_is_not_json_is_400(apps):
    response = apps["referral"].post("/v1/auth/login", data='{"username": "mai", "password":',
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_an_expired_token_is_401(apps, monkeypatch):
    # The login issues its token as if half an hour ago: 15 minutes' lifetime are over.
    monkeypatch.setattr(auth, "time", SimpleNamespace(time=lambda: time.time() - 1800))
    token = login(apps["directory"], "mai").get_json()["access_token"]
    monkeypatch.undo()
    expired = me(apps["referral"], token)
    assert expired.status_code == 401 and expired.mimetype == "application/problem+json"
    assert "expired" in expired.get_json()["detail"]
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_by_another_key_is_401(apps, tmp_path):
    forged = bearer(tmp_path / "elsewhere", "admin", subject="mai")  # a key pair of its own
    for client in apps.values():
        assert client.get("/v1/auth/me", headers=forged).status_code == 401
    assert me(apps["directory"], "not-a-jwt").status_code == 401
    assert apps["directory"].get("/v1/auth/me").status_code == 401  # no token at all


def test_login_is_disabled_when_an_identity_provider_issues_tokens(tmp_path, users):
    client = service_app("referral", tmp_path, HAVEN_AUTH_JWKS_URL="http://127.0.0.1:9/jwks.json").test_client()
    response = login(client, "mai")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:haven:problem:login-disabled"
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_login_and_me_are_in_every_openapi_document(apps, service):
    paths = apps[service].get("/openapi.json").get_json()["paths"]
    assert {"post"} <= set(paths["/v1/auth/login"]) and {"get"} <= set(paths["/v1/auth/me"])
    documented = set(paths["/v1/auth/login"]["post"]["responses"])
    assert {"200", "401", "404", "422", "429"} <= documented


def test_passwords_tokens_and_user_names_stay_out_of_the_logs(apps):
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("test"))
    logging.getLogger().addHandler(handler)
    try:
        token = login(apps["directory"], "mai").get_json()["access_token"]
        me(apps["directory"], token)
        login(apps["directory"], "mai", "wrong-but-secret")
        login(apps["directory"], "Secret-typed-as-name", "x")
    finally:
        logging.getLogger().removeHandler(handler)
    logged = lines.getvalue()
    assert "sign-in failed" in logged  # the handler did see the requests
    for secret in (PASSWORD, "wrong-but-secret", "Secret-typed-as-name", "secret-typed-as-name", token):
        assert secret not in logged
    assert not re.search(r"\bmai\b", logged)
