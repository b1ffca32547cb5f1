import pytest

from haven.platform import config as c
from haven.platform.config import ConfigError, Setting, load
from services.directory import SPEC as DIRECTORY


def test_defaults_apply_when_variables_are_unset(tmp_path):
    config = DIRECTORY.load_config({"HAVEN_DATA_DIR": str(tmp_path)})
    assert config.directory_port == 8001
    assert config.haven_workers == 2
    assert config.directory_database_url is None
    assert DIRECTORY.database_url(config) == f"sqlite:///{tmp_path}/directory.sqlite3"


@pytest.mark.parametrize("variable, value", [
    ("DIRECTORY_PORT", "abc"), ("DIRECTORY_PORT", "70000"), ("DIRECTORY_PORT", "0"),
    ("HAVEN_WORKERS", "0"), ("LOG_LEVEL", "loud"), ("DIRECTORY_DATABASE_URL", "mysql://x/y"),
])
def test_a_bad_value_is_one_line_naming_the_variable(variable, value):
    with pytest.raises(ConfigError) as failure:
        DIRECTORY.load_config({variable: value})
    message = str(failure.value)
    assert message.startswith(f"{variable}=")
    assert "\n" not in message


def test_postgres_urls_use_the_psycopg3_driver():
    config = DIRECTORY.load_config({"DIRECTORY_DATABASE_URL": "postgresql://u@db/haven"})
    assert config.directory_database_url == "postgresql+psycopg://u@db/haven"


@pytest.mark.parametrize("raw, expected", [("true", True), ("0", False), ("YES", True), ("off", False)])
def test_booleans(raw, expected):
    assert load([Setting("FLAG", c.boolean, "false", "")], {"FLAG": raw}).flag is expected


def test_an_invalid_boolean_is_refused():
    with pytest.raises(ConfigError, match="FLAG="):
        load([Setting("FLAG", c.boolean, "false", "")], {"FLAG": "maybe"})


def test_a_bad_database_url_is_named_without_echoing_its_password():
    with pytest.raises(ConfigError) as failure:
        DIRECTORY.load_config({"DIRECTORY_DATABASE_URL": "mysql://admin:S3cretPass@db/x"})
    assert str(failure.value).startswith("DIRECTORY_DATABASE_URL=")
    assert "S3cretPass" not in str(failure.value)


def test_the_short_postgres_scheme_is_accepted():
    config = DIRECTORY.load_config({"DIRECTORY_DATABASE_URL": "postgres://u@db/haven"})
    assert config.directory_database_url == "postgresql+psycopg://u@db/haven"


def test_only_declared_settings_can_be_read_and_none_changed():
    config = load([Setting("HAVEN_COLOUR", str, "blue", "A colour.")], {})
    assert config.haven_colour == "blue"
    with pytest.raises(AttributeError, match="HAVEN_SHADE is not a declared setting"):
        config.haven_shade  # noqa: B018 — a typo or an undeclared setting fails at once
    with pytest.raises(AttributeError, match="never changed"):
        config.haven_colour = "red"
    assert config.haven_colour == "blue"
