"""The referral API over HTTP, with a real directory service answering over HTTP.

Covers: consent and override rules, idempotent create, the lifecycle and its 409s, who
sees what (an authorization matrix), personal fields encrypted at rest and audited when
read, the SLA timer, events in the outbox without personal data, and bad input."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from haven.platform import db, events
from services.referral import SPEC as REFERRAL
from services.referral.adapters.orm import audit_log, outbox, referrals as referrals_table
from tests.support.apps import service_app
from tests.support.auth import bearer

AGENCY = "agency-womens-union"  # the referring agency (an organization id)
OTHER_AGENCY = "agency-elsewhere"

# Personal values that must never appear outside what the referring/receiving agency reads.
SECRETS = ("Nguyễn Thị Hoa", "+84 912 345 678", "Chồng kiểm tra điện thoại", "Ngõ 12 phố Huế",
           "Cần chỗ ở cho hai con")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("referral-api")
    directory = service_app("directory", data)
    server = make_server("127.0.0.1", 0, directory, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    admin = bearer(data, "directory_admin")
    client = directory.test_client()
    shelter_org = client.post("/v1/organizations", json={"name": "Nhà tạm lánh Bình An"}, headers=admin).json
    other_org = client.post("/v1/organizations", json={"name": "Trung tâm Trợ giúp pháp lý"}, headers=admin).json
    shelter = client.post("/v1/services", headers=admin, json={
        "organization_id": shelter_org["id"], "name": "Nhà tạm lánh", "kind": "shelter", "always_open": True}).json
    legal = client.post("/v1/services", headers=admin, json={
        "organization_id": other_org["id"], "name": "Trợ giúp pháp lý", "kind": "legal_aid", "always_open": True}).json
    closed = client.post("/v1/services", headers=admin, json={
        "organization_id": other_org["id"], "name": "Đã ngừng", "kind": "counselling", "status": "inactive"}).json
    app = service_app("referral", data, REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{server.server_port}")
    yield {"app": app, "client": app.test_client(), "data": data, "shelter": shelter, "legal": legal,
           "closed": closed, "shelter_org": shelter_org["id"], "other_org": other_org["id"], "server": server}
    server.shutdown()


def tokens(stack):
    data = stack["data"]
    return {
        "caseworker": bearer(data, "caseworker", organization_id=AGENCY, subject="cw-lan"),
        "supervisor": bearer(data, "supervisor", organization_id=AGENCY, subject="sup-mai"),
        "agency_staff": bearer(data, "agency_staff", organization_id=stack["shelter_org"], subject="staff-thu"),
        "other_caseworker": bearer(data, "caseworker", organization_id=OTHER_AGENCY, subject="cw-other"),
        "other_staff": bearer(data, "agency_staff", organization_id=stack["other_org"], subject="staff-other"),
        "ops": bearer(data, "ops", subject="ops-1"),
        "admin": bearer(data, "admin", subject="admin-1"),
        "directory_admin": bearer(data, "directory_admin", subject="dir-1"),
    }


def body(stack, **changes):
    now = datetime.now(timezone.utc)
    base = {
        "receiving_service_id": stack["shelter"]["id"], "urgency": "emergency", "risk_level": "high",
        "services_requested": ["shelter"],
        "profile": {"client_ref": "WU-2026-0042", "age_group": "25_59", "gender": "female"},
        "personal": {"name": SECRETS[0], "phone": SECRETS[1], "safety_notes": SECRETS[2], "address": SECRETS[3],
                     "needs": [SECRETS[4]]},
        "consent": {"given": True, "obtained_by": "cw-lan", "obtained_at": (now - timedelta(minutes=5)).isoformat(),
                    "scope": ["contact", "safety_notes", "needs"]},
    }
    base.update(changes)
    return base


def create(stack, who="caseworker", **changes):
    answer = stack["client"].post("/v1/referrals", json=body(stack, **changes), headers=tokens(stack)[who])
    assert answer.status_code == 201, answer.json
    return answer.json


def engine(stack):
    return db.create_engine(REFERRAL.database_url(REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"])})))


def outbox_events(stack, referral_id):
    with engine(stack).connect() as connection:
        rows = connection.execute(sa.select(outbox.c.event).where(outbox.c.key == referral_id)
                                  .order_by(outbox.c.id)).scalars().all()
    return [events.decode(bytes(row)) for row in rows]


# --- create ----------------------------------------------------------------------------

def test_a_caseworker_refers_with_consent_and_the_event_carries_no_personal_data(stack):
    referral = create(stack)
    assert referral["status"] == "sent" and referral["receiving_organization_id"] == stack["shelter_org"]
    assert referral["service_kind"] == "shelter" and referral["personal"]["phone"] == SECRETS[1]
    assert referral["allowed_actions"] == ["cancel"]
    [created] = outbox_events(stack, referral["id"])
    assert created.type == "org.haven.referral.created.v1" and created.subject == referral["id"]
    assert created.data["acknowledge_by"] and created.data["decide_by"]
    raw = json.dumps(created.to_dict(), ensure_ascii=False)
    assert not [value for value in SECRETS if value in raw]
    assert "WU-2026-0042" not in raw  # not even the pseudonymous reference leaves the service


def test_personal_fields_are_encrypted_at_rest(stack):
    referral = create(stack)
    with engine(stack).connect() as connection:
        row = connection.execute(sa.select(referrals_table).where(referrals_table.c.id == referral["id"])).mappings().one()
    stored = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False)
    assert not [value for value in SECRETS if value in stored]
    assert row["personal"] and ":" in row["personal"]  # <key id>:<token>


def test_missing_or_invalid_consent_is_422_naming_the_field_and_nothing_is_saved(stack):
    client, cw = stack["client"], tokens(stack)["caseworker"]
    with engine(stack).connect() as connection:
        before = connection.execute(sa.select(sa.func.count()).select_from(referrals_table)).scalar_one()
    now = datetime.now(timezone.utc)
    cases = {
        "consent": body(stack, consent=None),
        "consent.given": body(stack, consent={**body(stack)["consent"], "given": False}),
        "consent.expires_at": body(stack, consent={**body(stack)["consent"],
                                                   "obtained_at": (now - timedelta(days=40)).isoformat(),
                                                   "expires_at": (now - timedelta(days=1)).isoformat()}),
        "personal.name": body(stack, consent={**body(stack)["consent"], "scope": ["needs", "safety_notes"]}),
    }
    for field, request in cases.items():
        answer = client.post("/v1/referrals", json=request, headers=cw)
        assert answer.status_code == 422, (field, answer.json)
        assert answer.content_type == "application/problem+json"
        assert answer.json["errors"][0]["field"] == field, answer.json
        # the message says what is wrong with the field; the detail puts the two together
        message = answer.json["errors"][0]["message"]
        assert not message.startswith(field) and answer.json["detail"] == f"{field}: {message}", answer.json
    with engine(stack).connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(referrals_table)).scalar_one() == before


def test_only_a_supervisor_may_override_consent_and_only_in_immediate_danger(stack):
    client, t = stack["client"], tokens(stack)
    request = body(stack, consent=None, override={"reason": "Nguy hiểm tính mạng ngay lúc này"}, risk_level="severe")
    refused = client.post("/v1/referrals", json=request, headers=t["caseworker"])
    assert refused.status_code == 403 and "consent_override" in refused.json["detail"]
    not_severe = client.post("/v1/referrals", json={**request, "risk_level": "high"}, headers=t["supervisor"])
    assert not_severe.status_code == 422 and not_severe.json["errors"][0]["field"] == "override"
    overridden = client.post("/v1/referrals", json=request, headers=t["supervisor"])
    assert overridden.status_code == 201 and overridden.json["consent_overridden"] is True
    audit = client.get("/v1/audit", query_string={"referral_id": overridden.json["id"]}, headers=t["admin"]).json
    assert [e["detail"] for e in audit["items"] if e["action"] == "create"] == ["consent overridden"]


def test_create_is_idempotent_with_the_same_key(stack):
    client, cw = stack["client"], tokens(stack)["caseworker"]
    request = body(stack)
    first = client.post("/v1/referrals", json=request, headers={**cw, "Idempotency-Key": "retry-1"})
    again = client.post("/v1/referrals", json=request, headers={**cw, "Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert len(outbox_events(stack, first.json["id"])) == 1  # one referral, one event
    different = client.post("/v1/referrals", json={**request, "urgency": "normal"},
                            headers={**cw, "Idempotency-Key": "retry-1"})
    assert different.status_code == 422 and different.json["errors"][0]["field"] == "Idempotency-Key"


def _age_idempotency_key(stack, key: str, hours: float) -> None:
    """As if the key had been used `hours` ago (the referral itself stays as it is)."""
    from services.referral.adapters.orm import idempotency_keys

    with engine(stack).begin() as connection:
        connection.execute(idempotency_keys.update().where(idempotency_keys.c.key == key)
                           .values(created_at=datetime.now(timezone.utc) - timedelta(hours=hours)))


def test_an_idempotency_key_expires_after_its_window(stack):
    client, cw = stack["client"], tokens(stack)["caseworker"]
    request = body(stack)
    first = client.post("/v1/referrals", json=request, headers={**cw, "Idempotency-Key": "expiring-1"})
    _age_idempotency_key(stack, "expiring-1", 23.5)  # within the default 24 h: still a retry
    retry = client.post("/v1/referrals", json=request, headers={**cw, "Idempotency-Key": "expiring-1"})
    assert retry.json["id"] == first.json["id"] and retry.headers["Idempotent-Replayed"] == "true"
    _age_idempotency_key(stack, "expiring-1", 24.5)  # past it: the same key is a new request, whatever its body
    later = client.post("/v1/referrals", json={**request, "urgency": "normal"},
                        headers={**cw, "Idempotency-Key": "expiring-1"})
    assert later.status_code == 201 and later.json["id"] != first.json["id"]
    assert "Idempotent-Replayed" not in later.headers
    again = client.post("/v1/referrals", json={**request, "urgency": "normal"},
                        headers={**cw, "Idempotency-Key": "expiring-1"})
    assert again.json["id"] == later.json["id"]  # and the new use replays from then on


def test_the_worker_forgets_expired_idempotency_keys_only(stack):
    from services.referral.adapters.orm import idempotency_keys
    from services.referral.bootstrap import background_jobs, referrals_from

    client, cw = stack["client"], tokens(stack)["caseworker"]
    for key in ("prune-old", "prune-new"):
        assert client.post("/v1/referrals", json=body(stack), headers={**cw, "Idempotency-Key": key}).status_code == 201
    _age_idempotency_key(stack, "prune-old", 48)
    config = REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"]), "REFERRAL_DIRECTORY_URL": "http://127.0.0.1:9"})
    assert "idempotency-keys" in [job.name for job in background_jobs(config)]
    assert referrals_from(config, engine(stack)).creating.forget_expired_idempotency_keys() >= 1
    with engine(stack).connect() as connection:
        left = set(connection.execute(sa.select(idempotency_keys.c.key)).scalars())
    assert "prune-old" not in left and "prune-new" in left


def test_the_idempotency_window_is_a_setting(stack):
    from haven.platform.config import ConfigError

    short = REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"]), "REFERRAL_IDEMPOTENCY_KEY_HOURS": "0.5"})
    assert short.referral_idempotency_key_hours == 0.5
    with pytest.raises(ConfigError, match="REFERRAL_IDEMPOTENCY_KEY_HOURS"):
        REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"]), "REFERRAL_IDEMPOTENCY_KEY_HOURS": "0"})


def test_unknown_or_inactive_services_are_refused(stack):
    client, cw = stack["client"], tokens(stack)["caseworker"]
    unknown = client.post("/v1/referrals", json=body(stack, receiving_service_id="no-such-service"), headers=cw)
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "receiving_service_id"
    inactive = client.post("/v1/referrals", json=body(stack, receiving_service_id=stack["closed"]["id"]), headers=cw)
    assert inactive.status_code == 422 and "not active" in inactive.json["detail"]


@pytest.mark.parametrize("change, field", [
    ({"urgency": "whenever"}, "urgency"),
    ({"risk_level": None}, "risk_level"),
    ({"profile": {"client_ref": "Nguyen Thi Hoa"}}, "profile.client_ref"),
    ({"personal": {"phone": "call me"}}, "personal.phone"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_input_is_a_problem_naming_the_field(stack, change, field):
    answer = stack["client"].post("/v1/referrals", json=body(stack, **change), headers=tokens(stack)["caseworker"])
    assert answer.status_code == 422, answer.json
    assert field in {e["field"] for e in answer.json["errors"]}, answer.json


def test_expired_and_forged_tokens_are_401(stack, tmp_path):
    client = stack["client"]
    expired = bearer(stack["data"], "caseworker", organization_id=AGENCY, ttl_seconds=-300)  # past the clock-skew leeway
    assert client.post("/v1/referrals", json=body(stack), headers=expired).status_code == 401
    forged = bearer(tmp_path, "caseworker", organization_id=AGENCY)  # signed by another key
    assert client.get("/v1/referrals", headers=forged).status_code == 401
    assert client.get("/v1/referrals").status_code == 401


# --- lifecycle -------------------------------------------------------------------------

def test_the_closed_loop_with_history_and_illegal_steps(stack):
    client, t = stack["client"], tokens(stack)
    referral = create(stack)
    rid = referral["id"]
    staff = t["agency_staff"]
    assert client.get(f"/v1/referrals/{rid}", headers=staff).json["personal"] is None  # not accepted yet
    too_early = client.post(f"/v1/referrals/{rid}/complete", json={}, headers=staff)
    assert too_early.status_code == 409 and too_early.json["status_now"] == "sent"
    assert client.post(f"/v1/referrals/{rid}/acknowledge", headers=staff).status_code == 200
    stale = client.post(f"/v1/referrals/{rid}/accept", json={}, headers={**staff, "If-Match": '"1"'})
    assert stale.status_code == 412
    accepted = client.post(f"/v1/referrals/{rid}/accept", json={}, headers=staff)
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    assert accepted.json["personal"]["name"] == SECRETS[0]  # the receiving agency, once it accepted
    assert client.post(f"/v1/referrals/{rid}/decline", json={"reason": "no_capacity"}, headers=staff).status_code == 409
    done = client.post(f"/v1/referrals/{rid}/complete", json={"note": "Đã đến nhà tạm lánh"}, headers=staff)
    assert done.status_code == 200 and done.json["completed_at"]
    assert client.post(f"/v1/referrals/{rid}/cancel", json={}, headers=t["caseworker"]).status_code == 409
    steps = client.get(f"/v1/referrals/{rid}/history", headers=t["caseworker"]).json["items"]
    assert [(s["action"], s["from_status"], s["to_status"]) for s in steps] == [
        ("create", None, "sent"), ("acknowledge", "sent", "acknowledged"), ("accept", "acknowledged", "accepted"),
        ("complete", "accepted", "completed")]
    assert steps[1]["actor_user_id"] == "staff-thu" and steps[1]["actor_organization_id"] == stack["shelter_org"]
    assert steps[3]["note"] == "Đã đến nhà tạm lánh"
    assert client.get(f"/v1/referrals/{rid}/history", headers=t["ops"]).json["items"][3]["note"] == "[withheld]"
    types = [e.type.split(".")[3] for e in outbox_events(stack, rid)]
    assert types == ["created", "acknowledged", "accepted", "completed"]


def test_decline_needs_a_reason_and_a_declined_referral_can_be_re_referred(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    no_reason = client.post(f"/v1/referrals/{rid}/decline", json={}, headers=t["agency_staff"])
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "reason"
    other = client.post(f"/v1/referrals/{rid}/decline", json={"reason": "other"}, headers=t["agency_staff"])
    assert other.status_code == 422 and other.json["errors"][0]["field"] == "note"
    declined = client.post(f"/v1/referrals/{rid}/decline", json={"reason": "no_capacity"}, headers=t["agency_staff"])
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    onward = client.post(f"/v1/referrals/{rid}/re-refer", json={"receiving_service_id": stack["legal"]["id"]},
                         headers=t["caseworker"])
    assert onward.status_code == 201, onward.json
    assert onward.json["previous_referral_id"] == rid and onward.json["receiving_organization_id"] == stack["other_org"]
    assert client.get(f"/v1/referrals/{rid}", headers=t["caseworker"]).json["next_referral_id"] == onward.json["id"]


def test_the_referrer_cancels_before_completion(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    assert client.post(f"/v1/referrals/{rid}/cancel", json={"reason": "client_safe"},
                       headers=t["agency_staff"]).status_code == 403  # agency staff have no referral:cancel
    cancelled = client.post(f"/v1/referrals/{rid}/cancel", json={"reason": "client_safe"}, headers=t["caseworker"])
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


# --- who sees what ---------------------------------------------------------------------

# For each caller: can they see a referral of AGENCY addressed to the shelter, and its personal
# fields (before acceptance)? (None: the endpoint refuses them before looking: 403.)
VISIBILITY = {
    "caseworker": (True, True), "supervisor": (True, True), "agency_staff": (True, False),
    "other_caseworker": (False, False), "other_staff": (False, False), "ops": (True, False),
    "admin": (True, False), "directory_admin": (None, None),
}
# Who may take each step on that referral (when the status allows it).
ACTS = {"acknowledge": {"agency_staff"}, "accept": {"agency_staff"}, "decline": {"agency_staff"},
        "complete": {"agency_staff"}, "cancel": {"caseworker", "supervisor"}}
# The steps (by the receiving agency) that bring a referral to where each action applies,
# what each action sends, and the status it leads to.
BEFORE = {"acknowledge": [], "accept": ["acknowledge"], "decline": [], "complete": ["acknowledge", "accept"],
          "cancel": []}
SENDS = {"decline": {"reason": "out_of_area"}, "cancel": {"reason": "client_safe"}}
LEADS_TO = {"acknowledge": "acknowledged", "accept": "accepted", "decline": "declined", "complete": "completed",
            "cancel": "cancelled"}


@pytest.mark.parametrize("who", sorted(VISIBILITY))
def test_authorization_matrix_read(stack, who):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    sees, personal = VISIBILITY[who]
    answer = client.get(f"/v1/referrals/{rid}", headers=t[who])
    history = client.get(f"/v1/referrals/{rid}/history", headers=t[who])
    listed = client.get("/v1/referrals", headers=t[who], query_string={"per_page": 100})
    if sees is None:
        assert answer.status_code == history.status_code == listed.status_code == 403
        return
    if not sees:
        assert answer.status_code == history.status_code == 404  # no existence leak
        assert answer.json["detail"] == "No such referral."
        assert rid not in {item["id"] for item in listed.json["items"]}
        return
    assert answer.status_code == history.status_code == 200
    assert rid in {item["id"] for item in listed.json["items"]}
    assert (answer.json["personal"] is not None) == personal
    assert answer.json["personal_withheld"] is (not personal)
    shown = json.dumps(answer.json, ensure_ascii=False) + json.dumps(listed.json, ensure_ascii=False)
    assert bool([v for v in SECRETS if v in shown]) == personal


@pytest.mark.parametrize("who", sorted(VISIBILITY))
@pytest.mark.parametrize("action", sorted(ACTS))
def test_authorization_matrix_act(stack, who, action):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    for step in BEFORE[action]:
        assert client.post(f"/v1/referrals/{rid}/{step}", json={}, headers=t["agency_staff"]).status_code == 200
    before = client.get(f"/v1/referrals/{rid}", headers=t["caseworker"]).json["status"]
    answer = client.post(f"/v1/referrals/{rid}/{action}", json=SENDS.get(action, {}), headers=t[who])
    if who in ACTS[action]:
        assert answer.status_code == 200, answer.json
    elif VISIBILITY[who][0] is False:
        # another organization's people: no permission at all (403) or not theirs to see (404)
        assert answer.status_code in (403, 404), answer.json
    else:
        assert answer.status_code == 403, answer.json
    after = client.get(f"/v1/referrals/{rid}", headers=t["caseworker"]).json["status"]
    assert after == (LEADS_TO[action] if who in ACTS[action] else before)


@pytest.mark.parametrize("who", sorted(VISIBILITY))
def test_authorization_matrix_re_refer_and_audit(stack, who):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    client.post(f"/v1/referrals/{rid}/decline", json={"reason": "no_capacity"}, headers=t["agency_staff"])
    onward = client.post(f"/v1/referrals/{rid}/re-refer", json={"receiving_service_id": stack["legal"]["id"]},
                         headers=t[who])
    assert onward.status_code == (201 if who in ("caseworker", "supervisor") else
                                  404 if who == "other_caseworker" else 403), (who, onward.json)
    assert client.get("/v1/audit", headers=t[who]).status_code == (200 if who == "admin" else 403)


def test_create_is_for_referring_agencies_only(stack):
    client, t = stack["client"], tokens(stack)
    for who in ("agency_staff", "ops", "admin", "directory_admin"):
        assert client.post("/v1/referrals", json=body(stack), headers=t[who]).status_code == 403, who
    no_org = bearer(stack["data"], "caseworker", subject="cw-nowhere")
    refused = client.post("/v1/referrals", json=body(stack), headers=no_org)
    assert refused.status_code == 403 and refused.json["type"].endswith("no-organization")


def test_every_read_of_personal_fields_is_audited_and_only_admins_read_the_audit(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    client.get(f"/v1/referrals/{rid}", headers=t["caseworker"])
    client.get(f"/v1/referrals/{rid}", headers=t["ops"])  # no personal fields: nothing to audit
    entries = client.get("/v1/audit", query_string={"referral_id": rid}, headers=t["admin"]).json["items"]
    reads = [e for e in entries if e["action"] == "read_personal"]
    assert [(e["actor_user_id"], e["source_ip"]) for e in reads] == [("cw-lan", "127.0.0.1")]
    assert "phone" in reads[0]["detail"] and SECRETS[1] not in json.dumps(entries, ensure_ascii=False)
    assert {e["action"] for e in entries} == {"create", "read_personal"}
    for who in ("caseworker", "agency_staff", "supervisor", "ops"):
        assert client.get("/v1/audit", headers=t[who]).status_code == 403


def test_lists_filter_and_page_within_the_callers_scope(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack, urgency="normal", receiving_service_id=stack["legal"]["id"], services_requested=["legal_aid"])["id"]
    normal = client.get("/v1/referrals", query_string={"urgency": "normal", "service_kind": "legal_aid"},
                        headers=t["caseworker"]).json
    assert rid in [i["id"] for i in normal["items"]] and all(i["urgency"] == "normal" for i in normal["items"])
    assert "personal" not in normal["items"][0]
    row = next(i for i in normal["items"] if i["id"] == rid)
    assert [(d["kind"], d["state"]) for d in row["deadlines"]] == [("acknowledge", "pending"), ("decide", "pending")]
    assert row["notifications"] == []  # none reported by notify yet
    assert rid not in [i["id"] for i in client.get("/v1/referrals", headers=t["agency_staff"]).json["items"]]
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert client.get("/v1/referrals", query_string={"created_from": future}, headers=t["caseworker"]).json["total"] == 0
    bad = client.get("/v1/referrals", query_string={"status": "lost"}, headers=t["caseworker"])
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "status"


# --- SLA timers ------------------------------------------------------------------------

def test_a_missed_deadline_is_escalated_once(stack):
    from services.referral.bootstrap import referrals_from

    rid = create(stack, urgency="emergency")["id"]
    config = REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"]),
                                   "REFERRAL_DIRECTORY_URL": "http://127.0.0.1:9"})
    later = {"now": datetime.now(timezone.utc) + timedelta(minutes=16)}
    referrals = referrals_from(config, engine(stack))
    referrals.clock = lambda: later["now"]
    assert referrals.sla_timers.escalate_due() >= 1
    assert referrals.sla_timers.escalate_due() == 0  # once per deadline
    later["now"] += timedelta(hours=1)
    assert referrals.sla_timers.escalate_due() >= 1  # the decide deadline (1 h) passed too
    escalations = [e for e in outbox_events(stack, rid) if e.type.endswith("escalated.v1")]
    assert [e.data["deadline_kind"] for e in escalations] == ["acknowledge", "decide"]
    steps = stack["client"].get(f"/v1/referrals/{rid}/history", headers=tokens(stack)["caseworker"]).json["items"]
    assert [s["reason_code"] for s in steps if s["action"] == "escalate"] == ["acknowledge", "decide"]
    assert steps[-1]["to_status"] == "sent"  # escalation alarms; it does not change the status


def test_response_times_are_measured_by_urgency_and_kind_only(stack):
    from prometheus_client import REGISTRY

    client, t = stack["client"], tokens(stack)
    labels = {"urgency": "high", "service_kind": "shelter"}
    before = REGISTRY.get_sample_value("haven_referral_time_to_acknowledge_seconds_count", labels) or 0
    rid = create(stack, urgency="high")["id"]
    client.post(f"/v1/referrals/{rid}/acknowledge", headers=t["agency_staff"])
    assert REGISTRY.get_sample_value("haven_referral_time_to_acknowledge_seconds_count", labels) == before + 1
    names = {s.name for m in REGISTRY.collect() if m.name.startswith("haven_referral") for s in m.samples}
    label_names = {k for m in REGISTRY.collect() if m.name.startswith("haven_referral")
                   for s in m.samples for k in s.labels}
    assert "haven_referral_time_to_decision_seconds_bucket" in names
    assert label_names <= {"urgency", "service_kind", "action", "deadline", "le"}


def test_key_rotation_re_encrypts_and_the_old_key_can_go(stack, tmp_path):
    from haven.platform.field_cipher import FieldCipher, KeyFile, generate_key
    from services.referral.adapters.rotation import rotate_all

    rid = create(stack)["id"]
    old = KeyFile(str(stack["data"])).keys()
    new = generate_key()
    assert rotate_all(engine(stack), FieldCipher([new, *old])) >= 1
    assert rotate_all(engine(stack), FieldCipher([new, *old])) == 0
    app = service_app("referral", stack["data"], REFERRAL_FIELD_KEYS=new,
                      REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{stack['server'].server_port}")
    again = app.test_client().get(f"/v1/referrals/{rid}", headers=tokens(stack)["caseworker"])
    assert again.status_code == 200 and again.json["personal"]["name"] == SECRETS[0]


# --- from the review: the edges --------------------------------------------------------

def test_the_receiving_agency_loses_the_personal_fields_when_the_referral_is_cancelled(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    for step in ("acknowledge", "accept"):
        client.post(f"/v1/referrals/{rid}/{step}", json={}, headers=t["agency_staff"])
    assert client.get(f"/v1/referrals/{rid}", headers=t["agency_staff"]).json["personal"]["name"] == SECRETS[0]
    client.post(f"/v1/referrals/{rid}/cancel", json={"reason": "consent_withdrawn"}, headers=t["caseworker"])
    after = client.get(f"/v1/referrals/{rid}", headers=t["agency_staff"])
    assert after.status_code == 200 and after.json["personal"] is None
    assert not [v for v in SECRETS if v in after.get_data(as_text=True)]


def test_services_requested_are_kind_codes_the_directory_knows(stack):
    client, cw = stack["client"], tokens(stack)["caseworker"]
    free_text = client.post("/v1/referrals", json=body(stack, services_requested=["nguyen_thi_hoa"]), headers=cw)
    assert free_text.status_code == 422 and free_text.json["errors"][0]["field"] == "services_requested"
    spaced = client.post("/v1/referrals", json=body(stack, services_requested=["Nguyễn Thị Hoa"]), headers=cw)
    assert spaced.status_code == 422
    known = create(stack, services_requested=["shelter", "legal_aid"])
    assert known["services_requested"] == ["shelter", "legal_aid"]


def test_a_response_that_shows_personal_fields_is_an_audited_read(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    client.post(f"/v1/referrals/{rid}/acknowledge", json={}, headers=t["agency_staff"])
    accepted = client.post(f"/v1/referrals/{rid}/accept", json={}, headers=t["agency_staff"])
    assert accepted.json["personal"]["name"] == SECRETS[0]
    entries = client.get("/v1/audit", query_string={"referral_id": rid, "actor": "staff-thu"},
                         headers=t["admin"]).json["items"]
    assert sorted(e["action"] for e in entries) == ["accept", "acknowledge", "read_personal"]


@pytest.mark.parametrize("path", ["/v1/referrals/not-a-uuid", "/v1/referrals/%00", "/v1/referrals/a%00/history"])
def test_ids_that_are_not_referral_ids_are_404(stack, path):
    answer = stack["client"].get(path, headers=tokens(stack)["caseworker"])
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"


@pytest.mark.parametrize("change, field", [
    ({"consent": {"given": True, "obtained_by": "cw-lan", "obtained_at": "0001-01-01T00:30:00+01:00"}},
     "consent.obtained_at"),
    ({"consent": {"given": "yes", "obtained_by": "cw-lan", "obtained_at": "2026-11-25T08:00:00+00:00"}},
     "consent.given"),
    ({"receiving_service_id": "../organizations/x"}, "receiving_service_id"),
])
def test_odd_values_are_422_not_500(stack, change, field):
    answer = stack["client"].post("/v1/referrals", json=body(stack, **change), headers=tokens(stack)["caseworker"])
    assert answer.status_code == 422, answer.json
    assert field in {e["field"] for e in answer.json["errors"]}


def test_odd_queries_headers_and_bodies_are_4xx(stack):
    client, t = stack["client"], tokens(stack)
    far = client.get("/v1/referrals", query_string={"created_from": "9999-12-31T23:59:59-01:00"}, headers=t["caseworker"])
    assert far.status_code == 422 and far.json["errors"][0]["field"] == "created_from"
    rid = create(stack)["id"]
    garbage = client.post(f"/v1/referrals/{rid}/acknowledge", json={}, headers={**t["agency_staff"], "If-Match": "1_0"})
    assert garbage.status_code == 400 and garbage.json["errors"][0]["field"] == "If-Match"  # not an ETag at all
    stale = client.post(f"/v1/referrals/{rid}/acknowledge", json={}, headers={**t["agency_staff"], "If-Match": '"99"'})
    assert stale.status_code == 412
    anything = client.post(f"/v1/referrals/{rid}/acknowledge", json={}, headers={**t["agency_staff"], "If-Match": "*"})
    assert anything.status_code == 200
    huge = client.post("/v1/referrals", data=b'{"x": "' + b"a" * 300_000 + b'"}', content_type="application/json",
                       headers=t["caseworker"])
    assert huge.status_code == 413 and huge.content_type == "application/problem+json"
    long_id = client.get(f"/v1/referrals/{rid}", headers={**t["caseworker"], "X-Request-ID": "r" * 120})
    assert long_id.status_code == 200


def test_answers_about_referrals_are_never_cached(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    answer = client.get(f"/v1/referrals/{rid}", headers=t["caseworker"])
    assert answer.headers["Cache-Control"] == "no-store" and "Authorization" in answer.headers["Vary"]


def test_allowed_actions_are_what_the_caller_may_really_do(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    ops_with_org = bearer(stack["data"], "ops", organization_id=AGENCY, subject="ops-2")
    assert client.get(f"/v1/referrals/{rid}", headers=ops_with_org).json["allowed_actions"] == []
    assert client.get(f"/v1/referrals/{rid}", headers=t["agency_staff"]).json["allowed_actions"] == [
        "acknowledge", "decline"]


def test_re_referral_names_what_it_asks_for(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack)["id"]
    client.post(f"/v1/referrals/{rid}/decline", json={"reason": "not_eligible"}, headers=t["agency_staff"])
    onward = client.post(f"/v1/referrals/{rid}/re-refer", headers=t["caseworker"], json={
        "receiving_service_id": stack["legal"]["id"], "services_requested": ["legal_aid"]})
    assert onward.status_code == 201 and onward.json["services_requested"] == ["legal_aid"]


def test_the_sla_timer_follows_a_changed_policy_skips_nothing_and_audits_itself(stack):
    from services.referral.bootstrap import referrals_from

    rid = create(stack, urgency="normal")["id"]
    broken = create(stack, urgency="normal")["id"]
    with engine(stack).begin() as connection:  # a record whose personal fields no key can read
        connection.execute(referrals_table.update().where(referrals_table.c.id == broken)
                           .values(personal="00000000:not-a-token"))
    config = REFERRAL.load_config({"HAVEN_DATA_DIR": str(stack["data"]), "REFERRAL_SLA": "normal=30m/2h",
                                   "REFERRAL_DIRECTORY_URL": "http://127.0.0.1:9"})
    referrals = referrals_from(config, engine(stack))
    referrals.clock = lambda: datetime.now(timezone.utc) + timedelta(minutes=45)
    referrals.sla_timers.escalate_due()
    assert not [e for e in outbox_events(stack, rid) if e.type.endswith("escalated.v1")]  # stored: 24 h
    referrals.sla_timers.restamp_deadlines()
    referrals.sla_timers.escalate_due()
    for referral_id in (rid, broken):
        kinds = [e.data["deadline_kind"] for e in outbox_events(stack, referral_id) if e.type.endswith("escalated.v1")]
        assert kinds == ["acknowledge"], referral_id
    entries = stack["client"].get("/v1/audit", query_string={"referral_id": rid},
                                  headers=tokens(stack)["admin"]).json["items"]
    assert [(e["action"], e["actor_user_id"], e["detail"]) for e in entries if e["action"] == "escalate"] == [
        ("escalate", "system:sla-timer", "acknowledge")]


def test_behind_a_proxy_the_audit_records_the_clients_address(stack):
    app = service_app("referral", stack["data"], HAVEN_PROXY_HOPS="1",
                      REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{stack['server'].server_port}")
    answer = app.test_client().post("/v1/referrals", json=body(stack), environ_base={"REMOTE_ADDR": "10.42.0.17"},
                                    headers={**tokens(stack)["caseworker"], "X-Forwarded-For": "203.0.113.7"})
    assert answer.status_code == 201
    entries = stack["client"].get("/v1/audit", query_string={"referral_id": answer.json["id"]},
                                  headers=tokens(stack)["admin"]).json["items"]
    assert [e["source_ip"] for e in entries] == ["203.0.113.7"]


# --- what each side is told on the referral itself -----------------------------------------

def _audited_reads(stack, referral_id):
    entries = stack["client"].get("/v1/audit", query_string={"referral_id": referral_id},
                                  headers=tokens(stack)["admin"]).json["items"]
    return [e for e in entries if e["action"] == "read_personal"]


def test_the_referral_shows_its_deadlines_and_whether_each_was_met(stack):
    client, t = stack["client"], tokens(stack)
    created = create(stack, urgency="emergency")
    acknowledge, decide = created["deadlines"]
    start = datetime.fromisoformat(created["created_at"])
    assert (acknowledge["kind"], acknowledge["state"], acknowledge["done_at"]) == ("acknowledge", "pending", None)
    assert datetime.fromisoformat(acknowledge["due_at"]) - start == timedelta(minutes=15)
    assert datetime.fromisoformat(decide["due_at"]) - start == timedelta(hours=1)
    referrals = stack["app"].extensions["haven.referral"]["referrals"]
    original = referrals.clock
    referrals.clock = lambda: datetime.now(timezone.utc) + timedelta(minutes=20)  # a read only: nothing stamped
    try:
        late = client.get(f"/v1/referrals/{created['id']}", headers=t["agency_staff"]).json
    finally:
        referrals.clock = original
    assert [d["state"] for d in late["deadlines"]] == ["overdue", "pending"]  # the agency sees it owes an answer
    answered = client.post(f"/v1/referrals/{created['id']}/acknowledge", json={}, headers=t["agency_staff"]).json
    assert answered["deadlines"][0]["state"] == "met" and answered["deadlines"][0]["done_at"] == answered[
        "acknowledged_at"]
    seen_by_caseworker = client.get(f"/v1/referrals/{created['id']}", headers=t["caseworker"]).json
    assert [d["state"] for d in seen_by_caseworker["deadlines"]] == ["met", "pending"]


def test_the_override_reason_is_read_by_the_referring_organization_only(stack):
    client, t = stack["client"], tokens(stack)
    reason = "Chồng đang cầm dao trước cửa nhà"
    rid = create(stack, who="supervisor", consent=None, risk_level="severe", override={"reason": reason})["id"]
    for who in ("supervisor", "caseworker"):
        shown = client.get(f"/v1/referrals/{rid}", headers=t[who]).json["override"]
        assert shown["reason"] == reason and shown["by"] == "sup-mai", who
    client.post(f"/v1/referrals/{rid}/acknowledge", json={}, headers=t["agency_staff"])
    accepted = client.post(f"/v1/referrals/{rid}/accept", json={}, headers=t["agency_staff"]).json
    assert accepted["personal"]["phone"] == SECRETS[1]  # the agency now sees her contact details...
    assert accepted["override"]["reason"] == "[withheld]"  # ...but not the supervisor's judgement
    for who in ("ops", "admin"):
        seen = client.get(f"/v1/referrals/{rid}", headers=t[who]).json
        assert seen["override"]["reason"] == "[withheld]" and seen["consent_overridden"] is True
    assert reason not in json.dumps([client.get(f"/v1/referrals/{rid}", headers=t[w]).json
                                     for w in ("agency_staff", "ops", "admin")], ensure_ascii=False)


def test_a_read_is_audited_as_personal_only_when_personal_data_was_returned(stack):
    client, t = stack["client"], tokens(stack)
    bare = create(stack, personal=None)["id"]  # nothing personal shared, no notes, no override
    client.get(f"/v1/referrals/{bare}", headers=t["caseworker"])
    assert _audited_reads(stack, bare) == []
    full = create(stack)["id"]
    client.get(f"/v1/referrals/{full}", headers=t["caseworker"])
    [read] = _audited_reads(stack, full)
    assert "phone" in read["detail"] and "override.reason" not in read["detail"]


def test_the_receiving_agency_reads_the_notes_it_wrote_itself_at_any_time(stack):
    client, t = stack["client"], tokens(stack)
    note = "Hết giường tối nay; gọi lại sáng mai"
    rid = create(stack)["id"]
    declined = client.post(f"/v1/referrals/{rid}/decline", json={"reason": "other", "note": note},
                           headers=t["agency_staff"]).json
    assert declined["personal_withheld"] is True  # never accepted: her details stay with the referrer
    steps = client.get(f"/v1/referrals/{rid}/history", headers=t["agency_staff"]).json["items"]
    assert steps[-1]["note"] == note
    assert client.get(f"/v1/referrals/{rid}/history", headers=t["ops"]).json["items"][-1]["note"] == "[withheld]"
    assert client.get(f"/v1/referrals/{rid}/history", headers=t["caseworker"]).json["items"][-1]["note"] == note
    agency_reads = [r for r in _audited_reads(stack, rid) if r["actor_user_id"] == "staff-thu"]
    assert agency_reads and all(r["detail"] == "notes" for r in agency_reads)
    cancelled = create(stack)["id"]
    client.post(f"/v1/referrals/{cancelled}/cancel", json={"reason": "other", "note": "Chị ấy đã về quê"},
                headers=t["caseworker"])
    steps = client.get(f"/v1/referrals/{cancelled}/history", headers=t["agency_staff"]).json["items"]
    assert steps[-1]["note"] == "[withheld]"  # the referrer's note is not the agency's


def test_a_re_referral_carries_her_details_and_a_still_valid_consent_but_never_an_override(stack):
    client, t = stack["client"], tokens(stack)
    rid = create(stack, services_requested=["shelter"])["id"]
    client.post(f"/v1/referrals/{rid}/decline", json={"reason": "no_capacity"}, headers=t["agency_staff"])
    onward = client.post(f"/v1/referrals/{rid}/re-refer", json={"receiving_service_id": stack["legal"]["id"]},
                         headers=t["caseworker"]).json
    first = client.get(f"/v1/referrals/{rid}", headers=t["caseworker"]).json
    assert onward["personal"] == first["personal"] and onward["profile"] == first["profile"]
    assert onward["consent"] == first["consent"]  # still valid: no fresh consent needed
    assert onward["services_requested"] == ["legal_aid"]  # what the new service gives, unless asked otherwise
    assert onward["previous_referral_id"] == rid and first["next_referral_id"] == onward["id"]
    assert onward["status"] == "sent" and onward["deadlines"][0]["state"] == "pending"  # its own clock
    # consent that has run out must be renewed
    now = datetime.now(timezone.utc)
    expiring = create(stack, consent={**body(stack)["consent"], "expires_at": (now + timedelta(seconds=2)).isoformat()})
    client.post(f"/v1/referrals/{expiring['id']}/decline", json={"reason": "no_capacity"}, headers=t["agency_staff"])
    referrals = stack["app"].extensions["haven.referral"]["referrals"]
    original = referrals.clock
    referrals.clock = lambda: datetime.now(timezone.utc) + timedelta(seconds=5)
    try:
        stale = client.post(f"/v1/referrals/{expiring['id']}/re-refer",
                            json={"receiving_service_id": stack["legal"]["id"]}, headers=t["caseworker"])
        assert stale.status_code == 422 and stale.json["errors"][0]["field"].startswith("consent")
        renewed = client.post(f"/v1/referrals/{expiring['id']}/re-refer", headers=t["caseworker"], json={
            "receiving_service_id": stack["legal"]["id"],
            "consent": {**body(stack)["consent"], "obtained_at": now.isoformat()}})
        assert renewed.status_code == 201, renewed.json
    finally:
        referrals.clock = original
    # an override was a supervisor's judgement for that one referral: it does not travel
    overridden = create(stack, who="supervisor", consent=None, risk_level="severe",
                        override={"reason": "Nguy hiểm tính mạng"})["id"]
    client.post(f"/v1/referrals/{overridden}/decline", json={"reason": "no_capacity"}, headers=t["agency_staff"])
    refused = client.post(f"/v1/referrals/{overridden}/re-refer", json={"receiving_service_id": stack["legal"]["id"]},
                          headers=t["supervisor"])
    assert refused.status_code == 422 and refused.json["errors"][0]["field"].startswith("consent")


def test_every_time_the_audit_log_answers_carries_its_offset(stack):
    create(stack)
    items = stack["client"].get("/v1/audit", headers=tokens(stack)["admin"]).json["items"]
    assert items and all(datetime.fromisoformat(item["at"]).utcoffset() is not None for item in items)
