"""Alembic migrations of the directory database."""
