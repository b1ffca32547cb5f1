"""The role -> permission map is exactly the documented one, and organization-bound roles
never act without an organization."""
import time

import pytest
from flask import Flask

from haven.platform import principal as who_may
from haven.platform.auth import InvalidToken, LocalKeys, TokenVerifier, mint_token, require, require_organization
from haven.platform.principal import ANONYMOUS, ROLE_PERMISSIONS, ROLES, Principal, permissions_for
from haven.platform.errors import Problem, register_error_handlers

CW, AS, SUP, DA, OPS, ADM = ROLES
EVERY_ROLE = set(ROLES)

# Written out by hand on purpose: a change to the map must change this table too.
EXPECTED = {
    "directory:write": {DA, ADM},
    "directory:capacity": {AS, DA, ADM},
    "directory:confidential": {SUP, DA, ADM},
    "referral:create": {CW, SUP},
    "referral:read": {CW, AS, SUP, OPS, ADM},
    "referral:respond": {AS},
    "referral:cancel": {CW, SUP},
    "referral:consent_override": {SUP},
    "referral:personal": {CW, AS, SUP},
    "referral:aggregates": {SUP, OPS, ADM},
    "audit:read": {ADM},
    "notify:subscriptions": {CW, AS, SUP, ADM},
    "notify:inbox": EVERY_ROLE,
}


def test_the_roles_are_the_six_of_the_issue():
    assert ROLES == ("caseworker", "agency_staff", "supervisor", "directory_admin", "ops", "admin")
    assert set(ROLE_PERMISSIONS) == EVERY_ROLE


@pytest.mark.parametrize("permission", sorted(EXPECTED))
def test_each_permission_goes_to_exactly_the_documented_roles(permission):
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}
    assert holders == EXPECTED[permission]


def test_no_role_holds_an_undocumented_permission():
    assert set().union(*ROLE_PERMISSIONS.values()) == set(EXPECTED)


def test_ops_never_sees_personal_fields_and_only_a_supervisor_overrides_consent():
    assert "referral:personal" not in ROLE_PERMISSIONS["ops"] and "referral:personal" not in ROLE_PERMISSIONS["admin"]
    assert {r for r, p in ROLE_PERMISSIONS.items() if "referral:consent_override" in p} == {"supervisor"}


