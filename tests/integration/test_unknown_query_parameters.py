"""A query parameter an operation does not know is refused with 422 naming it, on every
operation that takes query parameters (read from each service's OpenAPI document), so a
misspelt filter never silently returns everything."""
import re
import uuid

import pytest

from haven.cli import SERVICES
from tests.support.apps import service_app
from tests.support.auth import bearer


def _operations_with_query(document):
    for path, item in document["paths"].items():
        for method in ("get", "delete"):
            operation = item.get(method)
            if operation and any(p["in"] == "query" for p in operation.get("parameters", [])):
                yield method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_an_unknown_query_parameter_is_422_naming_it(service, tmp_path):
    client = service_app(service, tmp_path).test_client()
    operations = list(_operations_with_query(client.get("/openapi.json").get_json()))
    assert operations, "no operation with query parameters: the test would prove nothing"
    admin = bearer(tmp_path, "admin", "directory_admin", "agency_staff", organization_id="org-1")
    for method, path in operations:
        answer = client.open(path, method=method, query_string={"organisation_id": "x"}, headers=admin)
        assert answer.status_code == 422, (method, path, answer.status_code)
        assert {"location": "query", "field": "organisation_id", "message": "Unknown field."} in answer.json["errors"]
