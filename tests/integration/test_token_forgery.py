"""Forged, malformed and mismatched bearer tokens: every one is a 401 problem+json on all three
services, never a 500 and never a traceback in the log. Both ways of checking a token are
attacked: the embedded issuer's EC key, and an identity provider's JWKS (served here by a real
HTTP server with RSA and EC keys)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import types
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import jwt.jwk_set_cache
import jwt.jwks_client
import jwt.warnings
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from haven.cli import SERVICES
from haven.platform import auth as haven_auth
from haven.platform.auth import LocalKeys
from tests.support.apps import service_app
from tests.support.network import free_port

ISSUER = "https://idp.example.org/realms/haven"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
WEAK_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
P384_KEY = ec.generate_private_key(ec.SECP384R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
HMAC_SECRET = b"a shared secret somebody put in the JWKS, 32+ bytes"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def segment(value) -> str:
    return b64(json.dumps(value).encode())


def claims(issuer: str, **extra) -> dict:
    now = int(time.time())
    return {"iss": issuer, "aud": "haven", "sub": "intruder", "roles": ["admin"], "iat": now, "exp": now + 600,
            **extra}


def signed(key, algorithm: str, issuer: str, **header) -> str:
    return jwt.encode(claims(issuer), key, algorithm=algorithm, headers=header or None)


def hmac_signed(secret: bytes, issuer: str, **header) -> str:
    """HS256 by hand: PyJWT refuses to use a PEM public key as an HMAC secret, an attacker does not."""
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', **header})}.{segment(claims(issuer))}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def unsigned(issuer: str, **header) -> str:
    return f"{segment({'alg': 'none', **header})}.{segment(claims(issuer))}."


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk(key, kid: str, **extra) -> dict:
    if isinstance(key, bytes):
        return {"kty": "oct", "kid": kid, "k": b64(key), **extra}
    public = json.loads(jwt.algorithms.get_default_algorithms()[
        "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"].to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", **extra}


def malformed(issuer: str) -> dict[str, str]:
    """Tokens no issuer wrote, whatever the key: the shape itself is wrong."""
    good = signed(EC_KEY, "ES256", issuer, kid="ec-1")
    header, payload, signature = good.split(".")
    return {
        "repro from the issue": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.AAAA",
        "garbage": "not-a-jwt",
        "garbage segments": "a.b.c",
        "empty segments": "..",
        "two segments": f"{header}.{payload}",
        "four segments": f"{good}.{signature}",
        "five segments (JWE)": f"{header}.{payload}.{signature}.{signature}.{signature}",
        "header not base64": f"!!!.{payload}.{signature}",
        "header not JSON": f"{b64(b'not json at all')}.{payload}.{signature}",
        "header a JSON array": f"{segment(['ES256'])}.{payload}.{signature}",
        "header without alg": f"{segment({'typ': 'JWT', 'kid': 'ec-1'})}.{payload}.{signature}",
        "alg not a string": f"{segment({'alg': 256, 'kid': 'ec-1'})}.{payload}.{signature}",
        "alg unknown": f"{segment({'alg': 'XYZ999', 'kid': 'ec-1'})}.{payload}.{signature}",
        "kid a list": f"{segment({'alg': 'ES256', 'kid': ['ec-1']})}.{payload}.{signature}",
        "kid an object": f"{segment({'alg': 'RS256', 'kid': {'a': 1}})}.{payload}.{signature}",
        "payload not JSON": f"{header}.{b64(b'<xml/>')}.{signature}",
        "payload a JSON string": f"{header}.{segment('admin')}.{signature}",
        "signature not base64": f"{header}.{payload}.***",
        "signature cut short": f"{header}.{payload}.{signature[:10]}",
        "non-ASCII": "ü.ö.ä",
        "huge": f"{header}.{b64(b'x' * 200_000)}.{signature}",
        "huge header": f"{b64(json.dumps({'alg': 'ES256', 'x': 'y' * 100_000}).encode())}.{payload}.{signature}",
    }


def foreign_algorithms(issuer: str, kid: str) -> dict[str, str]:
    """Tokens whose header names an algorithm other than the key's, some really signed."""
    return {
        "RS256 by another RSA key": signed(OTHER_RSA_KEY, "RS256", issuer, kid=kid),
        "PS256 by another RSA key": signed(OTHER_RSA_KEY, "PS256", issuer, kid=kid),
        "ES384 by a P-384 key": signed(P384_KEY, "ES384", issuer, kid=kid),
        "EdDSA by an Ed25519 key": signed(ED_KEY, "EdDSA", issuer, kid=kid),
        "none": unsigned(issuer, kid=kid),
        "NONE": f"{segment({'alg': 'NONE', 'kid': kid})}.{segment(claims(issuer))}.",
        "HS256 by a made-up secret": hmac_signed(b"guess" * 8, issuer, kid=kid),
    }


