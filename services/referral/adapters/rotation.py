"""Key rotation: re-encrypt stored personal fields under the newest key, in batches, so
the old key can be dropped from HAVEN_FIELD_KEYS afterwards (the loop is the platform's)."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from haven.platform.field_cipher import FieldCipher, rotate_columns

from .orm import history, referrals

# (table, its key columns, its encrypted columns)
ENCRYPTED = ((referrals, ("id",), ("personal", "override_reason")),
             (history, ("referral_id", "seq"), ("note",)))


def rotate_all(engine: Engine, cipher: FieldCipher, batch: int = 500) -> int:
    """Returns how many values were re-encrypted (those already under the newest key are left)."""
    return rotate_columns(engine, cipher, ENCRYPTED, batch)
