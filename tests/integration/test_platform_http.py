"""The HTTP skeleton every service shares: request ids, errors, metrics, readiness."""
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from haven.platform.http import create_service_app
from haven.platform.http_client import HttpClient


class Downstream:
    """A real HTTP server on 127.0.0.1 that records the headers it receives."""

    def __init__(self):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def downstream():
    server = Downstream()
    yield server
    server.close()


def _app(readiness=None, downstream_url=None):
    app, _api = create_service_app(service="testsvc", title="Test", version="1", description="test",
                                   readiness=readiness or {})

    @app.get("/boom/<int:number>")
    def boom(number):
        raise KeyError("secret internals")

    @app.get("/call-downstream")
    def call_downstream():
        HttpClient(downstream_url).get("/")
        return {"ok": True}

    return app


def test_a_valid_request_id_is_kept_and_echoed():
    response = _app().test_client().get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("incoming", [None, "", "has spaces", "x" * 200, "ünïcode"])
def test_a_missing_or_unsafe_request_id_is_replaced(incoming):
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    response = _app().test_client().get("/healthz", headers=headers)
    assert response.headers["X-Request-ID"] not in ("", incoming)
    assert len(response.headers["X-Request-ID"]) == 32


def test_the_request_id_is_passed_to_downstream_calls(downstream):
    client = _app(downstream_url=downstream.url).test_client()
    client.get("/call-downstream", headers={"X-Request-ID": "trace-me-1"})
    assert downstream.seen[-1]["X-Request-ID"] == "trace-me-1"


def test_an_unexpected_error_is_a_500_problem_logged_with_the_request_id(caplog):
    client = _app().test_client()
    with caplog.at_level(logging.ERROR, logger="haven.errors"):
        response = client.get("/boom/7", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body and "KeyError" not in body
    assert json.loads(body)["request_id"] == "req-500"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info is not None
    assert "/boom/<int:number>" in errors[0].getMessage()


def test_request_durations_are_labelled_by_route_template_not_raw_path():
    client = _app().test_client()
    client.get("/boom/12345")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'route="/boom/<int:number>"' in metrics
    assert "12345" not in metrics
    assert 'haven_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/boom/<int:number>",' \
           'service="testsvc",status="500"}' in metrics


def test_readiness_names_each_failed_dependency():
    def broken():
        raise RuntimeError("unreachable (OperationalError)")

    client = _app(readiness={"database": broken, "cache": lambda: None}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    problem = response.get_json()
    assert problem["checks"] == {"database": "failed: unreachable (OperationalError)", "cache": "ok"}
    assert "database" in problem["detail"]
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_a_json_endpoint_refuses_another_content_type():
    app = _app()

    @app.post("/things")
    def things():
        return {"ok": True}

    response = app.test_client().post("/things", data="name=x",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.get_json()["errors"][0]["field"] == "Content-Type"


def test_openapi_and_docs_are_served_without_internet():
    client = _app().test_client()
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/readyz" in document["paths"]
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1]
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,                 # deeper than any parser recursion limit
    '{"name": "\\ud800"}',                         # a lone surrogate: not storable as UTF-8
    '{"name": "a\\u0000b"}',                       # NUL: PostgreSQL text cannot hold it
    '{"\\u0000": 1}',
])
def test_unstorable_json_is_a_400_problem_not_a_500(body):
    app = _app()

    @app.post("/things")
    def things():
        return {"ok": True}

    response = app.test_client().post("/things", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/problem+json"


def test_a_nul_in_a_query_parameter_is_a_400_problem():
    response = _app().test_client().get("/healthz?postcode=%00")
    assert response.status_code == 400 and response.get_json()["errors"][0]["location"] == "query"


def test_a_chunked_body_of_another_type_is_415():
    app = _app()

    @app.post("/things")
    def things():
        return {"ok": True}

    import io

    response = app.test_client().post("/things", input_stream=io.BytesIO(b"a=1"),
                                      headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
    assert response.status_code == 415


def test_a_non_critical_dependency_down_is_reported_but_keeps_the_service_ready():
    from haven.platform.http import NonCritical

    def broker_down():
        raise ConnectionError("broker unreachable")

    response = _app(readiness={"database": lambda: None, "event log": NonCritical(broker_down)}).test_client() \
        .get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded", "checks": {
        "database": "ok", "event log": "failed: broker unreachable"}}