def assert_refused(clients: dict, token: str, label: str) -> None:
    for service, client in clients.items():
        answer = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, (label, service, answer.get_json())
        assert answer.mimetype == "application/problem+json", (label, service)
        body = answer.get_json()
        assert body["type"] == "urn:haven:problem:unauthorized" and body["status"] == 401, (label, service)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), (label, service)
        assert "access_token" not in body and "intruder" not in json.dumps(body)


def listen(caplog) -> None:
    """Capture everything from here on: building an app reconfigures the root logger."""
    caplog.set_level(logging.DEBUG)
    if caplog.handler not in logging.getLogger().handlers:
        logging.getLogger().addHandler(caplog.handler)


def assert_quiet(caplog) -> None:
    assert caplog.handler in logging.getLogger().handlers, "the log was not listened to"
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


# --- the embedded issuer ------------------------------------------------------------

@pytest.fixture(scope="module")
def local(tmp_path_factory):
    data = tmp_path_factory.mktemp("local-issuer")
    clients = {name: service_app(name, data).test_client() for name in sorted(SERVICES)}
    return data, clients


def test_a_genuine_local_token_still_works(local):
    data, clients = local
    token = jwt.encode(claims("haven-local"), LocalKeys(str(data)).private_key(), algorithm="ES256")
    for client in clients.values():
        assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("label", sorted(malformed("haven-local")))
def test_a_malformed_token_is_401_on_every_service(local, caplog, label):
    listen(caplog)
    assert_refused(local[1], malformed("haven-local")[label], label)
    assert_quiet(caplog)


@pytest.mark.parametrize("label", sorted(foreign_algorithms("haven-local", "any")))
def test_a_token_in_another_algorithm_than_the_local_key_is_401(local, caplog, label):
    listen(caplog)
    assert_refused(local[1], foreign_algorithms("haven-local", "any")[label], label)
    assert_quiet(caplog)


def test_the_local_public_key_is_no_hmac_secret(local, caplog):
    data, clients = local
    listen(caplog)
    pem = public_pem(LocalKeys(str(data)).private_key())
    for secret in (pem, pem.strip(), b64(pem).encode()):
        assert_refused(clients, hmac_signed(secret, "haven-local"), "HS256 with the public key")
    assert_quiet(caplog)


def test_a_token_refused_by_a_real_endpoint_too(local, caplog):
    listen(caplog)
    answer = local[1]["directory"].post("/v1/organizations", json={"name": "Giả mạo"},
                                        headers={"Authorization": f"Bearer {signed(RSA_KEY, 'RS256', 'haven-local')}"})
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    assert_quiet(caplog)


# --- an identity provider's JWKS ----------------------------------------------------

class JwksServer:
    """The provider's JWKS endpoint: a real HTTP server on 127.0.0.1 serving `document`."""

    def __init__(self, document: dict):
        self.document = document
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def provider_document() -> dict:
    return {"keys": [
        jwk(RSA_KEY, "rsa-1", alg="RS256"),
        jwk(EC_KEY, "ec-1"),  # no `alg`: its curve implies ES256
        jwk(WEAK_RSA_KEY, "rsa-weak", alg="RS256"),
        jwk(HMAC_SECRET, "oct-1", alg="HS256"),
        {"kty": "RSA", "kid": "broken", "n": "AAAA", "e": "AQAB"},
    ]}


def provider_clients(tmp_path, url: str) -> dict:
    return {name: service_app(name, tmp_path, HAVEN_AUTH_JWKS_URL=url, HAVEN_AUTH_ISSUER=ISSUER).test_client()
            for name in sorted(SERVICES)}


@pytest.fixture
def provider(tmp_path):
    server = JwksServer(provider_document())
    yield server, provider_clients(tmp_path, server.url)
    server.close()


def test_genuine_provider_tokens_work_with_rsa_and_ec_keys(provider):
    _, clients = provider
    for token in (signed(RSA_KEY, "RS256", ISSUER, kid="rsa-1"), signed(EC_KEY, "ES256", ISSUER, kid="ec-1")):
        for service, client in clients.items():
            answer = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, service
            assert answer.get_json()["subject"] == "intruder"


def weakly_signed() -> str:
    with warnings.catch_warnings():  # PyJWT warns the signer; the point is what the verifier does
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return signed(WEAK_RSA_KEY, "RS256", ISSUER, kid="rsa-weak")


