"""Relational storage: engines, Alembic migrations and the readiness check.

SQLite (one file per service under HAVEN_DATA_DIR) is the embedded default; PostgreSQL is
used when a service is given a database URL. Each service keeps its migrations in its own
`migrations` package and its own Alembic version table, so services can share a
PostgreSQL database in small deployments without stepping on each other.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


class UtcDateTime(sa.types.TypeDecorator):
    """A moment: stored as UTC, read back as UTC with its offset, on every database.

    SQLite keeps no zone: it writes an aware value's wall-clock time and reads back a naive
    one. Every column of a moment uses this type, so a time is never stored in the wrong
    zone and never answered without an offset (RFC 3339 needs one). A naive value handed
    in is taken to be UTC, as everything Haven stores is."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value)

    def process_result_value(self, value, dialect):
        return as_utc(value)


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def embedded_url(data_dir: str, service: str) -> str:
    return f"sqlite:///{os.path.join(data_dir, service + '.sqlite3')}"


def is_embedded(url: str) -> bool:
    return url.startswith("sqlite")


def _ensure_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if is_embedded(url) and path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str) -> Engine:
    if is_embedded(url):
        _ensure_folder(url)
        # hide_parameters: a failed statement's values (names, addresses) never reach a log
        engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets readers proceed while a writer commits (several gunicorn workers
            # share one file); NORMAL sync is durable under WAL except on power loss.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


class Migrations:
    """The Alembic migrations of one service."""

    def __init__(self, service: str, package_dir: str):
        self.service = service
        self.script_location = package_dir
        self.version_table = f"alembic_version_{service}"

    def _config(self, url: str) -> AlembicConfig:
        config = AlembicConfig()
        config.set_main_option("script_location", self.script_location)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        config.attributes["version_table"] = self.version_table
        return config

    def upgrade(self, url: str, revision: str = "head") -> None:
        _ensure_folder(url)
        command.upgrade(self._config(url), revision)

    def downgrade(self, url: str, revision: str) -> None:
        command.downgrade(self._config(url), revision)

    def head(self) -> str | None:
        return ScriptDirectory(self.script_location).get_current_head()

    def current(self, engine: Engine) -> str | None:
        """The revision the database is at (None before the first migration)."""
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(self.version_table):
                return None
            context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
            return context.get_current_revision()

    def _is_ahead(self, current: str | None) -> bool:
        """A revision this code does not know was written by a newer release: during a
        rolling upgrade the old pods keep serving (migrations are expand-then-contract)."""
        if current is None:
            return False
        try:
            ScriptDirectory(self.script_location).get_revision(current)
        except Exception:  # alembic raises several kinds for an unknown revision
            return True
        return False

    def readiness_check(self, engine: Engine) -> Callable[[], None]:
        head = self.head()

        def check() -> None:
            try:
                current = self.current(engine)
            except sa.exc.SQLAlchemyError as exc:
                # The driver's message can carry host names and user names; keep the class.
                raise RuntimeError(f"unreachable ({type(exc.orig or exc).__name__})") from None
            if current != head and not self._is_ahead(current):
                raise RuntimeError(f"schema at {current or 'nothing'}, expected {head}: run `haven migrate`")

        return check


def run_alembic_env(context, target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    config = context.config
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool,
                              hide_parameters=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=config.attributes.get("version_table", "alembic_version"),
            render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
