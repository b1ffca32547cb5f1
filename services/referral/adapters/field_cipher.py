"""Moved: the field cipher is shared by referral and notify, in haven/platform/field_cipher.py.
This name stays only for callers not yet updated (`haven rotate-field-keys` at the time of
the move); nothing is defined here."""
from haven.platform.field_cipher import (  # noqa: F401 — re-exported
    CipherError,
    FieldCipher,
    KeyFile,
    cipher_from_config,
    generate_key,
    key_id,
    parse_keys,
)
