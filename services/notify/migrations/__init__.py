"""Alembic migrations of the notify database."""
