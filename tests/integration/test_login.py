"""Signing in with a local account, on every service, and what the services make of the token."""
import base64
import hashlib
import io
import logging
import re
import sqlite3
import time
from types import SimpleNamespace

import jwt
import pytest

from haven.cli import SERVICES
from haven.platform import auth, local_users
from haven.platform.local_users import InvalidCredentials, LocalUser, LocalUsers, LockedOut, hash_password
from haven.platform.logging import JsonFormatter
from haven.platform.sign_in_limits import SignInLimits
from tests.support.apps import service_app
from tests.support.auth import bearer

PASSWORD = "Mật-khẩu đủ dài 42"
LIMITS = SignInLimits()
ATTACKER, CASEWORKER, INGRESS = "203.0.113.7", "198.51.100.20", "10.42.0.17"


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


def login(client, username, password=PASSWORD, address="127.0.0.1", **headers):
    return client.post("/v1/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def quick_store(tmp_path, *names: str, **options) -> LocalUsers:
    """A store whose users' hashes take microseconds: the limits, not scrypt, are under test
    (verify_password reads the cost parameters from each hash)."""
    salt = base64.b64encode(b"0123456789abcdef").decode()
    digest = base64.b64encode(hashlib.scrypt(PASSWORD.encode(), salt=b"0123456789abcdef", n=16, r=8, p=1,
                                             dklen=32)).decode()
    store = LocalUsers(str(tmp_path / "quick"), **options)
    for name in names:
        store.add(LocalUser(name, name, ("directory_admin",)), password_hash=f"scrypt$16$8$1${salt}${digest}")
    return store


@pytest.fixture
def clock(monkeypatch):
    """The sign-in limits' clock, moved by hand: `clock[0] += seconds`."""
    now = [time.time()]
    monkeypatch.setattr(local_users, "time", SimpleNamespace(time=lambda: now[0]))
    return now


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
            "subject": "mai", "name": "Nguyễn Thị Mai", "language": "vi", "roles": ["agency_staff"],
            "organization_id": "shelter-1",
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


def test_five_failures_lock_that_address_out_of_the_name_on_every_service(apps):
    for client in [apps["directory"]] * 2 + [apps["referral"]] * 3:
        assert login(client, "mai", "guess").status_code == 401
    locked = login(apps["notify"], "mai")  # the right password, too late, from the same address
    assert locked.status_code == 429
    assert locked.mimetype == "application/problem+json"
    assert locked.get_json()["type"] == "urn:haven:problem:too-many-attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= LIMITS.window_seconds
    assert "access_token" not in locked.get_json()
    assert login(apps["notify"], "lan").status_code == 200  # other names are not affected


def test_the_limits_are_settings(tmp_path, users):
    client = service_app("directory", tmp_path, HAVEN_LOGIN_MAX_FAILURES="2").test_client()
    assert [login(client, "mai", "guess").status_code for _ in range(2)] == [401, 401]
    assert login(client, "mai").status_code == 429  # after two, not five


def test_an_attacker_elsewhere_cannot_lock_the_caseworker_out(apps, clock):
    for client in apps.values():
        for _ in range(2):
            login(client, "mai", "guess", address=ATTACKER)
    refused = login(apps["referral"], "mai", "guess", address=ATTACKER)
    assert refused.status_code == 429
    # From her own office she waits a moment at most, never the attacker's 15 minutes.
    waited = 0
    answer = login(apps["directory"], "mai", address=CASEWORKER)
    while answer.status_code == 429:
        pause = int(answer.headers["Retry-After"])
        assert 0 < pause <= LIMITS.backoff_max_seconds and "wait a moment" in answer.get_json()["detail"]
        clock[0] += pause
        waited += pause
        answer = login(apps["directory"], "mai", address=CASEWORKER)
    assert answer.status_code == 200 and waited <= LIMITS.backoff_max_seconds
    assert me(apps["notify"], answer.get_json()["access_token"]).status_code == 200


def test_behind_a_proxy_the_limits_count_the_clients_address_not_the_proxys(tmp_path, users, clock):
    client = service_app("directory", tmp_path, HAVEN_PROXY_HOPS="1").test_client()
    for _ in range(LIMITS.per_name_and_address):
        assert login(client, "mai", "guess", address=INGRESS, **{"X-Forwarded-For": ATTACKER}).status_code == 401
    assert login(client, "mai", address=INGRESS, **{"X-Forwarded-For": ATTACKER}).status_code == 429
    clock[0] += LIMITS.backoff_max_seconds
    assert login(client, "mai", address=INGRESS, **{"X-Forwarded-For": CASEWORKER}).status_code == 200


def test_one_address_trying_many_names_is_stopped(tmp_path):
    names = ("an", "binh", "chi", "dung", "mai", "giang")
    store = quick_store(tmp_path, "lan", *names, limits=SignInLimits(per_address=6))
    for name in names:
        with pytest.raises(InvalidCredentials):
            store.authenticate(name, "Password1", client=ATTACKER)
    with pytest.raises(LockedOut) as locked:
        store.authenticate("lan", PASSWORD, client=ATTACKER)  # even with a right password: not checked
    assert locked.value.limit == "address"
    assert 0 < locked.value.retry_after <= LIMITS.window_seconds
    assert store.authenticate("lan", PASSWORD, client=CASEWORKER).username == "lan"


def test_guesses_from_many_addresses_slow_the_name_down_but_never_lock_it(tmp_path):
    now = [1_000_000.0]
    store = quick_store(tmp_path, "mai", clock=lambda: now[0])
    checked, pauses, addresses = 0, [], iter(f"203.0.113.{i}" for i in range(1, 255))
    started = now[0]
    last_checked = False
    # A botnet guessing as fast as it is let, for one window; it stops right after a guess,
    # when the caseworker has the longest to wait.
    while now[0] - started < LIMITS.window_seconds or not last_checked:
        try:
            store.authenticate("mai", "guess", client=next(addresses))
        except InvalidCredentials:
            checked, last_checked = checked + 1, True
        except LockedOut as exc:
            assert exc.limit == "name"
            pauses.append(exc.retry_after)
            now[0] += exc.retry_after
            last_checked = False
    # 5 free, then 1, 2, 4 ... 32 s, then one a minute: a couple of dozen guesses per
    # 15 minutes on one name, however many addresses guess.
    assert checked <= LIMITS.per_name_and_address + 6 + LIMITS.window_seconds // LIMITS.backoff_max_seconds + 1
    assert max(pauses) == LIMITS.backoff_max_seconds and pauses[:3] == [1, 2, 4]
    # The caseworker, from her office, waits one pause at most and signs in.
    with pytest.raises(LockedOut) as waiting:
        store.authenticate("mai", PASSWORD, client=CASEWORKER)
    assert waiting.value.retry_after <= LIMITS.backoff_max_seconds
    now[0] += waiting.value.retry_after
    assert store.authenticate("mai", PASSWORD, client=CASEWORKER).username == "mai"


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


def test_the_lock_lifts_when_the_oldest_failure_leaves_the_window(tmp_path):
    now = [1_000_000.0]
    store = quick_store(tmp_path, "mai", clock=lambda: now[0])
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            store.authenticate("mai", "guess", client=ATTACKER)
        now[0] += 60
    with pytest.raises(LockedOut) as locked:
        store.authenticate("mai", PASSWORD, client=ATTACKER)
    assert locked.value.limit == "name-and-address"
    assert locked.value.retry_after == LIMITS.window_seconds - 5 * 60
    now[0] += locked.value.retry_after
    assert store.authenticate("mai", PASSWORD, client=ATTACKER).username == "mai"


def test_accounts_survive_the_upgrade_of_a_version_1_user_store(tmp_path, password_hash):
    path = tmp_path / "auth" / "users.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as old:  # the store as the previous release left it
        old.executescript("""
            CREATE TABLE users (username TEXT PRIMARY KEY, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
                roles TEXT NOT NULL, organization_id TEXT, language TEXT NOT NULL, email TEXT, phone TEXT,
                disabled INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
            CREATE TABLE sign_in_attempts (username_hash TEXT NOT NULL, attempted_at REAL NOT NULL);
            CREATE INDEX sign_in_attempts_by_name ON sign_in_attempts (username_hash, attempted_at);
            PRAGMA user_version = 1;""")
        old.execute("INSERT INTO users VALUES ('mai', 'Mai', ?, 'agency_staff', 'shelter-1', 'vi', NULL, NULL, 0, 0)",
                    (password_hash,))
        old.execute("INSERT INTO sign_in_attempts VALUES ('x', ?)", (time.time(),))
    store = LocalUsers(str(tmp_path))
    assert store.authenticate("mai", PASSWORD, client=CASEWORKER).organization_id == "shelter-1"
    with pytest.raises(InvalidCredentials):
        store.authenticate("mai", "guess", client=ATTACKER)


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
