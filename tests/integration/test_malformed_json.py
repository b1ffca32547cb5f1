"""Every POST/PUT/PATCH endpoint of every service, now and later, answers a body that is
not JSON with 400 problem+json. The endpoints are read from each service's own OpenAPI
document, so a new endpoint is covered the day it is added."""
import re
import uuid

import pytest

from haven.cli import SERVICES
from tests.support.apps import service_app
from tests.support.auth import bearer

BROKEN_BODIES = ['{"name": "Nhà tạm lánh"', "not json at all", "{'single': 'quotes'}", "[1, 2,"]



def _operations(client):
    """Every write operation that takes JSON (one documented as taking only, say, CSV
    answers a JSON body with 415 instead)."""
    document = client.get("/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method in ("post", "put", "patch"):
            if method not in item:
                continue
            content = item[method].get("requestBody", {}).get("content", {"application/json": {}})
            if "application/json" in content:
                yield method, re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_malformed_json_is_400_problem_json_everywhere(service, tmp_path):
    client = service_app(service, tmp_path).test_client()
    operations = list(_operations(client))
    admin = bearer(tmp_path, "admin")  # a caller allowed to write, so only the body is wrong
    for method, path in operations:
        for body in BROKEN_BODIES:
            response = client.open(path, method=method.upper(), data=body,
                                   headers={"Content-Type": "application/json", "If-Match": '"1"', **admin})
            assert response.status_code == 400, (method, path, body, response.get_data(as_text=True))
            assert response.mimetype == "application/problem+json"
            problem = response.get_json()
            assert problem["status"] == 400 and problem["title"]
            assert "Traceback" not in response.get_data(as_text=True)


def test_the_directory_has_write_endpoints_to_check(tmp_path):
    # Guards the test above against passing vacuously if the document stopped listing them.
    client = service_app("directory", tmp_path).test_client()
    operations = set(_operations(client))
    assert {method for method, _ in operations} >= {"post", "put"}
    assert ("post", "/v1/import/hsds") in operations
    assert ("post", "/v1/import/csv") not in operations
