"""Webhook secrets encrypted at rest: the column widens for a field-key token and every
secret still in clear is encrypted (adapters/secrets.py).

The keys come from the process's configuration, as for the service itself (HAVEN_FIELD_KEYS,
or REFERRAL_FIELD_KEYS, or the embedded key file under HAVEN_DATA_DIR): run `haven migrate`
with the same environment as the service. They are read only when a clear secret exists.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

subscriptions = sa.table("subscriptions", sa.column("id", sa.String), sa.column("secret", sa.String))


def _secrets():
    from haven.platform.field_cipher import cipher_for
    from services.notify import SPEC
    from services.notify.adapters.secrets import WebhookSecrets

    return WebhookSecrets(cipher_for(SPEC.load_config()))


def _rows(connection):
    return connection.execute(sa.select(subscriptions.c.id, subscriptions.c.secret)
                              .where(subscriptions.c.secret.is_not(None))).all()


def _resize(length: int) -> None:
    # SQLite does not enforce VARCHAR lengths (and would rebuild the table to change one).
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("subscriptions", "secret", type_=sa.String(length), existing_nullable=True)


def upgrade() -> None:
    from services.notify.adapters.secrets import is_sealed

    _resize(1000)
    connection = op.get_bind()
    clear = [row for row in _rows(connection) if not is_sealed(row.secret)]
    if clear:
        secrets = _secrets()
        for row in clear:
            connection.execute(subscriptions.update().where(subscriptions.c.id == row.id)
                               .values(secret=secrets.seal(row.secret)))


def downgrade() -> None:
    from services.notify.adapters.secrets import is_sealed

    connection = op.get_bind()
    sealed = [row for row in _rows(connection) if is_sealed(row.secret)]
    if sealed:
        secrets = _secrets()
        for row in sealed:
            connection.execute(subscriptions.update().where(subscriptions.c.id == row.id)
                               .values(secret=secrets.open(row.secret)))
    _resize(200)
