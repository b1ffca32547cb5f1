import json

import marshmallow as ma
import pytest

from haven.platform import events
from haven.platform.events import InvalidEvent, decode, new_event
from haven.platform.logging import request_id_var


class _ExampleData(ma.Schema):
    referral_id = ma.fields.UUID(required=True)
    urgency = ma.fields.String(required=True, validate=ma.validate.OneOf(["emergency", "high", "normal"]))


events.register("org.haven.test.created.v1", _ExampleData)
REFERRAL = "9b2f5d3e-3c1a-4c55-8d61-0d1b2c3d4e5f"


def test_an_event_is_cloudevents_json_with_the_request_id_as_correlation_id():
    token = request_id_var.set("req-77")
    try:
        event = new_event("org.haven.test.created.v1", "/referral", {"referral_id": REFERRAL, "urgency": "high"},
                          subject=REFERRAL)
    finally:
        request_id_var.reset(token)
    body = json.loads(event.to_json())
    assert body["specversion"] == "1.0" and body["type"] == "org.haven.test.created.v1"
    assert body["source"] == "/referral" and body["subject"] == REFERRAL
    assert body["datacontenttype"] == "application/json" and body["time"].endswith("+00:00")
    assert body["correlationid"] == "req-77" and body["id"]
    assert decode(event.to_json()) == event


@pytest.mark.parametrize("data, field", [({"referral_id": REFERRAL}, "urgency"),
                                         ({"referral_id": "x", "urgency": "high"}, "referral_id"),
                                         ({"referral_id": REFERRAL, "urgency": "high", "name": "Lan"}, "name")])
def test_a_producer_cannot_publish_invalid_data(data, field):
    with pytest.raises(InvalidEvent) as failure:
        new_event("org.haven.test.created.v1", "/referral", data)
    assert field in str(failure.value)
    assert "Lan" not in str(failure.value)  # field names only, never values


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"[1,2]", b'{"id": "1"}',
                                 b'{"id":"1","source":"/s","type":"org.haven.unknown.v1","specversion":"1.0","data":{}}',
                                 b'{"id":"1","source":"/s","type":"org.haven.test.created.v1","specversion":"0.3",'
                                 b'"data":{}}'])
def test_a_consumer_gets_a_reason_for_an_undecodable_event(raw):
    with pytest.raises(InvalidEvent):
        decode(raw)


def test_event_types_are_versioned():
    with pytest.raises(ValueError):
        events.register("org.haven.test.created", _ExampleData)
