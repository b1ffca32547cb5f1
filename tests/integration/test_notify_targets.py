"""A webhook subscription cannot turn the notify worker into a probe of internal services,
and odd URLs are a 422, never a 500; a receiver that drips its answer cannot hold a send."""
import ipaddress
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notify.adapters.channels import Outbound, WebhookChannel
from services.notify.domain.model import Notice
from tests.support.apps import service_app
from tests.support.auth import bearer


@pytest.fixture
def client(tmp_path):
    return service_app("notify", tmp_path).test_client()


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/hook", "http://[::1]:9000/hook", "http://192.168.1.1/", "http://admin.localhost/x",
])
def test_internal_targets_are_refused_when_subscribing(client, tmp_path, target):
    staff = bearer(tmp_path, "agency_staff", organization_id="org-a")
    answer = client.post("/v1/subscriptions", headers=staff, json={"channel": "webhook", "target": target})
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "target", answer.json


@pytest.mark.parametrize("target", ["http://[::1", "http://[zz]/x", "http://a.example:99999/"])
def test_malformed_webhook_urls_are_422(client, tmp_path, target):
    staff = bearer(tmp_path, "agency_staff", organization_id="org-a")
    answer = client.post("/v1/subscriptions", headers=staff, json={"channel": "webhook", "target": target})
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "target", answer.json


def _outbound(target):
    notice = Notice.from_dict({"kind": "created", "event_id": "e1", "occurred_at": "2026-11-25T08:00:00+00:00"})
    return Outbound("d1", target, "vi", notice, datetime.now(timezone.utc), "secret")


def test_a_name_that_resolves_to_an_internal_address_is_refused_at_send_time():
    import socket

    name = socket.gethostname()  # resolves to a loopback or private address on any test machine
    assert not ipaddress.ip_address(socket.getaddrinfo(name, 80)[0][4][0]).is_global
    result = WebhookChannel(timeout=2).send(_outbound(f"http://{name}:9/hook"))
    assert not result.ok and result.permanent and result.error == "target_not_public"


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_send_timeout():
    class Drip(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result = WebhookChannel(timeout=1, private_targets=True).send(
            _outbound(f"http://127.0.0.1:{server.server_port}/hook"))
        assert time.monotonic() - started < 3
        assert not result.ok and result.error == "answer_too_slow"
    finally:
        server.shutdown()


def test_a_large_body_is_refused_before_it_is_parsed(client, tmp_path):
    staff = bearer(tmp_path, "agency_staff", organization_id="org-a")
    answer = client.post("/v1/subscriptions", headers=staff, content_type="application/json",
                         data=b'{"target": "' + b"a" * 100_000 + b'"}')
    assert answer.status_code == 413 and answer.content_type == "application/problem+json"


def test_a_valid_event_of_another_stream_is_dead_lettered_at_once_not_retried():
    from haven.platform import events
    from haven.platform.eventlog import Record, worker
    from services.directory import contract as directory_contract
    from services.notify.entrypoints import consumer

    foreign = directory_contract.service_changed("s1", "o1", "updated", datetime.now(timezone.utc))
    handle = consumer.handler(fanout=None, wake=threading.Event())  # refused before anything is fanned out
    with pytest.raises(worker.Permanent):
        handle(Record("referral-events", 0, 0, "s1", foreign.to_json()))
    assert events.decode(foreign.to_json()).type == directory_contract.SERVICE_CHANGED
