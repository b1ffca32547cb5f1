"""Alembic migrations of the referral database."""
