"""Key rotation: re-encrypt stored personal fields under the newest key, in batches, so
the old key can be dropped from REFERRAL_FIELD_KEYS afterwards."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .field_cipher import FieldCipher
from .orm import history, referrals

# (table, its key columns, its encrypted columns)
ENCRYPTED = ((referrals, ("id",), ("personal", "override_reason")),
             (history, ("referral_id", "seq"), ("note",)))


def rotate_all(engine: Engine, cipher: FieldCipher, batch: int = 500) -> int:
    """Returns how many values were re-encrypted (those already under the newest key are left)."""
    rotated = 0
    for table, keys, columns in ENCRYPTED:
        for column in columns:
            with engine.connect() as connection:
                rows = connection.execute(sa.select(*(table.c[k] for k in keys), table.c[column])
                                          .where(table.c[column].is_not(None))).all()
            stale = [row for row in rows if not cipher.is_current(row[-1])]
            for start in range(0, len(stale), batch):
                with engine.begin() as connection:
                    for row in stale[start:start + batch]:
                        where = sa.and_(*(table.c[k] == row[i] for i, k in enumerate(keys)),
                                        table.c[column] == row[-1])  # unchanged since read
                        rotated += connection.execute(table.update().where(where).values(
                            {column: cipher.rotate(row[-1])})).rowcount
    return rotated
