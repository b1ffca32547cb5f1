"""`haven users add/list/disable`, `haven token`, and the demo accounts of a first start."""
import pytest
from click.testing import CliRunner

from haven.cli import DIRECTORY, main
from haven.platform.auth import LocalKeys, TokenVerifier
from haven.platform.local_users import DEMO_PASSWORD, DEMO_USERS, LocalUsers, verify_password
from haven.platform.service_spec import resolve
from services.directory import demo_data
from tests.support.apps import service_app

PASSWORD = "một mật khẩu dài"


@pytest.fixture
def haven(tmp_path):
    runner = CliRunner()

    def invoke(*args, input=None, **environ):
        return runner.invoke(main, list(args), input=input, env={"HAVEN_DATA_DIR": str(tmp_path), **environ})
    return invoke


def test_add_list_disable(haven, tmp_path):
    added = haven("users", "add", "Hoa", "--role", "caseworker", "--organization", "agency-1", "--name", "Lê Hoa",
                  "--email", "hoa@example.org", "--password-stdin", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "added hoa (caseworker)" in added.output
    assert PASSWORD not in added.output
    haven("users", "add", "sup", "--role", "supervisor", "--role", "admin", "--organization", "agency-1",
          "--language", "en", "--password-stdin", input=PASSWORD + "\n")

    listed = haven("users", "list")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["hoa\tcaseworker\tagency-1\tvi\tactive",
                                          "sup\tsupervisor,admin\tagency-1\ten\tactive"]
    assert "hoa@example.org" not in listed.output  # contact details are not for terminals and logs

    stored = LocalUsers(str(tmp_path)).get("hoa")
    assert stored.display_name == "Lê Hoa" and stored.email == "hoa@example.org"

    disabled = haven("users", "disable", "HOA")
    assert disabled.exit_code == 0 and "disabled hoa" in disabled.output
    assert "hoa\tcaseworker\tagency-1\tvi\tdisabled" in haven("users", "list").output


def test_the_password_is_hashed_with_scrypt_and_a_salt_of_its_own(haven, tmp_path):
    for name in ("a1", "a2"):
        haven("users", "add", name, "--role", "ops", "--password-stdin", input=PASSWORD + "\n")
    import sqlite3

    with sqlite3.connect(LocalUsers(str(tmp_path)).path) as db:
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM users ORDER BY username")]
    assert all(h.startswith("scrypt$32768$8$3$") for h in hashes)
    assert hashes[0] != hashes[1] and PASSWORD not in "".join(hashes)
    assert verify_password(PASSWORD, hashes[0]) and not verify_password(PASSWORD + "!", hashes[0])
    assert not verify_password(PASSWORD, "md5$whatever")


def test_the_password_can_be_typed_at_a_prompt(haven, tmp_path):
    added = haven("users", "add", "typed", "--role", "ops", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    assert LocalUsers(str(tmp_path)).authenticate("typed", PASSWORD).roles == ("ops",)


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "add", "cw", "--role", "caseworker"], PASSWORD, "organization"),
    (["users", "add", "st", "--role", "agency_staff"], PASSWORD, "organization"),
    (["users", "add", "short", "--role", "ops"], "short", "password: at least 8"),
    (["users", "add", "bad name!", "--role", "ops"], PASSWORD, "username"),
    (["users", "add", "x", "--role", "root"], PASSWORD, "'root' is not one of"),
])
def test_bad_accounts_are_refused_naming_what_is_wrong(haven, args, stdin, message):
    result = haven(*args, "--password-stdin", input=stdin + "\n")
    assert result.exit_code == 2
    assert message in result.output
    assert "short\n" not in result.output


def test_a_user_name_is_taken_once(haven):
    haven("users", "add", "same", "--role", "ops", "--password-stdin", input=PASSWORD + "\n")
    again = haven("users", "add", "SAME", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output


def test_disabling_an_unknown_user_fails(haven):
    result = haven("users", "disable", "nobody")
    assert result.exit_code == 1 and "no local user 'nobody'" in result.output


def test_no_local_accounts_when_an_identity_provider_is_configured(haven):
    result = haven("users", "add", "x", "--role", "ops", "--password-stdin", input=PASSWORD + "\n",
                   HAVEN_AUTH_JWKS_URL="https://idp.example.org/jwks.json")
    assert result.exit_code == 2 and "identity provider" in result.output


def test_a_disabled_user_can_no_longer_sign_in(haven, tmp_path):
    haven("users", "add", "ha", "--role", "ops", "--password-stdin", input=PASSWORD + "\n")
    client = service_app("notify", tmp_path).test_client()
    assert client.post("/v1/auth/login", json={"username": "ha", "password": PASSWORD}).status_code == 200
    haven("users", "disable", "ha")
    assert client.post("/v1/auth/login", json={"username": "ha", "password": PASSWORD}).status_code == 401


def test_token_binds_a_caseworker_to_an_organization(haven, tmp_path):
    result = haven("token", "--role", "caseworker", "--organization", "agency-9", "--user", "hoa")
    assert result.exit_code == 0
    principal = TokenVerifier("haven-local", "haven", local_keys=LocalKeys(str(tmp_path))).verify(
        result.output.strip().splitlines()[-1])
    assert principal.organization_id == "agency-9" and principal.can("referral:create")
    unbound = haven("token", "--role", "caseworker")
    assert unbound.exit_code == 0 and "without --organization" in unbound.output


# --- demo accounts ---------------------------------------------------------------------

def test_the_demo_data_brings_a_user_for_every_role(tmp_path):
    config = DIRECTORY.load_config({"HAVEN_DATA_DIR": str(tmp_path)})
    url = DIRECTORY.database_url(config)
    DIRECTORY.migrations().upgrade(url)
    resolve(DIRECTORY.demo_data)(config, url)  # what `haven run` does on a first start

    users = {user.username: user for user in LocalUsers(str(tmp_path)).list()}
    assert {roles for user in users.values() for roles in user.roles} == {role for _, role, _ in DEMO_USERS}
    organizations = {org.id: (org, {s.kind for s in services}) for org, _, services in demo_data.providers()}
    agency, _ = organizations[users["demo-caseworker"].organization_id]
    assert agency.name.startswith("Hội Liên hiệp Phụ nữ")  # a Women's Union refers survivors
    shelter, kinds = organizations[users["demo-agency"].organization_id]
    assert "shelter" in kinds
    assert users["demo-supervisor"].organization_id == agency.id

    client = service_app("directory", tmp_path).test_client()
    for username, role, _ in DEMO_USERS:
        answer = client.post("/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert answer.status_code == 200, username
        me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {answer.get_json()['access_token']}"})
        assert me.get_json()["roles"] == [role]
    # The shelter's staff see their own organization in the directory.
    assert client.get(f"/v1/organizations/{shelter.id}").status_code == 200


def test_demo_users_are_created_once(tmp_path):
    from haven.platform.local_users import ensure_demo_users

    organizations = {"caseworker": "a", "supervisor": "a", "agency_staff": "b"}
    assert len(ensure_demo_users(str(tmp_path), organizations)) == len(DEMO_USERS)
    LocalUsers(str(tmp_path)).disable("demo-admin")
    assert ensure_demo_users(str(tmp_path), organizations) == []
    assert LocalUsers(str(tmp_path)).get("demo-admin").disabled  # an administrator's change stands