def key_mismatches() -> dict[str, str]:
    return {
        "EC-signed, kid of the RSA key": signed(EC_KEY, "ES256", ISSUER, kid="rsa-1"),
        "RSA-signed, kid of the EC key": signed(RSA_KEY, "RS256", ISSUER, kid="ec-1"),
        "right RSA key, PS256 where the JWK says RS256": signed(RSA_KEY, "PS256", ISSUER, kid="rsa-1"),
        "right RSA key, RS512 where the JWK says RS256": signed(RSA_KEY, "RS512", ISSUER, kid="rsa-1"),
        "right EC key, claimed ES384": f"{segment({'alg': 'ES384', 'kid': 'ec-1'})}."
                                       f"{signed(EC_KEY, 'ES256', ISSUER).split('.', 1)[1]}",
        "RS256 by a stranger's key": signed(OTHER_RSA_KEY, "RS256", ISSUER, kid="rsa-1"),
        "unknown kid": signed(RSA_KEY, "RS256", ISSUER, kid="rsa-2"),
        "no kid": signed(RSA_KEY, "RS256", ISSUER),
        "kid of a key the JWKS cannot describe": signed(RSA_KEY, "RS256", ISSUER, kid="broken"),
        "a 1024-bit RSA key": weakly_signed(),
        "HS256 with the RSA public key as secret": hmac_signed(public_pem(RSA_KEY), ISSUER, kid="rsa-1"),
        "HS256 with the EC public key as secret": hmac_signed(public_pem(EC_KEY), ISSUER, kid="ec-1"),
        "HS256 with a symmetric key from the JWKS": hmac_signed(HMAC_SECRET, ISSUER, kid="oct-1"),
        "none, kid of the RSA key": unsigned(ISSUER, kid="rsa-1"),
        "none, no kid": unsigned(ISSUER),
        "EdDSA, kid of the EC key": signed(ED_KEY, "EdDSA", ISSUER, kid="ec-1"),
        "a genuine key, another issuer": jwt.encode(claims("https://evil.example.org"), RSA_KEY, algorithm="RS256",
                                                    headers={"kid": "rsa-1"}),
    }


def test_no_token_that_does_not_fit_the_providers_keys_passes(provider, caplog):
    server, clients = provider
    listen(caplog)
    tokens = {**key_mismatches(), **malformed(ISSUER),
              **{f"{label}, kid rsa-1": token for label, token in foreign_algorithms(ISSUER, "rsa-1").items()},
              **{f"{label}, kid ec-1": token for label, token in foreign_algorithms(ISSUER, "ec-1").items()}}
    for label, token in tokens.items():
        assert_refused(clients, token, label)
    assert_quiet(caplog)
    # Dozens of unknown or malformed key ids did not each make us fetch the provider's keys.
    assert server.fetches <= 3 * len(clients)


def test_a_key_the_provider_withdrew_is_no_longer_trusted(provider, monkeypatch):
    server, clients = provider
    token = signed(RSA_KEY, "RS256", ISSUER, kid="rsa-1")
    assert clients["referral"].get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    server.document = {"keys": [jwk(OTHER_RSA_KEY, "rsa-2", alg="RS256")]}  # rotated: rsa-1 is withdrawn
    later = time.monotonic() + 3600  # past the key set's 5-minute cache and the refresh cool-down
    clock = types.SimpleNamespace(monotonic=lambda: later, time=time.time)
    monkeypatch.setattr(jwt.jwk_set_cache, "time", clock)
    monkeypatch.setattr(jwt.jwks_client, "time", clock)
    monkeypatch.setattr(haven_auth, "time", clock)  # past the verified-token memory too
    assert_refused({"referral": clients["referral"]}, token, "withdrawn key")
    renewed = signed(OTHER_RSA_KEY, "RS256", ISSUER, kid="rsa-2")
    assert clients["referral"].get("/v1/auth/me", headers={"Authorization": f"Bearer {renewed}"}).status_code == 200


def test_an_unreachable_identity_provider_is_503_not_a_bad_token(tmp_path, caplog):
    clients = provider_clients(tmp_path, f"http://127.0.0.1:{free_port()}/jwks.json")  # nothing listens there
    listen(caplog)
    token = signed(RSA_KEY, "RS256", ISSUER, kid="rsa-1")
    for service, client in clients.items():
        answer = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 503, service
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["type"] == "urn:haven:problem:identity-provider-unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    assert_quiet(caplog)
    assert any("JWKS" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
