"""The notify API as an agency administrator uses it: subscriptions, pings, deliveries."""
import pytest

from tests.support.apps import service_app
from tests.support.auth import bearer


@pytest.fixture
def app(tmp_path, database_url):
    # private targets allowed: the API tests name 127.0.0.1 receivers (the rule has its own test)
    return service_app("notify", tmp_path, database_url, NOTIFY_WEBHOOK_PRIVATE_TARGETS="true")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def who(tmp_path):
    def token(*roles, organization_id=None, subject="tester"):
        return bearer(tmp_path, *roles, organization_id=organization_id, subject=subject)
    return token


def test_an_agency_registers_a_webhook_and_sees_its_secret_once(client, who):
    shelter = who("agency_staff", organization_id="org-shelter")
    created = client.post("/v1/subscriptions", headers=shelter,
                          json={"channel": "webhook", "target": "https://hooks.shelter.example/haven"})
    assert created.status_code == 201
    body = created.json
    assert body["organization_id"] == "org-shelter" and body["secret"].startswith("whsec_")
    listed = client.get("/v1/subscriptions", headers=shelter).json
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert client.get("/v1/subscriptions", headers=who("agency_staff", organization_id="org-x")).json["total"] == 0
    assert client.get("/v1/subscriptions", headers=who("admin")).json["total"] == 1
    email = client.post("/v1/subscriptions", headers=shelter,
                        json={"channel": "email", "target": "truc@shelter.example", "language": "en"})
    assert email.status_code == 201 and "secret" not in email.json
    sms = client.post("/v1/subscriptions", headers=shelter, json={"channel": "sms", "target": "+84 912 345 678"})
    assert sms.json["target"] == "+84912345678"


@pytest.mark.parametrize("body, field", [
    ({"channel": "webhook", "target": "ftp://x.example/"}, "target"),
    ({"channel": "webhook", "target": "https://user:pw@x.example/"}, "target"),
    ({"channel": "email", "target": "not-an-address"}, "target"),
    ({"channel": "sms", "target": "call me"}, "target"),
    ({"channel": "sms", "target": "1-----"}, "target"),  # one digit is no phone number
    ({"channel": "sms", "target": "+84 912 345 678 901 23"}, "target"),  # E.164: at most 15 digits
    ({"channel": "pigeon", "target": "https://x.example/"}, "channel"),
    ({"channel": "email", "target": "a@b.example", "language": "fr"}, "language"),
    ({"channel": "email"}, "target"),
    ({"channel": "email", "target": "a@b.example", "colour": "red"}, "colour"),
])
def test_bad_subscriptions_are_refused_naming_the_field(client, who, body, field):
    answer = client.post("/v1/subscriptions", json=body, headers=who("agency_staff", organization_id="org-shelter"))
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert field in [error["field"] for error in answer.json["errors"]]


def test_who_may_manage_subscriptions(client, who):
    body = {"channel": "email", "target": "a@b.example"}
    assert client.post("/v1/subscriptions", json=body).status_code == 401
    assert client.post("/v1/subscriptions", json=body, headers=who("ops")).status_code == 403
    assert client.post("/v1/subscriptions", json=body, headers=who("directory_admin")).status_code == 403
    other = client.post("/v1/subscriptions", json={**body, "organization_id": "org-other"},
                        headers=who("agency_staff", organization_id="org-shelter"))
    assert other.status_code == 403
    admin = who("admin")
    missing = client.post("/v1/subscriptions", json=body, headers=admin)
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "organization_id"
    created = client.post("/v1/subscriptions", json={**body, "organization_id": "org-other", "user_id": "lan"},
                          headers=admin)
    assert created.status_code == 201 and created.json["user_id"] == "lan"
    sid = created.json["id"]
    assert client.delete(f"/v1/subscriptions/{sid}", headers=who("agency_staff", organization_id="org-shelter")) \
        .status_code == 404
    assert client.delete(f"/v1/subscriptions/{sid}", headers=who("agency_staff", organization_id="org-other")) \
        .status_code == 204
    assert client.delete(f"/v1/subscriptions/{sid}", headers=admin).status_code == 404


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_caseworkers_and_supervisors_manage_their_own_organizations_subscriptions(client, who, role):
    union = who(role, organization_id="org-union", subject=f"{role}-lan")
    created = client.post("/v1/subscriptions", headers=union,
                          json={"channel": "webhook", "target": "https://hooks.union.example/haven"})
    assert created.status_code == 201 and created.json["organization_id"] == "org-union"
    assert created.json["created_by"] == f"{role}-lan" and created.json["secret"].startswith("whsec_")
    sid = created.json["id"]
    assert [item["id"] for item in client.get("/v1/subscriptions", headers=union).json["items"]] == [sid]
    assert client.post(f"/v1/subscriptions/{sid}/ping", headers=union).status_code == 202
    assert client.get("/v1/deliveries", headers=union).json["total"] == 1
    # Bound to their organization exactly as agency staff are: nothing of another one.
    other = client.post("/v1/subscriptions", headers=union,
                        json={"channel": "email", "target": "a@b.example", "organization_id": "org-shelter"})
    assert other.status_code == 403
    shelter = who("agency_staff", organization_id="org-shelter")
    theirs = client.post("/v1/subscriptions", headers=shelter, json={"channel": "email", "target": "a@b.example"})
    assert client.get("/v1/subscriptions", headers=union).json["total"] == 1
    assert client.delete(f"/v1/subscriptions/{theirs.json['id']}", headers=union).status_code == 404
    assert client.post(f"/v1/subscriptions/{theirs.json['id']}/ping", headers=union).status_code == 404
    assert client.get("/v1/subscriptions", headers=who(role)).status_code == 403  # no organization on the token
    assert client.delete(f"/v1/subscriptions/{sid}", headers=union).status_code == 204


