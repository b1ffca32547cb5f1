"""Webhook signing secrets at rest: encrypted with the field keys (the referrals' personal
fields' keys), shown once at creation and never again, encrypted by the migration where
they were stored in clear, and re-encrypted by `haven rotate-field-keys`."""
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from haven.cli import main
from haven.platform import db
from haven.platform.field_cipher import FieldCipher, generate_key, key_id
from services.notify import SPEC
from services.notify.adapters.orm import subscriptions
from services.notify.adapters.secrets import WebhookSecrets
from tests.support.apps import service_app
from tests.support.auth import bearer


def _stored_secrets(url):
    with db.create_engine(url).connect() as connection:
        return dict(connection.execute(sa.select(subscriptions.c.id, subscriptions.c.secret)).all())


def test_the_database_holds_no_clear_secret_and_no_answer_after_creation_shows_it(tmp_path, database_url):
    key = generate_key()
    app = service_app("notify", tmp_path, database_url, NOTIFY_WEBHOOK_PRIVATE_TARGETS="true", HAVEN_FIELD_KEYS=key)
    client = app.test_client()
    staff = bearer(tmp_path, "agency_staff", organization_id="org-shelter")
    created = client.post("/v1/subscriptions", headers=staff,
                          json={"channel": "webhook", "target": "https://hooks.shelter.example/haven"})
    assert created.status_code == 201
    secret, subscription_id = created.json["secret"], created.json["id"]

    stored = _stored_secrets(database_url)[subscription_id]
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert stored.startswith(key_id(key) + ":")
    assert WebhookSecrets(FieldCipher([key])).open(stored) == secret

    ping = client.post(f"/v1/subscriptions/{subscription_id}/ping", headers=staff)
    admin = bearer(tmp_path, "admin")
    answers = [ping, client.get("/v1/subscriptions", headers=staff), client.get("/v1/subscriptions", headers=admin),
               client.get("/v1/deliveries", headers=staff), client.get("/openapi.json")]
    assert all(answer.status_code in (200, 202) for answer in answers)
    for answer in answers:
        text = answer.get_data(as_text=True)
        assert secret not in text and stored not in text, answer.request.path
    assert all("secret" not in item for item in answers[1].json["items"])


def test_the_migration_encrypts_secrets_stored_in_clear_and_the_downgrade_restores_them(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'notify.sqlite3'}"
    migrations = SPEC.migrations()
    migrations.upgrade(url, "0001")
    engine = db.create_engine(url)
    with engine.begin() as connection:
        for number, secret in ((1, "whsec_clear-one"), (2, "whsec_clear-two"), (3, None)):
            connection.execute(sa.text(
                "INSERT INTO subscriptions (id, organization_id, channel, target, secret, language, created_by, "
                "created_at) VALUES (:id, 'org-a', :channel, 'https://hooks.a.example/', :secret, 'vi', 'x', "
                "'2026-01-01 00:00:00')"), {"id": f"s{number}", "channel": "webhook" if secret else "email",
                                            "secret": secret})
    key = generate_key()
    # `haven migrate` runs with the service's environment: the keys come from there
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HAVEN_FIELD_KEYS", key)

    migrations.upgrade(url)
    stored = _stored_secrets(url)
    assert stored["s3"] is None
    secrets = WebhookSecrets(FieldCipher([key]))
    assert {name: secrets.open(stored[name]) for name in ("s1", "s2")} == {"s1": "whsec_clear-one",
                                                                           "s2": "whsec_clear-two"}
    assert not any("clear" in stored[name] for name in ("s1", "s2"))

    migrations.downgrade(url, "0001")
    assert _stored_secrets(url) == {"s1": "whsec_clear-one", "s2": "whsec_clear-two", "s3": None}


def test_rotate_field_keys_re_encrypts_webhook_secrets_and_the_old_key_can_go(tmp_path):
    old, new = generate_key(), generate_key()
    app = service_app("notify", tmp_path, NOTIFY_WEBHOOK_PRIVATE_TARGETS="true", HAVEN_FIELD_KEYS=old)
    service_app("referral", tmp_path, HAVEN_FIELD_KEYS=old)  # the command rotates both services
    created = app.test_client().post("/v1/subscriptions", json={"channel": "webhook", "target": "https://h.example/"},
                                     headers=bearer(tmp_path, "agency_staff", organization_id="org-a")).json
    url = f"sqlite:///{tmp_path / 'notify.sqlite3'}"
    before = _stored_secrets(url)[created["id"]]
    assert before.startswith(key_id(old) + ":")

    env = {"HAVEN_DATA_DIR": str(tmp_path), "HAVEN_FIELD_KEYS": f"{new},{old}", "REFERRAL_FIELD_KEYS": ""}
    result = CliRunner().invoke(main, ["rotate-field-keys"], env=env)
    assert result.exit_code == 0, result.output
    assert f"notify: 1 encrypted values re-encrypted under key {key_id(new)}" in result.output
    after = _stored_secrets(url)[created["id"]]
    assert after.startswith(key_id(new) + ":") and after != before
    assert WebhookSecrets(FieldCipher([new])).open(after) == created["secret"]  # the old key is no longer needed

    again = CliRunner().invoke(main, ["rotate-field-keys"], env=env)
    assert "notify: 0 encrypted values" in again.output  # nothing left under the old key
    assert created["secret"] not in result.output + again.output


def test_notify_reads_the_keys_under_their_former_name_and_refuses_two_different_sets(tmp_path):
    from haven.platform.config import ConfigError
    from haven.platform.field_cipher import cipher_for

    key, other = generate_key(), generate_key()
    config = SPEC.load_config({"HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_FIELD_KEYS": key})
    assert cipher_for(config).key_id == key_id(key)
    both = SPEC.load_config({"HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_FIELD_KEYS": key, "HAVEN_FIELD_KEYS": key})
    assert cipher_for(both).key_id == key_id(key)
    conflicting = SPEC.load_config({"HAVEN_DATA_DIR": str(tmp_path), "REFERRAL_FIELD_KEYS": key,
                                    "HAVEN_FIELD_KEYS": other})
    with pytest.raises(ConfigError, match="HAVEN_FIELD_KEYS and REFERRAL_FIELD_KEYS") as refused:
        cipher_for(conflicting)
    assert key not in str(refused.value) and other not in str(refused.value)


def test_without_configured_keys_notify_and_referral_share_the_embedded_key_file(tmp_path):
    from haven.platform.field_cipher import cipher_for
    from services.referral import SPEC as REFERRAL

    notify = cipher_for(SPEC.load_config({"HAVEN_DATA_DIR": str(tmp_path)}))
    referral = cipher_for(REFERRAL.load_config({"HAVEN_DATA_DIR": str(tmp_path)}))
    assert notify.key_ids == referral.key_ids and (tmp_path / "referral" / "field-keys").exists()
    assert notify.decrypt(referral.encrypt({"a": 1})) == {"a": 1}
