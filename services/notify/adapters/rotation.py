"""Key rotation for notify: webhook secrets re-encrypted under the newest field key (the
loop is the platform's; `haven rotate-field-keys` runs it after the referral's)."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from haven.platform.field_cipher import FieldCipher, rotate_columns

from .orm import subscriptions

# (table, its key columns, its encrypted columns)
ENCRYPTED = ((subscriptions, ("id",), ("secret",)),)


def rotate_all(engine: Engine, cipher: FieldCipher, batch: int = 500) -> int:
    """Returns how many secrets were re-encrypted (those already under the newest key are left)."""
    return rotate_columns(engine, cipher, ENCRYPTED, batch)
