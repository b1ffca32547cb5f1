from haven.platform.errors import flatten_messages


def test_nested_webargs_messages_become_one_entry_per_field():
    messages = {"json": {"name": ["Missing data for required field."],
                         "address": {"city": ["Not a valid string."]},
                         "phones": {0: {"number": ["Invalid."]}},
                         "_schema": ["Invalid input type."]},
                "query": {"per_page": ["Must be less than or equal to 100."]}}
    errors = flatten_messages(messages)
    assert {(e["location"], e["field"]) for e in errors} == {
        ("json", "name"), ("json", "address.city"), ("json", "phones.0.number"), ("json", ""),
        ("query", "per_page")}


def test_a_body_that_is_not_json_is_reported_on_the_body():
    assert flatten_messages({"json": ["Invalid JSON body."]}) == [
        {"location": "json", "field": "", "message": "Invalid JSON body."}]


# --- one table per service: refusals become problems -------------------------------------

import pytest  # noqa: E402
from flask import Flask  # noqa: E402

from haven.platform import refusals  # noqa: E402
from haven.platform.errors import Answer, register_problems  # noqa: E402


class NoSuchShelter(refusals.NotFound):
    pass


class ShelterFull(refusals.Conflict):
    def __init__(self, beds: int):
        super().__init__("The shelter has no free bed.")
        self.beds = beds


class UnmappedRule(refusals.Invalid):
    pass


@pytest.fixture
def client():
    app = Flask("t")
    register_problems(app, {
        NoSuchShelter: Answer(404, "not-found", "Not Found", detail="No such shelter."),
        ShelterFull: Answer(409, "shelter-full", "Shelter full", extensions=lambda exc: {"beds": exc.beds}),
        KeyError: Answer(503, "keys", "Keys unavailable", detail="Check the keys."),
    })
    raised = {"shelter": NoSuchShelter("s1"), "full": ShelterFull(0), "rule": UnmappedRule("age", "must be 18+"),
              "denied": refusals.NotPermitted("Only supervisors may do this."),
              "stale": refusals.PreconditionFailed("Read it again."), "keys": KeyError("k"),
              "query": refusals.Invalid("near", "not a place", location="query")}

    @app.get("/<name>")
    def fail(name):
        raise raised[name]

    return app.test_client()


def test_the_service_table_names_the_answer(client):
    answer = client.get("/full")
    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    assert answer.json["type"] == "urn:haven:problem:shelter-full"
    assert answer.json["beds"] == 0 and answer.json["detail"] == "The shelter has no free bed."
    assert client.get("/shelter").json["detail"] == "No such shelter."
    keys = client.get("/keys")
    assert keys.status_code == 503 and keys.json["detail"] == "Check the keys."


def test_a_refusal_no_table_names_is_answered_by_its_base(client):
    rule = client.get("/rule")
    assert rule.status_code == 422 and rule.json["type"] == "urn:haven:problem:validation-error"
    assert rule.json["errors"] == [{"location": "json", "field": "age", "message": "must be 18+"}]
    assert rule.json["detail"] == "age: must be 18+"
    assert client.get("/query").json["errors"][0]["location"] == "query"
    denied = client.get("/denied")
    assert denied.status_code == 403 and denied.json["detail"] == "Only supervisors may do this."
    assert client.get("/stale").status_code == 412