def _documented_table() -> dict[str, set[str]]:
    rows = [line for line in who_may.__doc__.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[cells[0]] = {header[i] for i, cell in enumerate(cells) if i and cell.startswith("x")}
    return table


def test_the_module_docstring_table_is_the_map():
    assert _documented_table() == EXPECTED


def test_permissions_of_several_roles_add_up():
    assert permissions_for(["ops", "caseworker"]) == ROLE_PERMISSIONS["ops"] | ROLE_PERMISSIONS["caseworker"]
    assert permissions_for(["nobody"]) == frozenset()


def _principal(*roles, organization_id=None):
    return Principal("someone", roles, organization_id, permissions_for(roles))


@pytest.mark.parametrize("roles, permission, limited", [
    (("caseworker",), "referral:read", True),
    (("agency_staff",), "referral:respond", True),
    (("agency_staff",), "directory:capacity", True),
    (("agency_staff",), "notify:subscriptions", True),
    (("caseworker", "supervisor"), "referral:read", True),  # a supervisor, too, reads her agency's only
    (("agency_staff", "admin"), "notify:subscriptions", False),
    (("caseworker",), "notify:subscriptions", True),  # the agency's subscriptions, as agency staff
    (("supervisor",), "notify:subscriptions", True),
    (("supervisor",), "referral:read", True),
    (("ops",), "referral:read", False),
    (("ops",), "referral:read", False),
    (("caseworker",), "notify:inbox", False),  # an inbox is a person's, not an organization's
    (("caseworker",), "referral:respond", False),  # not held at all
])
def test_which_permissions_reach_only_the_callers_organization(roles, permission, limited):
    assert _principal(*roles, organization_id="org-1").limited_to_organization(permission) is limited


def test_require_organization_names_the_missing_binding():
    assert require_organization(_principal("caseworker", organization_id="org-1")) == "org-1"
    with pytest.raises(Problem) as refused:
        require_organization(_principal("agency_staff"))
    assert refused.value.status == 403
    assert refused.value.type == "urn:haven:problem:no-organization"
    assert "agency_staff" in refused.value.detail and "organization" in refused.value.detail


# --- require(), through Flask ------------------------------------------------------------

@pytest.fixture
def app(tmp_path):
    verifier = TokenVerifier(issuer="haven-local", audience="haven", local_keys=LocalKeys(str(tmp_path)))
    app = Flask("test")
    register_error_handlers(app)

    @app.get("/needs/<permission>")
    def needs(permission):
        principal = require(verifier, permission)
        return {"subject": principal.subject, "organization_id": principal.organization_id}

    app.token = lambda *roles, org=None, **claims: "Bearer " + mint_token(
        LocalKeys(str(tmp_path)), issuer="haven-local", audience="haven", subject="tester", roles=roles,
        organization_id=org, extra_claims=claims or None)
    return app


def test_a_caseworker_acts_for_their_agency(app):
    response = app.test_client().get("/needs/referral:create",
                                     headers={"Authorization": app.token("caseworker", org="agency-7")})
    assert response.status_code == 200
    assert response.get_json() == {"subject": "tester", "organization_id": "agency-7"}


@pytest.mark.parametrize("role, permission", [("caseworker", "referral:create"), ("agency_staff", "referral:read"),
                                              ("agency_staff", "directory:capacity"),
                                              ("caseworker", "notify:subscriptions"),
                                              ("supervisor", "notify:subscriptions")])
def test_organization_roles_without_an_organization_get_a_clear_403(app, role, permission):
    response = app.test_client().get(f"/needs/{permission}", headers={"Authorization": app.token(role)})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:haven:problem:no-organization"
    assert "not bound to an organization" in response.get_json()["detail"]


def test_without_an_organization_a_caseworker_still_reads_their_inbox(app):
    response = app.test_client().get("/needs/notify:inbox", headers={"Authorization": app.token("caseworker")})
    assert response.status_code == 200


def test_roles_not_bound_to_an_organization_need_none(app):
    for role, permission in [("supervisor", "referral:consent_override"), ("ops", "referral:aggregates"),
                             ("admin", "notify:subscriptions")]:
        response = app.test_client().get(f"/needs/{permission}", headers={"Authorization": app.token(role)})
        assert response.status_code == 200, (role, permission)


def test_a_missing_permission_is_403_and_no_token_is_401(app):
    client = app.test_client()
    forbidden = client.get("/needs/referral:personal", headers={"Authorization": app.token("ops")})
    assert forbidden.status_code == 403 and "'referral:personal'" in forbidden.get_json()["detail"]
    assert forbidden.get_json()["type"] == "urn:haven:problem:forbidden"
    assert client.get("/needs/referral:read").status_code == 401


def test_an_organization_claim_of_another_type_and_a_single_role_string_are_understood(tmp_path):
    import jwt
    import time

    keys = LocalKeys(str(tmp_path))
    now = int(time.time())
    token = jwt.encode({"iss": "haven-local", "aud": "haven", "sub": "mai", "iat": now, "exp": now + 60,
                        "roles": "caseworker", "org": 1234}, keys.private_key(), algorithm="ES256")
    principal = TokenVerifier("haven-local", "haven", local_keys=keys).verify(token)
    assert principal.roles == ("caseworker",) and principal.organization_id == "1234"
    assert principal.subject == "mai" and principal.can("referral:create")
    assert principal is not ANONYMOUS


# --- a verified token is not checked again on every call -------------------------------

def _signed(keys, **claims):
    import jwt

    now = int(time.time())
    return jwt.encode({"iss": "haven-local", "aud": "haven", "sub": "mai", "iat": now, "exp": now + 60,
                       "roles": ["caseworker"], **claims}, keys.private_key(), algorithm="ES256")


def test_a_verified_token_is_trusted_again_without_a_second_signature_check(tmp_path, monkeypatch):
    import jwt

    keys = LocalKeys(str(tmp_path))
    verifier = TokenVerifier("haven-local", "haven", local_keys=keys)
    token = _signed(keys)
    checks = []
    decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: checks.append(1) or decode(*a, **k))
    first, again = verifier.verify(token), verifier.verify(token)
    assert again == first and len(checks) == 1


def test_a_kept_token_is_checked_again_after_its_expiry_and_after_the_reverify_interval(tmp_path, monkeypatch):
    import jwt

    keys = LocalKeys(str(tmp_path))
    verifier = TokenVerifier("haven-local", "haven", local_keys=keys, leeway_seconds=0, reverify_seconds=60)
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    checks = []
    decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: checks.append(1) or decode(*a, **k))
    short = _signed(keys, exp=int(clock[0]) + 5)
    long_lived = _signed(keys, exp=int(clock[0]) + 3600)
    verifier.verify(short)
    clock[0] += 10  # past its expiry (by this clock), well inside the reverify interval
    verifier.verify(short)
    assert len(checks) == 2  # checked again, not trusted from memory

    verifier.verify(long_lived)
    monkeypatch.setattr(verifier, "local_keys", LocalKeys(str(tmp_path / "other")))  # the signing key was replaced
    clock[0] += 30
    assert verifier.verify(long_lived).subject == "mai"  # still within the interval
    clock[0] += 31
    with pytest.raises(InvalidToken):
        verifier.verify(long_lived)


def test_a_refused_token_is_never_kept(tmp_path):
    keys = LocalKeys(str(tmp_path))
    verifier = TokenVerifier("haven-local", "haven", local_keys=keys)
    forged = _signed(LocalKeys(str(tmp_path / "forger")))
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    assert forged not in verifier._verified
