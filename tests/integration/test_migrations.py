"""Every service's migrations apply, report readiness, and reverse, on SQLite and PostgreSQL."""
import pytest
import sqlalchemy as sa

from haven.cli import SERVICES
from haven.platform import db


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_migrations_upgrade_and_downgrade(service, database_url):
    migrations = SERVICES[service].migrations()
    engine = db.create_engine(database_url)
    check = migrations.readiness_check(engine)
    if migrations.head() is not None:
        with pytest.raises(RuntimeError, match="haven migrate"):
            check()  # a database behind the code is not ready

    migrations.upgrade(database_url)
    assert migrations.current(engine) == migrations.head()
    check()

    migrations.downgrade(database_url, "base")
    assert migrations.current(engine) is None
    migrations.upgrade(database_url)
    assert migrations.current(engine) == migrations.head()
    engine.dispose()


def test_directory_schema_matches_the_tables_the_code_uses(database_url):
    from services.directory.adapters.orm import metadata

    SERVICES["directory"].migrations().upgrade(database_url)
    engine = db.create_engine(database_url)
    inspector = sa.inspect(engine)
    for table in metadata.tables.values():
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == set(table.columns.keys()), table.name
    engine.dispose()


def test_readiness_names_an_unreachable_database_without_its_credentials():
    migrations = SERVICES["directory"].migrations()
    engine = db.create_engine("postgresql+psycopg://admin:s3cret@127.0.0.1:1/haven")
    with pytest.raises(RuntimeError) as failure:
        migrations.readiness_check(engine)()
    assert "unreachable" in str(failure.value)
    assert "s3cret" not in str(failure.value) and "admin" not in str(failure.value)
