"""Every body is bounded before it is read: a stranger's 100 MB POST costs a service the
refusal and nothing more. Operations come from each service's own OpenAPI document, so a
route added tomorrow is covered the day it is added."""
import io
import re
import uuid

import pytest

from haven.cli import SERVICES
from tests.support.apps import service_app
from tests.support.auth import bearer

LIMITS = {"directory": 256 * 1024, "referral": 256 * 1024, "notify": 64 * 1024}
IMPORTS = {"/v1/import/hsds", "/v1/import/csv"}


class CountingBody(io.RawIOBase):
    """A request body that says how much of it the service read."""

    def __init__(self, size: int, byte: bytes = b" "):
        self.size, self.byte, self.taken = size, byte, 0

    def environ(self, chunked: bool = False) -> dict:
        """What a server hands the app: the stream, and its declared length unless chunked."""
        if chunked:
            return {"wsgi.input": self, "wsgi.input_terminated": True, "CONTENT_LENGTH": "",
                    "HTTP_TRANSFER_ENCODING": "chunked"}
        return {"wsgi.input": self, "CONTENT_LENGTH": str(self.size)}

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.taken)
        buffer[:count] = self.byte * count
        self.taken += count
        return count


def _operations(client):
    document = client.get("/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method in ("post", "put", "patch", "delete"):
            if method in item:
                yield method.upper(), path, re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _assert_too_large(response, limit):
    assert response.status_code == 413, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["max_bytes"] == limit and problem["errors"][0]["location"] == "body"
    assert response.headers["Connection"] == "close"


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_a_declared_body_over_the_limit_is_refused_unread_on_every_route(service, signed_in, tmp_path):
    client = service_app(service, tmp_path).test_client()
    headers = {"Content-Type": "application/json", "If-Match": '"1"'}
    if signed_in:
        headers.update(bearer(tmp_path, "admin"))
    checked = 0
    for method, template, path in _operations(client):
        if template in IMPORTS:
            continue  # their own, larger limit: below
        body = CountingBody(100 * 1024 * 1024)
        response = client.open(path, method=method, headers=headers, environ_overrides=body.environ())
        _assert_too_large(response, LIMITS[service])
        assert body.taken == 0, (method, path, body.taken)
        checked += 1
    assert checked >= 3  # login at least, on every service


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_chunked_body_is_cut_off_at_the_limit(service, tmp_path):
    client = service_app(service, tmp_path).test_client()
    body = CountingBody(10 * 1024 * 1024, b"[")
    response = client.post("/v1/auth/login", headers={"Content-Type": "application/json"},
                           environ_overrides=body.environ(chunked=True))
    _assert_too_large(response, LIMITS[service])
    assert body.taken <= LIMITS[service] + 64 * 1024  # read up to the limit, not the 10 MB


def test_a_body_within_the_limit_is_still_served(tmp_path):
    client = service_app("directory", tmp_path).test_client()
    padding = "x" * (200 * 1024)
    response = client.post("/v1/auth/login", json={"username": "nobody", "password": padding})
    assert response.status_code in (401, 422)  # judged on its content, not its size


def _csv(rows: int) -> str:
    header = "organization_name,service_name,kind,phone,description\n"
    return header + "".join(f"Hội LHPN {i},Tư vấn {i},counselling,0912345{i % 1000:03d},Tư vấn tâm lý miễn phí\n"
                            for i in range(rows))


def test_an_import_may_be_larger_for_a_directory_writer_and_is_read_as_a_stream(tmp_path):
    client = service_app("directory", tmp_path).test_client()
    text = _csv(6000)
    assert len(text.encode()) > LIMITS["directory"]
    response = client.post("/v1/import/csv", data=text.encode(), headers={"Content-Type": "text/csv", **bearer(
        tmp_path, "directory_admin")})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["imported"]["services"] == 6000


@pytest.mark.parametrize("path,content_type", [("/v1/import/csv", "text/csv"),
                                               ("/v1/import/hsds", "application/json")])
def test_a_large_import_from_anyone_but_a_directory_writer_is_refused_unread(path, content_type, tmp_path):
    client = service_app("directory", tmp_path).test_client()
    for headers, status in (({}, 401), (bearer(tmp_path, "caseworker", organization_id="x"), 403)):
        body = CountingBody(50 * 1024 * 1024)
        response = client.post(path, headers={"Content-Type": content_type, **headers},
                               environ_overrides=body.environ())
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        assert body.taken == 0


@pytest.mark.parametrize("path,content_type", [("/v1/import/csv", "text/csv"),
                                               ("/v1/import/hsds", "application/json")])
def test_an_import_over_its_own_limit_is_refused_unread(path, content_type, tmp_path):
    client = service_app("directory", tmp_path, DIRECTORY_IMPORT_MAX_BYTES=str(1024 * 1024)).test_client()
    body = CountingBody(1024 * 1024 + 1)
    response = client.post(path, headers={"Content-Type": content_type, **bearer(tmp_path, "directory_admin")},
                           environ_overrides=body.environ())
    _assert_too_large(response, 1024 * 1024)
    assert body.taken == 0


def test_a_malformed_hsds_import_is_still_a_400(tmp_path):
    client = service_app("directory", tmp_path).test_client()
    response = client.post("/v1/import/hsds", data='[{"name": "Nhà tạm lánh"', headers={
        "Content-Type": "application/json", **bearer(tmp_path, "directory_admin")})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_a_csv_import_that_is_not_utf8_is_a_400_naming_the_encoding(tmp_path):
    client = service_app("directory", tmp_path).test_client()
    response = client.post("/v1/import/csv", data=_csv(3).encode("utf-16"), headers={
        "Content-Type": "text/csv", **bearer(tmp_path, "directory_admin")})
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["detail"]
