"""The personal-field cipher: round trip, key rotation, wrong keys, the embedded key file."""
import os
import stat

import pytest

from haven.platform.field_cipher import (
    CipherError,
    FieldCipher,
    KeyFile,
    cipher_from_config,
    generate_key,
    key_id,
    parse_keys,
)

FIELDS = {"name": "Nguyễn Thị Bí Mật", "phone": "+84 912 345 678", "needs": ["đang mang thai"], "address": None}


def test_round_trip_keeps_every_field_and_hides_them():
    cipher = FieldCipher([generate_key()])
    token = cipher.encrypt(FIELDS)
    assert cipher.decrypt(token) == FIELDS
    assert "Bí Mật" not in token and "912" not in token and "mang thai" not in token
    assert token.startswith(cipher.key_id + ":") and cipher.encrypt(FIELDS) != token  # fresh IV each time


def test_old_tokens_stay_readable_after_a_new_key_is_prepended():
    old_key, new_key = generate_key(), generate_key()
    old_token = FieldCipher([old_key]).encrypt(FIELDS)
    both = FieldCipher([new_key, old_key])
    assert both.decrypt(old_token) == FIELDS
    assert not both.is_current(old_token) and both.key_id_of(old_token) == key_id(old_key)
    assert both.is_current(both.encrypt(FIELDS))


def test_a_rotated_token_is_readable_with_only_the_new_key():
    old_key, new_key = generate_key(), generate_key()
    old_token = FieldCipher([old_key]).encrypt(FIELDS)
    rotated = FieldCipher([new_key, old_key]).rotate(old_token)
    only_new = FieldCipher([new_key])
    assert only_new.decrypt(rotated) == FIELDS and only_new.is_current(rotated)
    with pytest.raises(CipherError):
        only_new.decrypt(old_token)  # why the old key may go only after rotation


def test_a_wrong_key_is_a_cipher_error_without_secrets():
    key, other = generate_key(), generate_key()
    token = FieldCipher([key]).encrypt(FIELDS)
    with pytest.raises(CipherError) as refused:
        FieldCipher([other]).decrypt(token)
    message = str(refused.value)
    assert key not in message and other not in message and "Bí Mật" not in message
    with pytest.raises(CipherError):
        FieldCipher([other]).rotate(token)
    assert not FieldCipher([other]).is_current(token)


def test_a_forged_prefix_does_not_make_a_token_current():
    key, other = generate_key(), generate_key()
    token = FieldCipher([other]).encrypt(FIELDS)
    forged = key_id(key) + token[8:]
    assert not FieldCipher([key, other]).is_current(forged)


@pytest.mark.parametrize("keys", [[], ["", "  "], ["not-a-key"], [generate_key(), "c2hvcnQ="]])
def test_missing_or_malformed_keys_are_cipher_errors(keys):
    with pytest.raises(CipherError) as refused:
        FieldCipher(keys)
    assert "not-a-key" not in str(refused.value) and "c2hvcnQ=" not in str(refused.value)


@pytest.mark.parametrize("token", ["", "gAAAAAB-no-prefix", "abcdef12:not-fernet", "abcdef12:ü"])
def test_damaged_tokens_are_cipher_errors(token):
    with pytest.raises(CipherError):
        FieldCipher([generate_key()]).decrypt(token)


def test_only_json_objects_are_encrypted():
    cipher = FieldCipher([generate_key()])
    with pytest.raises(CipherError):
        cipher.encrypt(["a list"])
    with pytest.raises(CipherError):
        cipher.encrypt({"when": object()})


def test_configured_keys_come_comma_separated_newest_first(tmp_path):
    new_key, old_key = generate_key(), generate_key()
    assert parse_keys(f" {new_key} ,{old_key},") == [new_key, old_key]
    cipher = cipher_from_config(f"{new_key},{old_key}", str(tmp_path))
    assert cipher.key_id == key_id(new_key) and cipher.key_ids == (key_id(new_key), key_id(old_key))
    assert not (tmp_path / "referral").exists()  # configured keys: no key file


def test_the_key_file_is_created_once_owner_only_and_reused(tmp_path):
    first = cipher_from_config(None, str(tmp_path))
    path = tmp_path / "referral" / "field-keys"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = first.encrypt(FIELDS)
    again = cipher_from_config("", str(tmp_path))
    assert again.key_id == first.key_id and again.decrypt(token) == FIELDS
    assert len(KeyFile(str(tmp_path)).keys()) == 1


def test_a_key_file_others_can_read_is_refused(tmp_path):
    keys = KeyFile(str(tmp_path))
    keys.keys()
    os.chmod(keys.path, 0o644)
    with pytest.raises(CipherError, match="chmod 600"):
        keys.keys()


def test_prepending_a_key_to_the_file_rotates_without_losing_old_tokens(tmp_path):
    keys = KeyFile(str(tmp_path))
    old = FieldCipher(keys.keys())
    token = old.encrypt(FIELDS)
    new_key = generate_key()
    keys.prepend(new_key)
    assert stat.S_IMODE(os.stat(keys.path).st_mode) == 0o600
    current = FieldCipher(keys.keys())
    assert current.key_id == key_id(new_key) and current.decrypt(token) == FIELDS
    assert FieldCipher([new_key]).decrypt(current.rotate(token)) == FIELDS
    with pytest.raises(CipherError):
        keys.prepend("nonsense")
    assert FieldCipher(keys.keys()).key_id == key_id(new_key)
