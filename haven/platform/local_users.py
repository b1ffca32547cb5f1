"""Haven's own user accounts, for the embedded issuer (no identity provider configured).

A small SQLite file, HAVEN_DATA_DIR/auth/users.db, beside the signing key: it belongs to the
issuer, not to any service, so it has no Alembic history of its own (the schema is created
on first use and versioned with `PRAGMA user_version`). SQLite rather than a JSON file
because every gunicorn worker of every service reads it, and the failed-login counter must
be shared by all of them: one transaction per attempt keeps it exact. The limits and why
they are shaped so: haven/platform/sign_in_limits.py.

Passwords are hashed with scrypt (random salt; the parameters are stored with the hash so
they can be raised later without invalidating old hashes) and compared in constant time.
Nothing here logs a password, a hash or a user's contact details.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import re
import secrets
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from .principal import ORGANIZATION_ROLES, ROLES
from .sign_in_limits import SignInLimits

LANGUAGES = ("vi", "en")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte-long "password" is a cheap way to burn CPU

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
# OWASP's scrypt equivalent of N=2^17, p=1 that needs a quarter of the memory (32 MiB):
# several gunicorn threads may hash at once. About 0.2 s on one core.
_SCRYPT = {"n": 2 ** 15, "r": 8, "p": 3}
_SCRYPT_MAXMEM = 128 * 1024 * 1024
# 2: attempts record the client's address. Version 1's attempts are dropped on upgrade:
# they are at most one window's worth of failure counts.
_SCHEMA_VERSION = 2
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        roles TEXT NOT NULL,  -- space-separated
        organization_id TEXT,
        language TEXT NOT NULL,
        email TEXT,
        phone TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL)""",
    # One row per sign-in attempt not (yet) known to have succeeded. The user name is kept
    # as a hash: people type passwords into the user name field. The client is the address
    # the services see (HAVEN_PROXY_HOPS decides whose), kept for one window at most.
    """CREATE TABLE IF NOT EXISTS sign_in_attempts (
        username_hash TEXT NOT NULL,
        client TEXT NOT NULL,
        attempted_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_by_name ON sign_in_attempts (username_hash, attempted_at)",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_by_client ON sign_in_attempts (client, attempted_at)",
)


class UserError(ValueError):
    """A user's details are not acceptable; `field` names which one."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UserExists(UserError):
    pass


class UnknownUser(LookupError):
    pass


class InvalidCredentials(Exception):
    """Wrong user name or password, or a disabled account: deliberately not told apart."""


class LockedOut(Exception):
    """An attempt refused before its password was checked. `limit` names which limit:
    `name-and-address`, `address` or `name` (the back-off of a name guessed from everywhere)."""

    def __init__(self, retry_after: int, limit: str):
        super().__init__(f"too many failed sign-ins ({limit}); retry in {retry_after} s")
        self.retry_after = retry_after
        self.limit = limit


@dataclass(frozen=True)
class LocalUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    organization_id: str | None = None
    language: str = "vi"
    email: str | None = None
    phone: str | None = None
    disabled: bool = False

    def __repr__(self) -> str:  # contact details stay out of tracebacks and logs
        return f"LocalUser({self.username!r}, roles={self.roles!r}, disabled={self.disabled})"


def normalize_username(username: str) -> str:
    return username.strip().lower()


def validated(user: LocalUser) -> LocalUser:
    """The user with a normalized name, or UserError naming the first bad field."""
    username = normalize_username(user.username)
    if not _USERNAME.match(username):
        raise UserError("username", "1-64 characters: letters, digits and . _ @ -, starting with a letter or digit")
    if not user.roles:
        raise UserError("roles", "at least one role")
    unknown = [r for r in user.roles if r not in ROLES]
    if unknown:
        raise UserError("roles", f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}")
    if set(user.roles) & ORGANIZATION_ROLES and not user.organization_id:
        # Refused here rather than at every request: such an account could sign in and do nothing.
        raise UserError("organization_id", "caseworkers, supervisors and agency staff belong to an organization")
    if user.language not in LANGUAGES:
        raise UserError("language", f"one of {', '.join(LANGUAGES)}")
    display_name = user.display_name.strip() or username
    return replace(user, username=username, display_name=display_name, roles=tuple(dict.fromkeys(user.roles)))


