"""Encryption at rest of fields only their own service may read (Fernet: AES-128-CBC +
HMAC-SHA256): the referral's personal fields, notify's webhook signing secrets. One set
of keys serves both, and `haven rotate-field-keys` rotates both.

A token is `<key id>:<Fernet token>`. The key id is 8 hex digits of a hash of the key, so
it names a key without revealing it, and a rotation job can find the rows still under an
old key with a plain string comparison, without decrypting anything.

Keys (urlsafe base64, as `generate_key()` makes them) come newest first: the newest one
encrypts, all of them decrypt (`MultiFernet`). Either from configuration (HAVEN_FIELD_KEYS,
comma-separated; its former name REFERRAL_FIELD_KEYS still works) or, in the embedded
default, from `<data_dir>/referral/field-keys` (where the referral service always kept it,
so existing installations keep their key), created with one fresh key on first use,
readable only by its owner, one key per line.

Rotating a key, without downtime:
1. prepend a new key (to the setting, or `KeyFile.prepend(generate_key())`) and restart:
   new writes use it, old rows still read;
2. re-encrypt every stored token with `rotate()` (`rotate_columns` skips those where
   `is_current()`);
3. drop the old key from the end of the list and restart. A token nobody rotated is now
   unreadable, so check step 2 found none (`key_id_of(token) != cipher.key_id`).
Losing every key loses what they encrypt for good: back the key file up with the data.

Messages of `CipherError` never contain a key or a plaintext value.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Engine

from . import config as c
from .config import ConfigError, Setting

SEPARATOR = ":"


class CipherError(Exception):
    """A key or token that cannot be used. Says which, never what it contains."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_id(key: str) -> str:
    """A short public name for a key: 8 hex digits of a domain-separated SHA-256 of it.
    (The separator still says "referral": stored tokens carry ids computed with it.)"""
    return hashlib.sha256(b"haven referral field key\x00" + key.encode("ascii")).hexdigest()[:8]


class FieldCipher:
    """Encrypts a dict of fields into one opaque string, and back."""

    def __init__(self, keys: Sequence[str]):
        keys = [k.strip() for k in keys if k and k.strip()]
        if not keys:
            raise CipherError("no field encryption key is configured")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, TypeError, UnicodeEncodeError):
                raise CipherError(f"field key {position} of {len(keys)} is not a Fernet key "
                                  "(32 bytes, urlsafe base64)") from None
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)
        self.key_ids = tuple(key_id(k) for k in keys)

    @property
    def key_id(self) -> str:
        """Id of the newest key, the one `encrypt` and `rotate` use."""
        return self.key_ids[0]

    def encrypt(self, fields: Mapping) -> str:
        if not isinstance(fields, Mapping):
            raise CipherError("only a mapping of fields can be encrypted")
        try:
            plaintext = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError):
            raise CipherError("the fields are not all JSON values") from None
        return self.key_id + SEPARATOR + self._newest.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict:
        try:
            plaintext = self._all.decrypt(self._fernet_part(token))
        except InvalidToken:
            raise CipherError(f"a field token under key {self.key_id_of(token)} cannot be decrypted with the "
                              "configured keys (wrong or dropped key, or damaged data)") from None
        try:
            fields = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise CipherError("a decrypted field token does not hold JSON") from None
        if not isinstance(fields, dict):
            raise CipherError("a decrypted field token does not hold an object")
        return fields

    def rotate(self, token: str) -> str:
        """The same fields, re-encrypted under the newest key (always a fresh token)."""
        try:
            rotated = self._all.rotate(self._fernet_part(token))
        except InvalidToken:
            raise CipherError(f"a field token under key {self.key_id_of(token)} cannot be rotated: no configured "
                              "key opens it") from None
        return self.key_id + SEPARATOR + rotated.decode("ascii")

    def is_current(self, token: str) -> bool:
        """Is the token under the newest key? Checked by decrypting, not by trusting the prefix."""
        if self.key_id_of(token) != self.key_id:
            return False
        try:
            self._newest.decrypt(self._fernet_part(token))
        except InvalidToken:
            return False
        return True

    @staticmethod
    def key_id_of(token: str) -> str | None:
        """The key id a token names (cheap, unverified), or None for something else."""
        if not isinstance(token, str):
            return None
        prefix, separator, _ = token.partition(SEPARATOR)
        return prefix if separator and len(prefix) == 8 else None

    @staticmethod
    def _fernet_part(token: str) -> bytes:
        if FieldCipher.key_id_of(token) is None:
            raise CipherError("not a field token (expected `<key id>:<Fernet token>`)")
        try:
            return token.partition(SEPARATOR)[2].encode("ascii")
        except UnicodeEncodeError:
            raise CipherError("not a field token (not ASCII)") from None


