"""The organization repository behaves the same on SQLite and PostgreSQL."""
from datetime import timedelta
from functools import partial

import pytest

from haven.cli import SERVICES
from haven.platform import db
from services.directory.domain.model import Organization, VersionConflict
from services.directory.service_layer import services
from services.directory.service_layer.unit_of_work import SqlUnitOfWork


@pytest.fixture
def uow(database_url):
    SERVICES["directory"].migrations().upgrade(database_url)
    engine = db.create_engine(database_url)
    yield partial(SqlUnitOfWork, engine)
    engine.dispose()


def test_round_trips_vietnamese_text_and_utc_times(uow):
    created = services.register_organization(uow, name="Nhà tạm lánh Hoa Sen", description="Lạng Sơn, Cao Lộc",
                                             email="lienhe@example.org")
    loaded = services.get_organization(uow, created.id)
    assert loaded == created
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_a_stale_version_is_refused_and_the_stored_data_kept(uow):
    created = services.register_organization(uow, name="Trung tâm CTXH")
    services.revise_organization(uow, created.id, 1, name="Trung tâm Công tác xã hội")
    with pytest.raises(VersionConflict) as conflict:
        services.revise_organization(uow, created.id, 1, name="Lost update")
    assert conflict.value.actual == 2
    assert services.get_organization(uow, created.id).name == "Trung tâm Công tác xã hội"


def test_compare_and_set_rejects_a_writer_that_read_before_another_wrote(uow):
    created = services.register_organization(uow, name="A")
    first = created.revise(1, name="first")
    second = created.revise(1, name="second")
    with uow() as work:
        assert work.organizations.save(first, previous_version=1)
        work.commit()
    with uow() as work:
        assert not work.organizations.save(second, previous_version=1)
    assert services.get_organization(uow, created.id).name == "first"


def test_a_failed_use_case_writes_nothing(uow):
    with pytest.raises(RuntimeError):
        with uow() as work:
            work.organizations.add(Organization(id="00000000-0000-4000-8000-000000000001", name="half"))
            raise RuntimeError("crash before commit")
    assert services.list_organizations(uow, 1, 10) == (0, [])


def test_lists_by_name_in_pages(uow):
    for name in ["Cơ sở C", "Cơ sở A", "Cơ sở B"]:
        services.register_organization(uow, name=name)
    total, first_page = services.list_organizations(uow, 1, 2)
    total_again, second_page = services.list_organizations(uow, 2, 2)
    assert total == total_again == 3
    assert [o.name for o in first_page + second_page] == ["Cơ sở A", "Cơ sở B", "Cơ sở C"]


def test_delete_needs_the_current_version(uow):
    created = services.register_organization(uow, name="To remove")
    services.revise_organization(uow, created.id, 1, name="Renamed")
    with pytest.raises(VersionConflict):
        services.remove_organization(uow, created.id, 1)
    services.remove_organization(uow, created.id, 2)
    assert services.list_organizations(uow, 1, 10)[0] == 0
