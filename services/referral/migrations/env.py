from alembic import context

from haven.platform.db import run_alembic_env
from services.referral.adapters.orm import metadata

run_alembic_env(context, metadata)
