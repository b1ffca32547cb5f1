"""Alembic migrations of the notify database."""
from alembic import context

from haven.platform.db import run_alembic_env
from services.notify.adapters.orm import metadata

run_alembic_env(context, metadata)
