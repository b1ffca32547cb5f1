"""Directory use cases on a real database — SQLite and PostgreSQL — and the embedded index."""
from dataclasses import replace
from datetime import timedelta
from functools import partial

import pytest

from haven.cli import SERVICES
from haven.platform import db
from services.directory.adapters.sqlite_index import SqliteProviderIndex
from services.directory.adapters.unit_of_work import SqlDirectoryUnitOfWork
from services.directory.bootstrap import use_cases
from services.directory.domain.errors import InUse, InvalidReference, VersionConflict
from services.directory.domain.model import Area, Centre, Location, Organization, OpeningHours, Phone, Service, new_id
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import SearchQuery
from services.directory.service_layer.commands import ImportRecords, Register, Remove, Revise, UpdateCapacity

AREAS = [Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20"),
         Area("06184", "Đồng Đăng", "commune", "183"), Area("01", "Hà Nội", "province"),
         Area("006", "Đống Đa", "district", "01")]


@pytest.fixture
def directory(database_url, tmp_path):
    SERVICES["directory"].migrations().upgrade(database_url)
    engine = db.create_engine(database_url)
    directory = use_cases(partial(SqlDirectoryUnitOfWork, engine), SqliteProviderIndex(str(tmp_path / "index")))
    directory.reference.add_areas(AREAS)
    yield directory
    engine.dispose()


def _shelter(directory):
    organization = directory.registry.register(Register(Organization(id=new_id(), name="Trung tâm CTXH tỉnh Lạng Sơn")))
    location = directory.registry.register(Register(Location(
        id=new_id(), organization_id=organization.id, name="Nhà tạm lánh Hoa Sen", latitude=21.87, longitude=106.77,
        province_code="20", district_code="183", commune_code="06184", confidential=True)))
    service = directory.registry.register(Register(Service(
        id=new_id(), organization_id=organization.id, name="Nhà tạm lánh", kind="shelter", location_ids=(location.id,),
        phones=(Phone("0205 3870 111"),), languages=("vi", "tyz"), service_areas=("20",),
        hours=(OpeningHours(("MO", "TU"), "07:30", "17:00"),))))
    return organization, location, service


def test_round_trips_vietnamese_text_nested_values_and_utc_times(directory):
    organization, location, service = _shelter(directory)
    assert directory.registry.get(Organization, organization.id) == organization
    assert directory.registry.get(Location, location.id) == location
    loaded = directory.registry.get(Service, service.id)
    assert loaded == service
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_a_stale_version_is_refused_and_the_stored_data_kept(directory):
    created = directory.registry.register(Register(Organization(id=new_id(), name="Trung tâm CTXH")))
    directory.registry.revise(Revise(replace(created, name="Trung tâm Công tác xã hội"), 1))
    with pytest.raises(VersionConflict) as conflict:
        directory.registry.revise(Revise(replace(created, name="Lost update"), 1))
    assert conflict.value.actual == 2
    assert directory.registry.get(Organization, created.id).name == "Trung tâm Công tác xã hội"


def test_compare_and_set_rejects_a_writer_that_read_before_another_wrote(directory):
    created = directory.registry.register(Register(Organization(id=new_id(), name="A")))
    first, second = created.revise(1, name="first"), created.revise(1, name="second")
    with directory.uow() as uow:
        assert uow.organizations.save(first, previous_version=1)
        uow.commit()
    with directory.uow() as uow:
        assert not uow.organizations.save(second, previous_version=1)
    assert directory.registry.get(Organization, created.id).name == "first"


def test_a_failed_use_case_writes_nothing(directory):
    with pytest.raises(RuntimeError):
        with directory.uow() as uow:
            uow.organizations.add(Organization(id="00000000-0000-4000-8000-000000000001", name="half"))
            raise RuntimeError("crash before commit")
    assert directory.registry.list(Organization, 1, 10) == (0, [])


def test_a_written_service_is_searchable_before_the_call_returns(directory):
    _organization, _location, service = _shelter(directory)
    result = directory.search.search(SearchQuery(text="nha tam lanh"), Viewer(), {})
    assert [hit.listing.service.id for hit in result.hits] == [service.id]


def test_renaming_an_organization_updates_its_services_in_search(directory):
    organization, _location, service = _shelter(directory)
    directory.registry.revise(Revise(replace(organization, name="Hội Liên hiệp Phụ nữ Cao Lộc"), 1))
    hits = directory.search.search(SearchQuery(text="hoi lien hiep"), Viewer(), {}).hits
    assert [hit.listing.service.id for hit in hits] == [service.id]


def test_capacity_updates_do_not_conflict_with_edits(directory):
    _organization, _location, service = _shelter(directory)
    directory.registry.update_capacity(UpdateCapacity(service.id, 2, 12, None, any_organization=True))
    revised = directory.registry.revise(Revise(replace(service, name="Nhà tạm lánh Hoa Sen"), 1))  # read before count
    assert revised.capacity.available == 2 and revised.version == 2
    assert directory.search.search(SearchQuery(has_capacity=True), Viewer(), {}).total == 1


@pytest.mark.parametrize("field, change", [
    ("kind", {"kind": "spaceship"}),
    ("organization_id", {"organization_id": "00000000-0000-4000-8000-00000000dead"}),
    ("location_ids.0", {"location_ids": ("00000000-0000-4000-8000-00000000beef",)}),
    ("service_areas.0", {"service_areas": ("99999",)}),
])
def test_references_must_exist(directory, field, change):
    organization, _location, service = _shelter(directory)
    with pytest.raises(InvalidReference) as failure:
        directory.registry.revise(Revise(replace(service, **change), 1))
    assert failure.value.field == field
    assert directory.registry.get(Service, service.id) == service


