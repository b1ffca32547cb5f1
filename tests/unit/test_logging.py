import json
import logging

from haven.platform.logging import JsonFormatter, request_id_var


def _format(record_message="hello", **extra):
    record = logging.LogRecord("haven.test", logging.INFO, __file__, 1, record_message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter("directory").format(record))


def test_a_log_line_is_json_with_service_and_request_id():
    token = request_id_var.set("req-42")
    try:
        entry = _format(route="/v1/organizations", status=201)
    finally:
        request_id_var.reset(token)
    assert entry["service"] == "directory"
    assert entry["request_id"] == "req-42"
    assert entry["message"] == "hello"
    assert entry["route"] == "/v1/organizations" and entry["status"] == 201


def test_no_request_id_outside_a_request():
    assert "request_id" not in _format()


def test_vietnamese_stays_readable():
    assert _format("Nhà tạm lánh")["message"] == "Nhà tạm lánh"
