"""The OpenAPI documents say what the wire does: errors as problem+json with the statuses
each operation answers, which operations need a token, exact nullable shapes, and links
from a created record to what can be done with it."""
import pytest

from haven.cli import SERVICES
from haven.platform.errors import PROBLEM_JSON
from tests.support.apps import service_app

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    data = tmp_path_factory.mktemp("openapi")
    return {name: service_app(name, data).test_client().get("/openapi.json").get_json() for name in SERVICES}


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def resolve(document, response):
    if "$ref" in response:
        return document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_error_is_documented_as_problem_json_and_nothing_hides_behind_a_default(documents, service):
    document = documents[service]
    for name, operation in operations(document):
        assert "default" not in operation["responses"], name
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = resolve(document, response)["content"]
                assert list(content) == [PROBLEM_JSON], (name, status)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_platforms_own_answers_are_documented(documents, service):
    paths = documents[service]["paths"]
    assert paths["/healthz"]["get"]["security"] == [] and "200" in paths["/healthz"]["get"]["responses"]
    ready = paths["/readyz"]["get"]["responses"]
    assert {"200", "503"} <= set(ready) and PROBLEM_JSON in ready["503"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    login = paths["/v1/auth/login"]["post"]
    assert login["security"] == [] and {"401", "413", "415", "422", "429"} <= set(login["responses"])
    me = paths["/v1/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}] and "401" in me["responses"]
    scheme = documents[service]["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_referral_operations_say_what_they_answer_and_link_the_lifecycle(documents):
    paths = documents["referral"]["paths"]
    create = paths["/v1/referrals"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    assert {"201", "400", "401", "403", "413", "415", "422", "503"} <= set(create["responses"])
    links = create["responses"]["201"]["links"]
    operation_ids = {op.get("operationId") for _, op in operations(documents["referral"])}
    assert {"get", "acknowledge", "accept", "decline", "complete", "cancel", "re_refer"} <= set(links)
    assert all(link["operationId"] in operation_ids for link in links.values())
    assert links["accept"]["parameters"] == {"referral_id": "$response.body#/id"}
    decline = paths["/v1/referrals/{referral_id}/decline"]["post"]
    assert {"404", "409", "412"} <= set(decline["responses"])


def test_a_nullable_nested_object_is_its_own_schema_or_null_never_any_object(documents):
    personal = documents["referral"]["components"]["schemas"]["Referral"]["properties"]["personal"]
    assert personal["nullable"] is True and personal["allOf"] == [{"$ref": "#/components/schemas/Personal"}]
    for service, document in documents.items():
        text = str(document)
        assert "{'type': 'object', 'nullable': True}" not in text, service


def test_notify_operations_say_what_they_answer_their_constraints_and_link_a_subscription(documents):
    document = documents["notify"]
    paths, schemas = document["paths"], document["components"]["schemas"]
    operation_ids = {op.get("operationId") for _, op in operations(document)}
    for name, operation in operations(document):
        if name.split()[1].startswith("/v1/") and name != "POST /v1/auth/login":
            assert operation["security"] == [{"bearerAuth": []}], name
            assert {"401", "403", "503"} <= set(operation["responses"]), name
    create = paths["/v1/subscriptions"]["post"]
    assert {"201", "403", "413", "415", "422"} <= set(create["responses"])
    links = create["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} == {"ping_subscription", "delete_subscription"}
    assert all(link["parameters"] == {"subscription_id": "$response.body#/id"} for link in links.values())
    assert links.keys() and {link["operationId"] for link in links.values()} <= operation_ids
    assert {"404", "409"} <= set(paths["/v1/deliveries/{delivery_id}/retry"]["post"]["responses"])
    assert "404" in paths["/v1/subscriptions/{subscription_id}/ping"]["post"]["responses"]
    # Which target each channel takes is in the document, as the server checks it.
    branches = {b["properties"]["channel"]["enum"][0]: b["properties"]["target"]["pattern"]
                for b in schemas["CreateSubscription"]["oneOf"]}
    assert set(branches) == {"webhook", "email", "sms"}
    assert schemas["Delivery"]["properties"]["status"]["enum"] == ["pending", "sending", "delivered", "dead",
                                                                   "undeliverable"]
    assert set(schemas["Delivery"]["properties"]["channel"]["enum"]) == {"webhook", "email", "sms"}
    assert schemas["Delivery"]["properties"]["recipient_kind"]["enum"] == ["organization", "user"]
    assert schemas["Attempt"]["properties"]["outcome"]["enum"] == ["delivered", "failed", "interrupted", None]
    inbox = schemas["InboxItem"]["properties"]
    assert "accepted" in inbox["event"]["enum"] and None in inbox["audience"]["enum"]
    for field in ("deadline", "occurred_at", "created_at", "read_at"):
        assert inbox[field]["format"] == "date-time", field
    assert inbox["deadline"]["nullable"] is True and "nullable" not in inbox["occurred_at"]
    assert "id" in schemas["Subscription"]["required"] and "items" in schemas["InboxPage"]["required"]


def test_directory_operations_say_who_may_call_them_what_they_answer_and_link_a_record(documents):
    document = documents["directory"]
    paths = document["paths"]
    anyone, with_rights, signed_in = [], [{}, {"bearerAuth": []}], [{"bearerAuth": []}]
    assert paths["/v1/kinds"]["get"]["security"] == anyone
    assert paths["/v1/search"]["get"]["security"] == with_rights
    assert paths["/hsds/services"]["get"]["security"] == with_rights
    assert paths["/v1/services"]["post"]["security"] == signed_in
    revise = paths["/v1/organizations/{organization_id}"]["put"]
    assert {"400", "401", "403", "404", "412", "422", "428"} <= set(revise["responses"])
    assert next(p for p in revise["parameters"] if p["name"] == "If-Match")["schema"]["pattern"]
    assert "409" in paths["/v1/organizations/{organization_id}"]["delete"]["responses"]
    operation_ids = {op.get("operationId") for _, op in operations(document)}
    links = paths["/v1/services"]["post"]["responses"]["201"]["links"]
    assert {"get_service", "revise_service", "remove_service", "update_service_capacity"} <= \
        {link["operationId"] for link in links.values()} <= operation_ids
    assert links["capacity"]["parameters"] == {"service_id": "$response.body#/id"}
    hsds = paths["/hsds/services"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert hsds == {"$ref": "#/components/schemas/HsdsServicePage"}
    assert "shelter" in document["components"]["schemas"]["Service"]["properties"]["kind"]["enum"]
