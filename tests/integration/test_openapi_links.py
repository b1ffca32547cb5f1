"""The links in the referral service's OpenAPI document walk a real referral's lifecycle:
from the answer to `create_referral`, every link resolves to an operation of the document,
its parameters come from that answer, and following them takes the referral from sent to
completed (and a declined one on to another service) with the statuses the document lists."""
import re
import threading

import pytest
from werkzeug.serving import make_server

from tests.support.apps import service_app
from tests.support.auth import bearer

AGENCY = "agency-links"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = tmp_path_factory.mktemp("links")
    directory = service_app("directory", data)
    server = make_server("127.0.0.1", 0, directory, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    admin = bearer(data, "directory_admin")
    client = directory.test_client()
    shelter_org = client.post("/v1/organizations", json={"name": "Nhà tạm lánh Hoa Sen"}, headers=admin).json["id"]
    services = [client.post("/v1/services", headers=admin, json={
        "organization_id": shelter_org, "name": name, "kind": kind, "always_open": True}).json["id"]
        for name, kind in (("Nhà tạm lánh", "shelter"), ("Tư vấn tâm lý", "counselling"))]
    app = service_app("referral", data, REFERRAL_DIRECTORY_URL=f"http://127.0.0.1:{server.server_port}")
    referral = app.test_client()
    yield {"client": referral, "document": referral.get("/openapi.json").get_json(), "services": services,
           "caseworker": bearer(data, "caseworker", organization_id=AGENCY, subject="cw-links"),
           "staff": bearer(data, "agency_staff", organization_id=shelter_org, subject="staff-links")}
    server.shutdown()


def _operations(document) -> dict[str, tuple[str, str, dict]]:
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def _follow(world, answer, link_name: str, headers, body=None):
    """Call the operation the link names, with the parameters it takes from `answer`."""
    document = world["document"]
    status = str(answer.status_code)
    link = document["paths"][_template_of(document, answer)][
        answer.request.method.lower()]["responses"][status]["links"][link_name]
    method, path, operation = _operations(document)[link["operationId"]]
    for name, expression in link["parameters"].items():
        pointer = expression.removeprefix("$response.body#/")
        path = path.replace("{" + name + "}", str(answer.json[pointer]))
    assert "{" not in path, path
    followed = world["client"].open(path, method=method, json=body if body is not None else (
        {} if method == "POST" else None), headers=headers)
    assert str(followed.status_code) in operation["responses"], (link_name, followed.status_code)
    return followed


def _template_of(document, answer) -> str:
    for template in document["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, answer.request.path):
            return template
    raise AssertionError(f"no path of the document matches {answer.request.path}")


def _referral(world, service_index=0):
    return {"receiving_service_id": world["services"][service_index], "urgency": "high", "risk_level": "medium",
            "profile": {"client_ref": "LINK-001", "age_group": "25_59", "gender": "female"},
            "consent": {"given": True, "obtained_by": "cw-links", "obtained_at": "2026-11-30T08:00:00+07:00",
                        "scope": ["needs"]}}


def test_the_links_walk_a_referral_from_sent_to_completed(world):
    created = world["client"].post("/v1/referrals", json=_referral(world), headers=world["caseworker"])
    assert created.status_code == 201
    read = _follow(world, created, "get", world["caseworker"])
    assert read.json["id"] == created.json["id"]
    step = _follow(world, read, "acknowledge", world["staff"])
    step = _follow(world, step, "accept", world["staff"])
    done = _follow(world, step, "complete", world["staff"], {"note": "Đã ổn định chỗ ở"})
    assert done.json["status"] == "completed"
    history = _follow(world, done, "history", world["caseworker"])
    assert [s["to_status"] for s in history.json["items"]] == ["sent", "acknowledged", "accepted", "completed"]
    again = _follow(world, done, "cancel", world["caseworker"], {})
    assert again.status_code == 409  # documented: not a step from where it stands


def test_the_links_take_a_declined_referral_on_to_another_service(world):
    created = world["client"].post("/v1/referrals", json=_referral(world), headers=world["caseworker"])
    declined = _follow(world, created, "decline", world["staff"], {"reason": "no_capacity"})
    onward = _follow(world, declined, "re_refer", world["caseworker"], {"receiving_service_id": world["services"][1]})
    assert onward.status_code == 201 and onward.json["previous_referral_id"] == created.json["id"]
    assert _follow(world, onward, "get", world["caseworker"]).json["status"] == "sent"
