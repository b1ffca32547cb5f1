from alembic import context
import sqlalchemy as sa

from haven.platform.db import run_alembic_env

# The referral service has no tables of its own yet; its first migration adds them.
run_alembic_env(context, sa.MetaData())
