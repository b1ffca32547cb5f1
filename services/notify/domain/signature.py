"""Webhook signatures: `Haven-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC covers `"<t>.<body>"` with the subscription's secret, so a receiver knows the
body came from Haven and is recent: it recomputes the HMAC, compares in constant time and
refuses a timestamp more than `tolerance` seconds from its clock (a captured request cannot
be replayed later). Within that window it drops an event id it has already handled (every
retry of one delivery carries the same CloudEvent id).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Haven-Signature"
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance` seconds old
    (or ahead). Several v1= entries are accepted (a receiver rotating secrets)."""
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
