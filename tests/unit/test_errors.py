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