def test_a_shelter_cannot_be_placed_at_a_public_location(directory):
    organization, location, service = _shelter(directory)
    with pytest.raises(InvalidReference) as failure:
        directory.registry.revise(Revise(replace(location, confidential=False), 1))
    assert failure.value.field == "location_ids.0"
    assert directory.registry.get(Location, location.id).confidential is True


def test_area_codes_must_nest(directory):
    organization = directory.registry.register(Register(Organization(id=new_id(), name="X")))
    with pytest.raises(InvalidReference) as failure:
        directory.registry.register(Register(Location(id=new_id(), organization_id=organization.id, name="Y",
                                                      province_code="01", district_code="183")))
    assert failure.value.field == "district_code"


def test_records_in_use_cannot_be_removed(directory):
    organization, location, service = _shelter(directory)
    with pytest.raises(InUse):
        directory.registry.remove(Remove(Organization, organization.id, 1))
    with pytest.raises(InUse):
        directory.registry.remove(Remove(Location, location.id, 1))
    directory.registry.remove(Remove(Service, service.id, 1))
    directory.registry.remove(Remove(Location, location.id, 1))
    directory.registry.remove(Remove(Organization, organization.id, 1))
    assert directory.search.search(SearchQuery(), Viewer(), {}).total == 0


def test_rebuild_restores_an_index_that_lost_everything(directory):
    _organization, _location, service = _shelter(directory)
    directory.index.delete([service.id])
    assert directory.search.search(SearchQuery(), Viewer(), {}).total == 0
    assert directory.indexing.rebuild() == 1
    assert directory.search.search(SearchQuery(text="tam lanh"), Viewer(), {}).total == 1


def test_lists_by_name_in_pages(directory):
    for name in ["Cơ sở C", "Cơ sở A", "Cơ sở B"]:
        directory.registry.register(Register(Organization(id=new_id(), name=name)))
    total, first_page = directory.registry.list(Organization, 1, 2)
    _, second_page = directory.registry.list(Organization, 2, 2)
    assert total == 3
    assert [o.name for o in first_page + second_page] == ["Cơ sở A", "Cơ sở B", "Cơ sở C"]


def test_an_edit_read_before_a_capacity_count_does_not_undo_it(directory):
    _organization, _location, service = _shelter(directory)
    stale_edit = directory.registry.get(Service, service.id).revise(1, name="Nhà tạm lánh Hoa Sen")  # read: no count
    directory.registry.update_capacity(UpdateCapacity(service.id, 5, 12, None, any_organization=True))
    with directory.uow() as uow:
        assert uow.services.save(stale_edit, previous_version=1)
        uow.commit()
    assert directory.registry.get(Service, service.id).capacity.available == 5


@pytest.mark.parametrize("batch, field", [
    ([Area("99", "A", "province"), Area("99", "B", "province")], "1.code"),
    ([Area("991", "A", "district", "992"), Area("992", "B", "district", "991")], "0.parent_code"),
    ([Area("993", "A", "district", "993")], "0.parent_code"),
    ([Area("99999", "A", "commune", "06184")], "0.parent_code"),  # a commune inside a commune
    ([Area("994", "A", "district", "nowhere")], "0.parent_code"),
])
def test_bad_area_batches_are_refused_whole(directory, batch, field):
    with pytest.raises(InvalidReference) as failure:
        directory.reference.add_areas(batch)
    assert failure.value.field == field
    assert set(directory.reference.areas()) == {a.code for a in AREAS}


def test_a_commune_may_sit_directly_under_a_province(directory):  # two-tier government since 2025
    directory.reference.add_areas([Area("26734", "Phường Kỳ Lừa", "commune", "20")])
    assert directory.reference.areas()["26734"].parent_code == "20"


def test_an_area_keeps_its_centre_and_one_without_stays_without(directory):
    directory.reference.add_areas([Area("06187", "Thị trấn Cao Lộc", "commune", "183", Centre(21.8695, 106.762))])
    stored = directory.reference.areas()
    assert stored["06187"].centre == Centre(21.8695, 106.762)
    assert stored["06184"].centre is None
    # Codes already known are kept as they are: a second list cannot move a centre.
    directory.reference.add_areas([Area("06187", "Thị trấn Cao Lộc", "commune", "183", Centre(0.0, 0.0))])
    assert directory.reference.areas()["06187"].centre == Centre(21.8695, 106.762)


def test_an_import_keeps_the_rules_and_the_index_current(directory):
    from dataclasses import replace as changed

    organization, location, service = _shelter(directory)
    public = changed(location, confidential=False)
    outcome = directory.imports.import_batch(ImportRecords([], [public], []))
    counts, errors = outcome.counts, outcome.errors
    assert counts["locations"] == 0 and errors[0]["field"] == "location_ids.0"
    assert directory.registry.get(Location, location.id).confidential is True
    moved = changed(location, address=changed(location.address, address_1="Số 1 đường Mới"))
    directory.imports.import_batch(ImportRecords([changed(organization, name="Hội Phụ nữ Cao Lộc")], [moved], []))
    hits = directory.search.search(SearchQuery(text="hoi phu nu cao loc"), Viewer(), {}).hits
    assert [hit.listing.service.id for hit in hits] == [service.id]  # re-indexed with the new name
    private = directory.search.search(SearchQuery(text="duong moi"), Viewer(can_see_confidential=True), {}).hits
    assert [hit.listing.service.id for hit in private] == [service.id]


def test_a_service_may_not_cover_just_the_commune_of_its_confidential_location(directory):
    _organization, _location, service = _shelter(directory)
    with pytest.raises(InvalidReference) as failure:
        directory.registry.revise(Revise(replace(service, service_areas=("183", "06184")), 1))
    assert failure.value.field == "service_areas.1"
