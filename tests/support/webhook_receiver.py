"""A real local webhook receiver for the notify tests, written the way an agency would:
it verifies `Haven-Signature` itself (HMAC-SHA256 of "t.body", 5-minute window, constant-time
compare) — deliberately not with Haven's code — and drops a CloudEvent id it has seen.

    receiver = WebhookReceiver().start()
    receiver.secrets["/hook"] = secret           # from POST /v1/subscriptions
    receiver.status = 500                          # answer every POST with 500 ...
    receiver.stop(); receiver.start()              # ... or go away and come back (same port)

Also serves as the SMS gateway stand-in (`verify=False`): it records each JSON POST.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .network import free_port

TOLERANCE_SECONDS = 300


def verify_signature(secret: str, header: str, body: bytes, now: float) -> bool:
    """What a receiver does with Haven-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>."""
    parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    if abs(now - int(parts["t"])) > TOLERANCE_SECONDS:
        return False  # too old (a replay) or from a badly wrong clock
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float
    verified: bool
    answered: int

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    verify: bool = True
    port: int = field(default_factory=free_port)
    status: int = 200
    delay: float = 0.0
    secrets: dict = field(default_factory=dict)
    received: list = field(default_factory=list)

    def __post_init__(self):
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._seen: set[str] = set()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                verified = True
                if receiver.verify:
                    secret = receiver.secrets.get(self.path)
                    verified = bool(secret) and verify_signature(secret, self.headers.get("Haven-Signature", ""),
                                                                 body, time.time())
                status = receiver.status if verified else 401
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, time.time(), verified,
                                                      status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self, path: str | None = None) -> list[Received]:
        """Requests verified and answered 2xx, duplicates (same CloudEvent id) dropped."""
        unique, seen = [], set()
        with self._lock:
            requests = list(self.received)
        for request in requests:
            if (path and request.path != path) or not request.verified or not 200 <= request.answered < 300:
                continue
            key = request.json.get("id") if self.verify else request.json.get("reference")
            if key not in seen:
                seen.add(key)
                unique.append(request)
        return unique

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.accepted(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        return self.accepted(path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
