"""The directory's use cases on in-memory fakes: what is stored, what is published, what
reaches the search index, and which refusal a bad request meets."""
from dataclasses import replace
from datetime import date

import pytest

from haven.platform.refusals import Conflict, Invalid, NotPermitted, PreconditionFailed
from services.directory import contract
from services.directory.bootstrap import use_cases
from services.directory.domain.model import Address, Area, Location, Organization, Service
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import SearchQuery
from services.directory.service_layer.commands import Register, Remove, Revise, UpdateCapacity
from tests.unit.directory_fakes import FakeDirectoryUnitOfWork, FakeProviderIndex

TODAY = date(2026, 12, 1)
AREAS = [Area("20", "Lạng Sơn", "province"), Area("183", "Cao Lộc", "district", "20"),
         Area("06184", "Đồng Đăng", "commune", "183")]


@pytest.fixture
def uow():
    return FakeDirectoryUnitOfWork()


@pytest.fixture
def index():
    return FakeProviderIndex()


@pytest.fixture
def directory(uow, index):
    directory = use_cases(lambda: uow, index, today=lambda: TODAY)
    directory.reference.add_areas(AREAS)
    return directory


def _organization(directory, id="o1", name="Trung tâm CTXH tỉnh Lạng Sơn"):
    return directory.registry.register(Register(Organization(id=id, name=name)))


def _location(directory, organization_id="o1", confidential=True, id="l1"):
    return directory.registry.register(Register(Location(
        id=id, organization_id=organization_id, name="Điểm tạm lánh", latitude=21.8737, longitude=106.7735,
        address=Address(address_1="Số 7 ngõ Bí Mật"), province_code="20", district_code="183",
        confidential=confidential)))


def _service(directory, kind="shelter", organization_id="o1", location_ids=("l1",), id="s1"):
    return directory.registry.register(Register(Service(
        id=id, organization_id=organization_id, name="Nhà tạm lánh Hoa Sen", kind=kind, location_ids=location_ids,
        service_areas=("20",))))


def _shelter(directory):
    return _organization(directory), _location(directory), _service(directory)


def test_a_registered_service_is_stored_announced_and_searchable(directory, uow, index):
    _organization(directory)
    _location(directory)
    service = _service(directory)
    assert directory.registry.get(Service, "s1") == service
    assert [(o.topic, o.key, o.event.type, o.event.data["change"]) for o in uow.outbox] == [
        (contract.TOPIC, "s1", contract.SERVICE_CHANGED, "created")]
    assert index.listings["s1"].organization.name == "Trung tâm CTXH tỉnh Lạng Sơn"


@pytest.mark.parametrize("service, field", [
    ({"kind": "spaceship"}, "kind"),
    ({"organization_id": "nobody"}, "organization_id"),
    ({"location_ids": ("nowhere",)}, "location_ids.0"),
])
def test_a_service_naming_what_does_not_exist_is_refused_with_the_field(directory, uow, index, service, field):
    _organization(directory)
    _location(directory)
    with pytest.raises(Invalid) as refused:
        _service(directory, **service)
    assert refused.value.field == field
    assert directory.registry.list(Organization, 1, 10)[0] == 1 and "s1" not in uow.committed.services
    assert uow.outbox == [] and index.listings == {}


def test_a_shelter_is_refused_at_a_public_location(directory, uow):
    _organization(directory)
    _location(directory, confidential=False)
    with pytest.raises(Invalid) as refused:
        _service(directory, kind="shelter")
    assert refused.value.field == "location_ids.0" and "public" in str(refused.value)
    assert uow.committed.services == {} and uow.outbox == []


def test_a_revision_of_a_stale_version_is_refused_and_the_stored_record_kept(directory, uow):
    organization = _organization(directory)
    directory.registry.revise(Revise(replace(organization, name="Hội Phụ nữ Cao Lộc"), 1))
    with pytest.raises(PreconditionFailed) as refused:
        directory.registry.revise(Revise(replace(organization, name="Lost update"), 1))
    assert refused.value.actual == 2
    assert directory.registry.get(Organization, "o1").name == "Hội Phụ nữ Cao Lộc"


def test_renaming_an_organization_announces_and_reindexes_its_services(directory, uow, index):
    organization, _, _ = _shelter(directory)
    directory.registry.revise(Revise(replace(organization, name="Hội Phụ nữ Cao Lộc"), None))  # If-Match: *
    assert [o.event.data["change"] for o in uow.outbox] == ["created", "updated"]
    assert index.listings["s1"].organization.name == "Hội Phụ nữ Cao Lộc"


def test_an_organization_still_used_cannot_be_removed(directory, uow, index):
    _shelter(directory)
    with pytest.raises(Conflict, match="still has services or locations"):
        directory.registry.remove(Remove(Organization, "o1", 1))
    assert "o1" in uow.committed.organizations
    directory.registry.remove(Remove(Service, "s1", 1))
    assert [o.event.data["change"] for o in uow.outbox][-1] == "retired" and index.listings == {}


def test_agency_staff_may_not_count_another_organizations_places(directory, uow, index):
    _shelter(directory)
    with pytest.raises(NotPermitted):
        directory.registry.update_capacity(UpdateCapacity("s1", 2, 5, organization_id="o2", any_organization=False))
    assert uow.committed.services["s1"].capacity is None and len(uow.outbox) == 1
    counted = directory.registry.update_capacity(UpdateCapacity("s1", 2, 5, organization_id="o1",
                                                                any_organization=False))
    assert counted.capacity.available == 2 and uow.committed.services["s1"].capacity.available == 2
    assert uow.outbox[-1].event.data["change"] == "capacity_changed"
    assert index.listings["s1"].service.capacity.maximum == 5


def test_search_returns_the_index_with_confidential_places_hidden_from_the_public(directory):
    _shelter(directory)
    public = directory.search.search(SearchQuery(text="hoa sen"), Viewer(), {})
    assert [hit.listing.service.id for hit in public.hits] == ["s1"]
    place = public.hits[0].listing.locations[0]
    assert (place.latitude, place.address.address_1) == (None, "")
    assert public.hits[0].stale  # never verified, on the fixed day
    staff = directory.search.search(SearchQuery(), Viewer(can_see_confidential=True), {"province": "20"})
    assert staff.hits[0].listing.locations[0].address.address_1 == "Số 7 ngõ Bí Mật"


def test_search_refuses_a_kind_or_an_area_that_does_not_exist(directory):
    with pytest.raises(Invalid) as refused:
        directory.search.search(SearchQuery(kinds=("spaceship",)), Viewer(), {})
    assert refused.value.field == "kind"
    with pytest.raises(Invalid) as refused:
        directory.search.search(SearchQuery(), Viewer(), {"district": "20"})  # a province's code
    assert refused.value.field == "district"


def test_a_shelters_location_may_not_become_public(directory, uow, index):
    _, location, _ = _shelter(directory)
    with pytest.raises(Invalid) as refused:
        directory.registry.revise(Revise(replace(location, confidential=False), 1))
    assert refused.value.field == "location_ids.0"
    assert uow.committed.locations["l1"].confidential and len(uow.outbox) == 1
