"""Webhook signing secrets at rest. The worker needs each secret in clear to sign (HMAC), so
it cannot be hashed like a password: it is encrypted with the field keys the referral
service uses for personal fields (haven/platform/field_cipher.py), and `haven
rotate-field-keys` re-encrypts it with them. A copy of the database alone no longer lets
anyone forge a signed notification."""
from __future__ import annotations

from haven.platform.field_cipher import CipherError, FieldCipher

from ..service_layer.ports import SecretUnreadable

_FIELD = "secret"


class WebhookSecrets:
    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher

    def seal(self, secret: str) -> str:
        return self.cipher.encrypt({_FIELD: secret})

    def open(self, stored: str) -> str:
        """The secret in clear; SecretUnreadable if no configured key opens it."""
        try:
            value = self.cipher.decrypt(stored).get(_FIELD)
        except CipherError as exc:  # its message names the key, never the secret
            raise SecretUnreadable(str(exc)) from exc
        if not isinstance(value, str):
            raise SecretUnreadable("a webhook secret token holds no secret")
        return value


def is_sealed(stored: str | None) -> bool:
    """Encrypted already? Clear secrets (`whsec_…`, from before encryption) carry no key id."""
    return FieldCipher.key_id_of(stored) is not None


__all__ = ["WebhookSecrets", "is_sealed"]