# --- passwords -------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _check_password_length(password: str) -> None:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError("password", f"at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`, base64 salt and hash."""
    _check_password_length(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=_SCRYPT_MAXMEM, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), maxmem=_SCRYPT_MAXMEM, dklen=32)
    except (ValueError, UnicodeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


# Checked when the user name is unknown, so that "no such user" costs the same scrypt run as
# "wrong password" and response times do not tell which names exist. Any salt and digest
# do: nothing can match it, only the parameters matter.
_DUMMY_HASH = f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(bytes(16))}${_b64(bytes(32))}"


# --- the store -------------------------------------------------------------------------

class LocalUsers:
    def __init__(self, data_dir: str, clock: Callable[[], float] | None = None,
                 limits: SignInLimits = SignInLimits()):
        self.path = os.path.join(data_dir, "auth", "users.db")
        self.clock = clock or (lambda: time.time())  # looked up at each call: tests move the module's time
        self.limits = limits

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if not os.path.exists(self.path):
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            # Created owner-only before SQLite opens it: it holds password hashes.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as connection:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA busy_timeout = 10000")
            self._create_schema(connection)
            yield connection

    @staticmethod
    def _create_schema(connection: sqlite3.Connection) -> None:
        if connection.execute("PRAGMA user_version").fetchone()[0] >= _SCHEMA_VERSION:
            return
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version >= _SCHEMA_VERSION:  # another process upgraded it meanwhile
                connection.execute("COMMIT")
                return
            if version == 1:
                connection.execute("DROP TABLE IF EXISTS sign_in_attempts")
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    # accounts

    def add(self, user: LocalUser, password: str | None = None, *, password_hash: str | None = None) -> LocalUser:
        """Create an account from a password, or from a hash made by `hash_password`."""
        user = validated(user)
        if password_hash is None:
            if password is None or len(password) < MIN_PASSWORD_LENGTH:
                raise UserError("password", f"at least {MIN_PASSWORD_LENGTH} characters")
            password_hash = hash_password(password)
        with self._connection() as connection:
            try:
                connection.execute(
                    "INSERT INTO users (username, display_name, password_hash, roles, organization_id, language, "
                    "email, phone, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (user.username, user.display_name, password_hash, " ".join(user.roles), user.organization_id,
                     user.language, user.email, user.phone, int(user.disabled), self.clock()))
            except sqlite3.IntegrityError:
                raise UserExists("username", f"{user.username!r} already exists") from None
        return user

    def get(self, username: str) -> LocalUser | None:
        row = self._row(normalize_username(username))
        return _user(row) if row else None

    def list(self) -> list[LocalUser]:
        with self._connection() as connection:
            return [_user(row) for row in connection.execute("SELECT * FROM users ORDER BY username")]

    def disable(self, username: str) -> None:
        """Refuse the account's next sign-in. Tokens already issued stay valid until they
        expire (HAVEN_AUTH_TOKEN_TTL_SECONDS): that is why they are short-lived."""
        with self._connection() as connection:
            changed = connection.execute("UPDATE users SET disabled = 1 WHERE username = ?",
                                         (normalize_username(username),)).rowcount
        if not changed:
            raise UnknownUser(username)

    def _row(self, username: str) -> sqlite3.Row | None:
        with self._connection() as connection:
            return connection.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()

    # signing in

    def authenticate(self, username: str, password: str, client: str = "local") -> LocalUser:
        """The active user with this name and password; InvalidCredentials, whatever was
        wrong; LockedOut when a limit of `self.limits` stops the attempt from `client` (the
        caller's address) before its password is even checked."""
        name = normalize_username(username)
        key = hashlib.sha256(name.encode("utf-8")).hexdigest()
        self._count_attempt(key, client)
        row = self._row(name)
        # The hash is checked even when the account is missing or disabled: every refusal
        # costs the same time.
        matches = verify_password(password, row["password_hash"] if row else _DUMMY_HASH)
        if not (row and matches and not row["disabled"]):
            raise InvalidCredentials()
        with self._connection() as connection:
            # A success clears the slate: the holder of the password is not slowed down by
            # someone else's guesses made before.
            connection.execute("DELETE FROM sign_in_attempts WHERE username_hash = ?", (key,))
        return _user(row)

    def _count_attempt(self, key: str, client: str) -> None:
        """Record an attempt before checking the password, in one write transaction with the
        counts: parallel guesses cannot slip past a limit while the hash is computed."""
        limits, now = self.limits, self.clock()
        since = now - limits.window_seconds
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("DELETE FROM sign_in_attempts WHERE attempted_at <= ?", (since,))
                self._check_limits(connection, key, client, now, since)
                connection.execute("INSERT INTO sign_in_attempts (username_hash, client, attempted_at) "
                                   "VALUES (?, ?, ?)", (key, client, now))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def _check_limits(self, connection: sqlite3.Connection, key: str, client: str, now: float,
                      since: float) -> None:
        limits = self.limits
        for limit, where, arguments, most in (
                ("name-and-address", "username_hash = ? AND client = ?", (key, client), limits.per_name_and_address),
                ("address", "client = ?", (client,), limits.per_address)):
            recent = [row[0] for row in connection.execute(
                f"SELECT attempted_at FROM sign_in_attempts WHERE {where} AND attempted_at > ? "
                "ORDER BY attempted_at DESC LIMIT ?", (*arguments, since, most))]
            if len(recent) >= most:
                # Free again once the oldest of the last `most` leaves the window.
                raise LockedOut(max(1, math.ceil(recent[-1] + limits.window_seconds - now)), limit)
        failures, latest = connection.execute(
            "SELECT COUNT(*), MAX(attempted_at) FROM sign_in_attempts WHERE username_hash = ? AND attempted_at > ?",
            (key, since)).fetchone()
        wait = latest + limits.backoff_seconds(failures) - now if failures else 0
        if wait > 0:
            raise LockedOut(max(1, math.ceil(wait)), "name")