def test_a_ping_queues_a_test_delivery_the_agency_can_follow(client, who):
    shelter = who("agency_staff", organization_id="org-shelter")
    sid = client.post("/v1/subscriptions", headers=shelter,
                      json={"channel": "webhook", "target": "http://127.0.0.1:9/hook"}).json["id"]
    ping = client.post(f"/v1/subscriptions/{sid}/ping", headers=shelter)
    assert ping.status_code == 202
    [delivery] = client.get("/v1/deliveries", headers=shelter).json["items"]
    assert delivery["id"] == ping.json["delivery_id"] and delivery["event_kind"] == "ping"
    assert delivery["status"] == "pending" and delivery["subscription_id"] == sid
    assert client.get("/v1/deliveries", headers=who("agency_staff", organization_id="org-x")).json["total"] == 0
    retry = client.post(f"/v1/deliveries/{delivery['id']}/retry", headers=shelter)
    assert retry.status_code == 409 and retry.json["status_now"] == "pending"
    assert client.get("/v1/deliveries", query_string={"status": "lost"}, headers=shelter).status_code == 422


def test_the_inbox_needs_a_signed_in_caller(client, who):
    assert client.get("/v1/inbox").status_code == 401
    page = client.get("/v1/inbox", headers=who("ops")).json
    assert page == {"total": 0, "unread": 0, "page": 1, "per_page": 20, "items": []}
    assert client.post("/v1/inbox/nope/read", headers=who("ops")).status_code == 404
    # true or false, as the document says: "1" or "yes" is refused, not guessed at
    for unclear in ("1", "yes"):
        refused = client.get("/v1/inbox", query_string={"unread": unclear}, headers=who("ops"))
        assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "unread"
    assert client.get("/v1/inbox", query_string={"unread": "false"}, headers=who("ops")).status_code == 200


def test_the_documents_links_walk_a_subscription_from_creation_to_its_ping_and_deletion(client, who):
    document = client.get("/openapi.json").get_json()
    by_id = {op["operationId"]: (method.upper(), path, op) for path, item in document["paths"].items()
             for method, op in item.items() if isinstance(op, dict) and "operationId" in op}

    def follow(answer, operation_id, link_name, headers):
        _method, _path, operation = by_id[operation_id]
        link = operation["responses"][str(answer.status_code)]["links"][link_name]
        method, path, target = by_id[link["operationId"]]
        for name, expression in link["parameters"].items():
            path = path.replace("{" + name + "}", answer.json[expression.removeprefix("$response.body#/")])
        followed = client.open(path, method=method, headers=headers)
        assert str(followed.status_code) in target["responses"], (link_name, followed.status_code)
        return followed

    union = who("caseworker", organization_id="org-union")
    created = client.post("/v1/subscriptions", headers=union,
                          json={"channel": "webhook", "target": "http://127.0.0.1:9/hook"})
    ping = follow(created, "create_subscription", "ping", union)
    assert ping.status_code == 202
    deliveries = follow(ping, "ping_subscription", "follow", union)
    assert [d["id"] for d in deliveries.json["items"]] == [ping.json["delivery_id"]]
    assert follow(created, "create_subscription", "delete", union).status_code == 204
    assert follow(created, "create_subscription", "ping", union).status_code == 404