def parse_keys(value: str | None) -> list[str]:
    """Keys from a comma-separated setting, newest first (blank entries ignored)."""
    return [k.strip() for k in (value or "").split(",") if k.strip()]


class KeyFile:
    """The embedded default: `<data_dir>/referral/field-keys`, one key per line, newest
    first, `#` comments allowed. Created with one fresh key on first use, mode 0600; a
    file that group or others may read is refused, as ssh refuses such a private key."""

    HEADER = ("# Haven: keys that encrypt fields at rest (referral personal fields, notify webhook secrets).\n"
              "# Newest first. Rotation: prepend a key, rotate stored tokens, then drop the old key.\n")

    def __init__(self, data_dir: str):
        self.path = os.path.join(data_dir, "referral", "field-keys")

    def keys(self) -> list[str]:
        if not os.path.exists(self.path):
            self._create()
        mode = os.stat(self.path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CipherError(f"{self.path} is accessible to group or others; make it readable by its "
                              "owner only (chmod 600)")
        with open(self.path, encoding="ascii") as fh:
            keys = [line.strip() for line in fh if line.strip() and not line.lstrip().startswith("#")]
        if not keys:
            raise CipherError(f"{self.path} holds no key")
        return keys

    def prepend(self, key: str) -> None:
        """Make `key` the newest (step 1 of a rotation); the file is replaced atomically."""
        FieldCipher([key])  # refuse a malformed key before touching the file
        keys = [key] + [k for k in self.keys() if k != key]
        self._write(keys, replace=True)

    def _create(self) -> None:
        self._write([generate_key()], replace=False)

    def _write(self, keys: list[str], *, replace: bool) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        # Write aside, then move into place: nobody ever reads a half-written file. When
        # creating, link fails if another process won the race, and its key is kept.
        temporary = f"{self.path}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(self.HEADER + "".join(k + "\n" for k in keys))
                fh.flush()
                os.fsync(fh.fileno())
            if replace:
                os.replace(temporary, self.path)
            else:
                try:
                    os.link(temporary, self.path)
                except FileExistsError:
                    pass
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)


def cipher_from_config(configured_keys: str | None, data_dir: str) -> FieldCipher:
    """The service's cipher: the configured keys if any, else the embedded key file."""
    keys = parse_keys(configured_keys)
    return FieldCipher(keys if keys else KeyFile(data_dir).keys())


# --- configuration: one setting for every service that encrypts fields ----------------

FIELD_KEYS = Setting(
    "HAVEN_FIELD_KEYS", c.text, None,
    "Keys encrypting fields at rest: survivors' personal fields (referral) and webhook signing secrets "
    "(notify). Fernet keys, comma-separated, newest first; give every referral and notify process the same "
    "value (rotation: put a new key first, run `haven rotate-field-keys`, then drop the old one). Unset: "
    "REFERRAL_FIELD_KEYS, else a key file HAVEN_DATA_DIR/referral/field-keys (embedded default only; set it "
    "wherever a database is shared).", secret=True)
FORMER_FIELD_KEYS = Setting(
    "REFERRAL_FIELD_KEYS", c.text, None,
    "Former name of HAVEN_FIELD_KEYS, still read when HAVEN_FIELD_KEYS is unset (setting both to different "
    "keys is refused).", secret=True)
SETTINGS = [FIELD_KEYS, FORMER_FIELD_KEYS]


def configured_keys(config) -> str | None:
    """HAVEN_FIELD_KEYS, or its former name. Both set and different is a half-done change
    an operator must finish, not something to guess at."""
    current, former = config.haven_field_keys, config.referral_field_keys
    if current and former and parse_keys(current) != parse_keys(former):
        raise ConfigError("HAVEN_FIELD_KEYS and REFERRAL_FIELD_KEYS are both set, to different keys: keep only "
                          "HAVEN_FIELD_KEYS (REFERRAL_FIELD_KEYS is its former name)")
    return current or former


def cipher_for(config) -> FieldCipher:
    """A service's cipher from its configuration (the field-key settings, HAVEN_DATA_DIR)."""
    return cipher_from_config(configured_keys(config), config.haven_data_dir)


# --- rotation: re-encrypt stored tokens under the newest key ---------------------------

def rotate_columns(engine: Engine, cipher: FieldCipher, encrypted, batch: int = 500) -> int:
    """`encrypted`: (table, its key columns, its encrypted columns) triples. Returns how many
    values were re-encrypted (those already under the newest key are left). A row changed
    since it was read keeps its new value: each update names the token it replaces."""
    rotated = 0
    for table, keys, columns in encrypted:
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
