"""Values the portal hands the browser to give back later, unreadable and unforgeable there:
encrypted and authenticated (Fernet) with a key derived from the portal's secret key, one
key per purpose, and refused once older than the caller allows."""
from __future__ import annotations

import base64
import json
import zlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def _fernet(purpose: bytes) -> Fernet:
    secret = current_app.secret_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode() if isinstance(secret, str) else secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value, purpose: bytes) -> str:
    return _fernet(purpose).encrypt(zlib.compress(json.dumps(value, ensure_ascii=False).encode())).decode()


def unseal(sealed: str | None, purpose: bytes, max_age_seconds: int):
    """The value, or None when there is none, it was altered, or it is too old."""
    if not sealed:
        return None
    try:
        return json.loads(zlib.decompress(_fernet(purpose).decrypt(sealed.encode(), ttl=max_age_seconds)))
    except (InvalidToken, ValueError, zlib.error):
        return None
