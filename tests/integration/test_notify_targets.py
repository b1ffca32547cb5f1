"""A webhook subscription cannot turn the notify worker into a probe of internal services,
and odd URLs are a 422, never a 500; a receiver that drips its answer cannot hold a send."""
import ipaddress
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notify.adapters.channels import Outbound, WebhookChannel
from services.notify.domain.model import Notice
from tests.support.apps import service_app
from tests.support.auth import bearer
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def client(tmp_path):
    return service_app("notify", tmp_path).test_client()


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/hook", "http://[::1]:9000/hook", "http://192.168.1.1/", "http://admin.localhost/x",
    # forms the system's resolver reads as loopback, private or "this host" (inet_aton's old forms)
    "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://0/",
    "http://0x0a.0.0.1/", "http://127.0.0.1./hook",
    # IPv6 spellings of IPv4 addresses: mapped, 6to4, NAT64
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://[64:ff9b::a00:7]/",
    # meant as an address, but not one anybody can read: refused, not guessed at
    "http://999.1.1.1/", "http://1.2.3.0x/",
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
    from services.notify.entrypoints import consumers as consumer

    foreign = directory_contract.service_changed("s1", "o1", "updated", datetime.now(timezone.utc))
    handle = consumer.handler(fanout=None, wake=threading.Event())  # refused before anything is fanned out
    with pytest.raises(worker.Permanent):
        handle(Record("referral-events", 0, 0, "s1", foreign.to_json()))
    assert events.decode(foreign.to_json()).type == directory_contract.SERVICE_CHANGED


# --- names: resolved, every address checked, and the send goes to a checked address ------

REAL_GETADDRINFO = socket.getaddrinfo


class Resolver:
    """The system resolver, except for the names a test gives answers for. Each name has a
    list of answers, used one per lookup (the last one repeats): DNS changing its mind."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.lookups.append(name)
        answers = self.answers[name]
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (ip, int(port or 0), 0, 0) if ":" in ip else (ip, int(port or 0))) for ip in ips]


@pytest.fixture
def resolver(monkeypatch):
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.mark.parametrize("addresses", [["10.20.30.40"], ["192.168.7.7"], ["93.184.215.14", "172.16.0.9"],
                                       ["::ffff:10.0.0.1"], ["fd00::7"]])
def test_a_name_resolving_to_an_internal_address_is_refused_when_subscribing(client, tmp_path, resolver, addresses):
    resolver.answers["hooks.agency.test"] = [addresses]
    staff = bearer(tmp_path, "agency_staff", organization_id="org-a")
    answer = client.post("/v1/subscriptions", headers=staff,
                         json={"channel": "webhook", "target": "https://hooks.agency.test/haven"})
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "target", answer.json
    assert resolver.lookups == ["hooks.agency.test"]


def test_a_name_resolving_to_public_addresses_only_is_accepted(client, tmp_path, resolver):
    resolver.answers["hooks.agency.test"] = [["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]]
    staff = bearer(tmp_path, "agency_staff", organization_id="org-a")
    answer = client.post("/v1/subscriptions", headers=staff,
                         json={"channel": "webhook", "target": "https://hooks.agency.test/haven"})
    assert answer.status_code == 201, answer.json


@pytest.fixture
def no_internet(monkeypatch):
    """Connections to public addresses are refused here, as a firewall would, and recorded:
    nothing leaves the machine, and the test sees where the worker tried to go."""
    tried = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and ipaddress.ip_address(address[0]).is_global:
            tried.append(address[0])
            raise ConnectionRefusedError(111, "refused by the test's firewall")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return tried


def test_the_send_connects_to_the_address_it_checked_not_to_a_second_lookup(resolver, no_internet):
    """DNS rebinding: the name is public when checked and loopback a moment later. The POST
    goes to the checked public address (refused here), never to the local service."""
    with WebhookReceiver(verify=False) as internal:
        resolver.answers["rebind.test"] = [["93.184.215.14"], ["127.0.0.1"]]
        result = WebhookChannel(timeout=2).send(_outbound(f"http://rebind.test:{internal.port}/hook"))
        assert not result.ok and result.error == "ConnectionError"
        assert internal.received == []
        assert no_internet == ["93.184.215.14"] and resolver.lookups == ["rebind.test"]


def test_every_address_is_checked_and_a_refused_one_passes_to_the_next(resolver, no_internet):
    with WebhookReceiver(verify=False) as receiver:
        resolver.answers["twice.test"] = [["93.184.215.14", "127.0.0.1"]]
        url = f"http://twice.test:{receiver.port}/hook"
        refused = WebhookChannel(timeout=2).send(_outbound(url))
        assert not refused.ok and refused.error == "target_not_public" and no_internet == []
        on_premise = WebhookChannel(timeout=2, private_targets=True).send(_outbound(url))
        assert on_premise.ok, on_premise
        [request] = receiver.received
        assert request.headers["Host"] == f"twice.test:{receiver.port}" and no_internet == ["93.184.215.14"]
        assert "X-Haven-Pinned-Host" not in request.headers


def test_https_still_verifies_the_certificate_against_the_name(resolver, monkeypatch, tmp_path):
    ca_file, server_context = _tls_for("hooks.agency.test", tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    resolver.answers["hooks.agency.test"] = [["127.0.0.1"]]
    resolver.answers["other.agency.test"] = [["127.0.0.1"]]
    seen = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    sni = []
    server_context.sni_callback = lambda ssl_socket, name, context: sni.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        channel = WebhookChannel(timeout=5, private_targets=True)
        good = channel.send(_outbound(f"https://hooks.agency.test:{server.server_port}/hook"))
        assert good.ok and good.status_code == 204, good
        assert sni[0] == "hooks.agency.test" and seen[0] == f"hooks.agency.test:{server.server_port}"
        # same address, another name: the certificate does not name it, so nothing is sent
        wrong = channel.send(_outbound(f"https://other.agency.test:{server.server_port}/hook"))
        assert not wrong.ok and wrong.error == "SSLError" and len(seen) == 1
    finally:
        server.shutdown()
        server.server_close()


def _tls_for(name, folder):
    """A throw-away CA and a server certificate for `name` signed by it."""
    import ssl
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Haven test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
          .not_valid_after(now + timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context