def _user(row: sqlite3.Row) -> LocalUser:
    return LocalUser(username=row["username"], display_name=row["display_name"], roles=tuple(row["roles"].split()),
                     organization_id=row["organization_id"], language=row["language"], email=row["email"],
                     phone=row["phone"], disabled=bool(row["disabled"]))


# --- demo accounts ---------------------------------------------------------------------

DEMO_PASSWORD = "haven-demo"  # documented in the README; demo data is fictional, so are these
DEMO_USERS: tuple[tuple[str, str, str], ...] = (  # user name, role, display name
    ("demo-caseworker", "caseworker", "Cán bộ quản lý trường hợp (demo)"),
    ("demo-agency", "agency_staff", "Nhân viên nhà tạm lánh (demo)"),
    ("demo-supervisor", "supervisor", "Giám sát viên (demo)"),
    ("demo-directory-admin", "directory_admin", "Quản trị danh bạ (demo)"),
    ("demo-ops", "ops", "Vận hành (demo)"),
    ("demo-admin", "admin", "Quản trị hệ thống (demo)"),
)


def ensure_demo_users(data_dir: str, organizations: dict[str, str]) -> list[LocalUser]:
    """One account per role, password DEMO_PASSWORD; accounts that exist are left alone.

    `organizations` maps a role to the organization its demo user belongs to: it needs
    `caseworker` (a referring agency) and `agency_staff` (a receiving one); a supervisor
    given one works at that agency too. Returns the accounts created now.
    """
    store = LocalUsers(data_dir)
    # One hash for all of them: they share a published password, so separate salts would
    # protect nothing and only cost a start-up second.
    shared_hash = None
    created = []
    for username, role, display_name in DEMO_USERS:
        if store.get(username):
            continue
        shared_hash = shared_hash or hash_password(DEMO_PASSWORD)
        user = LocalUser(username, display_name, (role,), organizations.get(role),
                         language="vi" if role != "ops" else "en")
        try:
            created.append(store.add(user, password_hash=shared_hash))
        except UserExists:  # another process created it meanwhile
            pass
    return created
