"""HSDS 3.0 import/export and the provincial CSV import (services/directory/adapters/hsds/).

Documents are validated against the official HSDS 3.0 JSON schemas, copied unchanged into
tests/fixtures/hsds/schema/ (CC BY-SA 4.0, Open Referral; see the README there)."""
import copy
import io
import json
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from services.directory.adapters.hsds import (STATUS_TO_HSDS, ImportBatch, organization_to_hsds, parse_csv,
                                              parse_hsds, service_to_hsds)
from services.directory.domain.kind_mappings import KindMapping, KindMappings, Term, check_mappings, taxonomy_key
from services.directory.domain.model import (STATUSES, Address, Capacity, Location, OpeningHours, Organization,
                                             Phone, Service)
from services.directory.domain.confidential import Viewer
from services.directory.domain.search import Listing
from tests.support.hsds_schema import validator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hsds"
CASEWORKER = Viewer(can_see_confidential=True)
PUBLIC = Viewer(can_see_confidential=False)
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


SERVICE_SCHEMA = validator("service")
ORGANIZATION_SCHEMA = validator("organization")


def schema_problems(document: dict, validator=SERVICE_SCHEMA, prefix: str = "") -> list[str]:
    problems = [f"{prefix}{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in validator.iter_errors(document)]
    if validator is ORGANIZATION_SCHEMA:
        # the "full" organization nests its services (schema/compiled/organization.json)
        for i, service in enumerate(document.get("services", [])):
            problems += schema_problems(service, SERVICE_SCHEMA, f"{prefix}services.{i}.")
    return problems


def assert_valid(document: dict, validator=SERVICE_SCHEMA) -> None:
    problems = schema_problems(document, validator)
    assert not problems, "\n".join(problems)


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def bare(record):
    """A record without its bookkeeping stamps (created_at, updated_at, version)."""
    return replace(record, created_at=EPOCH, updated_at=EPOCH, version=1)


def export_all(batch: ImportBatch, viewer=CASEWORKER) -> list[dict]:
    return [service_to_hsds(listing, viewer) for listing in batch.listings()]


def service_doc(documents, name_part: str) -> dict:
    return next(d for d in documents if name_part in d["name"])


# --------------------------------------------------------------------------- the HSDS sample


def test_the_sample_is_valid_hsds_3():
    documents = load("sample_services.json")
    assert len(documents) >= 3
    for document in documents:
        assert_valid(document)


def test_a_schema_violation_is_caught_by_the_validator():
    # the validation above can fail: the copied schema checks required fields and uuids
    document = copy.deepcopy(load("sample_services.json")[0])
    document["id"] = "not-a-uuid"
    del document["status"]
    document["service_at_locations"][0]["location"]["addresses"][0].pop("city")  # through a "$ref"
    assert len(schema_problems(document)) == 3
    organization = load("sample_organizations.json")[0]
    organization["services"][0]["status"] = "open"
    assert [p.split(":")[0] for p in schema_problems(organization, ORGANIZATION_SCHEMA)] == ["services.0.status"]


def test_the_sample_imports_without_errors():
    batch = parse_hsds(load("sample_services.json"))

    assert batch.errors == [] and batch.warnings == []
    assert len(batch.services) == 4
    # the legal aid centre and its office appear under two services: kept once
    assert len(batch.organizations) == 3 and len(batch.locations) == 2
    services = {s.kind: s for s in batch.services}

    shelter = services["shelter"]
    assert shelter.name == "Chỗ ở tạm thời an toàn"
    assert shelter.always_open and shelter.gender == "female"
    assert shelter.capacity == Capacity(3, 12, datetime(2025, 5, 2, 6, 15, tzinfo=timezone.utc))
    assert shelter.assured_by == "Sở LĐ-TB&XH tỉnh Ninh Bình" and shelter.assured_date == date(2025, 3, 10)
    (shelter_home,) = [loc for loc in batch.locations if loc.id in shelter.location_ids]
    assert shelter_home.confidential
    assert (shelter_home.latitude, shelter_home.longitude) == (20.25061, 105.97452)
    assert shelter_home.address.address_1 == "Số 17 ngõ 42 đường Trần Hưng Đạo"
    assert shelter_home.area_codes == ("37", "369", "14320")

    hotline = services["hotline"]
    assert hotline.always_open and hotline.location_ids == () and hotline.languages == ("vi", "en")
    assert hotline.service_areas == ("01", "37", "38") and hotline.assured_by == "xacminh@haven.example.vn"

    legal = services["legal_aid"]
    assert legal.hours == (OpeningHours(("MO", "TU", "WE", "TH", "FR"), "07:30", "11:30"),
                           OpeningHours(("MO", "TU", "WE", "TH", "FR"), "13:30", "17:00"),
                           OpeningHours(("SA",), "07:30", "11:30"))
    assert legal.closed_on == (date(2025, 9, 1), date(2025, 9, 2)) and not legal.always_open
    assert legal.free_of_charge and legal.minimum_age == 16

    counselling = services["counselling"]
    assert counselling.status == "temporarily_closed"
    assert not counselling.free_of_charge and counselling.fees_description.startswith("50.000 đồng")
    assert (counselling.minimum_age, counselling.maximum_age) == (12, 18)
    assert counselling.location_ids == legal.location_ids
    assert batch.area_names["14320"] == "Phường Đông Thành"


def test_the_sample_exports_back_equal():
    documents = load("sample_services.json")
    exported = export_all(parse_hsds(documents))
    for document in exported:
        assert_valid(document)
    assert exported == documents


def test_hsds_ids_are_kept_so_a_reimport_updates_the_same_records():
    documents = load("sample_services.json")
    batch = parse_hsds(documents)
    assert [s.id for s in batch.services] == [d["id"] for d in documents]
    assert {o.id for o in batch.organizations} == {d["organization"]["id"] for d in documents}


def test_a_missing_id_is_derived_the_same_way_every_time():
    document = copy.deepcopy(load("sample_services.json")[2])
    del document["id"]
    first, second = parse_hsds(document), parse_hsds(document)
    assert first.errors == [] and first.services[0].id == second.services[0].id


def full_listing() -> Listing:
    """Every field Haven has, none at its default."""
    organization = Organization(id="0b0c6a5e-2d1f-4c1b-9e0a-7f3d2c1b0a99", name="Trung tâm CTXH tỉnh Lạng Sơn (demo)",
                                description="Quản lý ca", email="ctxh@langson.example.vn",
                                website="https://ctxh.langson.example.vn", phone="0205 3870 000")
    location = Location(id="1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", organization_id=organization.id,
                        name="Cơ sở 2", latitude=21.8537, longitude=106.7615, description="Tầng 2",
                        address=Address("Số 1 Lê Lợi", "Thành phố Lạng Sơn", "Lạng Sơn", "240000", "VN"),
                        province_code="20", district_code="178", commune_code="06079", confidential=True,
                        timezone="Asia/Bangkok")
    service = Service(id="2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a", organization_id=organization.id,
                      name="Hỗ trợ tâm lý cho nam giới", kind="social_work", description="Nhóm hỗ trợ",
                      status="inactive", email="hotro@langson.example.vn", url="https://ctxh.langson.example.vn/ho-tro",
                      phones=(Phone("0205 3870 001", "Tổng đài"), Phone("0912 000 000")), languages=("vi", "en", "hmn"),
                      gender="male", minimum_age=18, maximum_age=60, free_of_charge=False,
                      fees_description="20.000 đồng/buổi", always_open=True,
                      hours=(OpeningHours(("FR", "SA"), "22:00", "06:00"),), closed_on=(date(2025, 4, 30),),
                      capacity=Capacity(0, 5, datetime(2025, 6, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)),
                      assured_date=date(2025, 6, 1), assured_by="kiemtra@langson.example.vn",
                      service_areas=("20", "178"), location_ids=(location.id,))
    return Listing(service=service, organization=organization, locations=(location,),
                   area_names={"20": "Lạng Sơn", "178": "Thành phố Lạng Sơn", "06079": "Phường Chi Lăng"})


def test_import_of_an_export_gives_back_equal_records():
    listing = full_listing()
    document = service_to_hsds(listing, CASEWORKER)
    assert_valid(document)

    batch = parse_hsds(document)

    assert batch.errors == [] and batch.warnings == []
    assert [bare(s) for s in batch.services] == [bare(listing.service)]
    assert [bare(o) for o in batch.organizations] == [bare(listing.organization)]
    assert [bare(loc) for loc in batch.locations] == [bare(loc) for loc in listing.locations]
    assert batch.area_names == listing.area_names


@pytest.mark.parametrize("status", STATUSES)
def test_every_haven_status_has_an_hsds_status(status):
    listing = full_listing()
    listing = replace(listing, service=replace(listing.service, status=status))
    document = service_to_hsds(listing, CASEWORKER)
    assert_valid(document)
    assert document["status"] == STATUS_TO_HSDS[status]
    assert parse_hsds(document).services[0].status == status


def test_defunct_is_imported_as_inactive_with_a_warning():
    document = copy.deepcopy(load("sample_services.json")[2])
    document["status"] = "defunct"
    batch = parse_hsds(document)
    assert batch.services[0].status == "inactive"
    assert [(w.field, w.id) for w in batch.warnings] == [("status", document["id"])]


def test_a_single_object_and_an_api_page_are_accepted():
    documents = load("sample_services.json")
    assert [s.id for s in parse_hsds(documents[0]).services] == [documents[0]["id"]]
    page = {"total_items": 4, "total_pages": 1, "page_number": 1, "size": 4, "first_page": True,
            "last_page": True, "empty": False, "contents": documents}
    assert len(parse_hsds(page).services) == 4
    organization = load("sample_organizations.json")[1]
    assert [o.name for o in parse_hsds(organization).organizations] == [organization["name"]]


# --------------------------------------------------------------------------- organizations with nested services


def test_organizations_with_nested_services_and_locations_import():
    documents = load("sample_organizations.json")
    for document in documents:
        assert_valid(document, ORGANIZATION_SCHEMA)

    batch = parse_hsds(documents)

    assert batch.errors == []
    assert [o.name for o in batch.organizations] == ["Hội Liên hiệp Phụ nữ quận Đống Đa (demo)",
                                                     "Bệnh viện Đa khoa huyện Cẩm Thủy (demo)"]
    women_union, hospital = batch.organizations
    assert women_union.phone == "024 3851 0000"
    services = {s.kind: s for s in batch.services}
    assert set(services) == {"counselling", "trusted_address", "health"}
    assert services["counselling"].organization_id == women_union.id
    # a service refers to a location of its organization by id ...
    assert services["counselling"].location_ids == ("a1b2c3d4-0001-4a00-8000-000000000101",)
    assert services["counselling"].hours == (OpeningHours(("MO", "TU", "WE", "TH", "FR"), "08:00", "17:00"),)
    # ... or nests it; the nested location belongs to the enclosing organization
    trusted = services["trusted_address"]
    (home,) = [loc for loc in batch.locations if loc.id == trusted.location_ids[0]]
    assert home.confidential and home.organization_id == women_union.id and home.province_code == "01"
    assert trusted.always_open and trusted.capacity.available == 1 and trusted.minimum_age == 16
    health = services["health"]
    assert health.organization_id == hospital.id
    assert health.hours == (OpeningHours(("MO", "TU", "WE", "TH", "FR"), "07:00", "17:00"),)  # +07:00 is local
    assert health.service_areas == ("392",) and health.phones == (Phone("0237 3876 115", "Cấp cứu"),)
    assert len(batch.locations) == 2


def test_organization_export_validates_and_round_trips():
    batch = parse_hsds(load("sample_services.json"))
    for organization in batch.organizations:
        listings = [listing for listing in batch.listings() if listing.organization.id == organization.id]
        document = organization_to_hsds(organization, listings, CASEWORKER)
        assert_valid(document, ORGANIZATION_SCHEMA)
        again = parse_hsds(document)
        assert again.errors == []
        assert [bare(s) for s in again.services] == [bare(listing.service) for listing in listings]


# --------------------------------------------------------------------------- confidentiality


SHELTER_SECRETS = ("20.25061", "105.97452", "Số 17 ngõ 42", "Trần Hưng Đạo", "430000", "14320",
                   "Phường Đông Thành", "Cổng sau")


def shelter_listing() -> Listing:
    batch = parse_hsds(load("sample_services.json"))
    return next(listing for listing in batch.listings() if listing.service.kind == "shelter")


def test_the_export_for_a_caseworker_shows_the_confidential_address():
    text = json.dumps(service_to_hsds(shelter_listing(), CASEWORKER), ensure_ascii=False)
    for secret in SHELTER_SECRETS:
        assert secret in text


def test_the_public_export_shows_neither_address_nor_coordinates_of_a_confidential_place():
    document = service_to_hsds(shelter_listing(), PUBLIC)

    assert_valid(document)
    text = json.dumps(document, ensure_ascii=False)
    for secret in SHELTER_SECRETS:
        assert secret not in text, secret
    location = document["service_at_locations"][0]["location"]
    assert "latitude" not in location and "longitude" not in location and "addresses" not in location
    # what a caseworker needs to choose stays: the name, the province and district, the flag
    assert location["name"] == "Nhà tạm lánh Hoa Sen"
    terms = {(a["taxonomy_term"]["taxonomy"], a["taxonomy_term"]["code"]) for a in location["attributes"]}
    assert terms == {("haven-confidential", "confidential"), ("haven-area", "37"), ("haven-area", "369")}
    assert document["attributes"][0]["taxonomy_term"]["code"] == "shelter"


def test_the_public_organization_export_is_redacted_too():
    listing = shelter_listing()
    document = organization_to_hsds(listing.organization, [listing], PUBLIC)
    assert_valid(document, ORGANIZATION_SCHEMA)
    text = json.dumps(document, ensure_ascii=False)
    for secret in SHELTER_SECRETS:
        assert secret not in text, secret


# --------------------------------------------------------------------------- malformed records


def test_malformed_records_are_reported_and_the_good_ones_kept():
    good = load("sample_services.json")
    shelter, hotline, legal, counselling = good

    def bad_copy(original, number):
        document = copy.deepcopy(original)
        document["id"] = f"eeeeeeee-0000-4000-8000-{number:012d}"
        return document

    no_name = bad_copy(legal, 1)
    del no_name["name"]
    far_away = bad_copy(legal, 2)
    far_away["service_at_locations"][0]["location"]["id"] = "eeeeeeee-1111-4000-8000-000000000002"
    far_away["service_at_locations"][0]["location"]["latitude"] = 123
    strange_kind = bad_copy(legal, 3)
    strange_kind["attributes"][0]["taxonomy_term"]["code"] = "fortune_telling"
    late = bad_copy(legal, 4)
    late["schedules"][1]["opens_at"] = "25:00"
    ages = bad_copy(counselling, 5)
    ages["minimum_age"], ages["maximum_age"] = 30, 18
    overfull = bad_copy(shelter, 6)
    capacity = next(a for a in overfull["attributes"] if a["taxonomy_term"]["taxonomy"] == "haven-capacity")
    capacity["value"] = json.dumps({"available": 13, "maximum": 12})
    capacity_index = overfull["attributes"].index(capacity)

    batch = parse_hsds([shelter, no_name, hotline, far_away, strange_kind, "not a record", legal, late, ages,
                        overfull, counselling])

    assert sorted((e.index, e.id, e.field) for e in batch.errors) == [
        (1, no_name["id"], "name"),
        (3, far_away["id"], "service_at_locations.0.location.latitude"),
        (4, strange_kind["id"], "attributes.0.taxonomy_term.code"),
        (5, None, ""),
        (7, late["id"], "schedules.1.opens_at"),
        (8, ages["id"], "minimum_age"),
        (9, overfull["id"], f"attributes.{capacity_index}.value"),
    ]
    messages = {e.index: e.message for e in batch.errors}
    assert "123" in messages[3] and "fortune_telling" in messages[4] and "25:00" in messages[7]
    assert "exceeds" in messages[9]
    assert [s.id for s in batch.services] == [d["id"] for d in good]
    assert len(batch.organizations) == 3
    assert "eeeeeeee-1111-4000-8000-000000000002" not in {loc.id for loc in batch.locations}


def test_a_bad_service_inside_an_organization_does_not_sink_the_organization():
    documents = load("sample_organizations.json")
    documents[0]["services"][0]["schedules"][0]["closes_at"] = "24:30"
    documents[1]["locations"] = [{"id": "not-a-uuid", "location_type": "physical", "name": "Khoa Cấp cứu"}]

    batch = parse_hsds(documents)

    assert [(e.index, e.id, e.field) for e in batch.errors] == [
        (0, "a1b2c3d4-0001-4a00-8000-000000000201", "services.0.schedules.0.closes_at"),
        (1, "not-a-uuid", "locations.0.id"),
    ]
    assert len(batch.organizations) == 2
    assert [s.id for s in batch.services] == ["a1b2c3d4-0001-4a00-8000-000000000202",
                                              "a1b2c3d4-0002-4a00-8000-000000000201"]


def test_times_in_another_timezone_are_refused_not_misread():
    document = copy.deepcopy(load("sample_services.json")[2])
    document["schedules"][0]["opens_at"] = "00:30:00Z"
    batch = parse_hsds(document)
    assert batch.services == [] and [e.field for e in batch.errors] == ["schedules.0.opens_at"]


@pytest.mark.parametrize("given, kept", [("08:00", "08:00"), ("8:00", "08:00"), ("07:30:00", "07:30"),
                                         ("07:30:00+07:00", "07:30"), ("23:59:59", "24:00"), ("24:00:00", "24:00")])
def test_times_of_day_are_read_as_local_hh_mm(given, kept):
    document = copy.deepcopy(load("sample_services.json")[2])
    document["schedules"][0]["closes_at"] = given
    assert parse_hsds(document).services[0].hours[0].closes_at == kept


@pytest.mark.parametrize("given", ["25:00", "24:30", "12:60", "7.30", "noon", "", 730, "08:00Z"])
def test_times_that_are_not_local_times_of_day_are_refused(given):
    document = copy.deepcopy(load("sample_services.json")[2])
    document["schedules"][0]["closes_at"] = given
    assert [e.field for e in parse_hsds(document).errors] == ["schedules.0.closes_at"]


def test_a_service_without_a_kind_needs_a_default_kind():
    document = copy.deepcopy(load("sample_services.json")[2])
    document["attributes"] = [a for a in document["attributes"] if a["taxonomy_term"]["taxonomy"] != "haven-kind"]
    assert [e.field for e in parse_hsds(document).errors] == ["attributes"]
    assert parse_hsds(document, default_kind="legal_aid").services[0].kind == "legal_aid"


def test_an_organization_repeated_with_other_details_is_kept_once_with_a_warning():
    documents = copy.deepcopy(load("sample_services.json"))
    documents[3]["organization"]["description"] = "Một mô tả khác"
    batch = parse_hsds(documents)
    assert batch.errors == [] and len(batch.organizations) == 3
    assert [(w.index, w.field) for w in batch.warnings] == [(3, "organization")]
    assert next(o for o in batch.organizations if o.id == documents[3]["organization_id"]).description \
        == documents[2]["organization"]["description"]


# --------------------------------------------------------------------------- CSV


def csv_text() -> str:
    text = (FIXTURES / "provincial_sample.csv").read_text(encoding="utf-8")
    assert text.startswith("\ufeff")  # saved by a spreadsheet, with a byte-order mark
    return text


def test_csv_rows_become_services_and_bad_rows_are_reported():
    batch = parse_csv(csv_text())

    assert [(e.index, e.field) for e in batch.errors] == [(5, "latitude"), (6, "hours")]
    assert "123" in batch.errors[0].message and "25:00" in batch.errors[1].message
    assert [s.name for s in batch.services] == ["Chỗ ở tạm thời", "Tư vấn pháp luật miễn phí",
                                                "Đường dây nóng hỗ trợ nạn nhân"]
    shelter, legal, hotline = batch.services
    # written "Nhà tạm lánh", "nữ", "có" in the sheet
    assert shelter.kind == "shelter" and shelter.gender == "female" and shelter.always_open
    assert shelter.capacity.available == 2 and shelter.capacity.maximum == 10
    (home,) = [loc for loc in batch.locations if loc.id in shelter.location_ids]
    assert home.confidential  # left empty: shelters are confidential by default
    assert home.area_codes == ("37", "369", "14320") and home.address.address_1 == "Số 9 ngõ 3 phố Lê Lợi"
    assert legal.hours == (OpeningHours(("MO", "TU", "WE", "TH", "FR"), "07:30", "11:30"),
                           OpeningHours(("MO", "TU", "WE", "TH", "FR"), "13:30", "17:00"),
                           OpeningHours(("SA",), "07:30", "11:30"))
    assert legal.phones == (Phone("0237 3852 000"), Phone("0237 3852 001")) and legal.minimum_age == 16
    assert legal.assured_date == date(2025, 2, 20)
    (office,) = [loc for loc in batch.locations if loc.id in legal.location_ids]
    assert (office.latitude, office.longitude) == (19.80672, 105.78524) and not office.confidential
    assert hotline.always_open and hotline.languages == ("vi", "en") and hotline.service_areas == ("01", "37", "38")
    assert hotline.location_ids == ()
    assert len(batch.organizations) == 3


def test_csv_without_byte_order_mark_reads_the_same():
    with_bom, without = parse_csv(csv_text()), parse_csv(csv_text().lstrip("\ufeff"))
    counted_now = lambda s: replace(bare(s), capacity=None)  # noqa: E731 (a bed count is stamped when read)
    assert [counted_now(s) for s in with_bom.services] == [counted_now(s) for s in without.services]
    assert len(with_bom.services) == 3 and with_bom.errors == without.errors


def test_csv_reimport_gives_the_same_ids():
    first, second = parse_csv(csv_text()), parse_csv(csv_text())
    assert [s.id for s in first.services] == [s.id for s in second.services]
    assert [loc.id for loc in first.locations] == [loc.id for loc in second.locations]


def test_csv_import_exports_as_valid_hsds():
    for document in export_all(parse_csv(csv_text())):
        assert_valid(document)


def test_csv_without_a_required_column_is_refused_at_the_header():
    text = "organization_name,service_name,description\nHội Phụ nữ,Tham vấn,\n"
    batch = parse_csv(text)
    assert [(e.index, e.field) for e in batch.errors] == [(1, "kind")]
    assert batch.services == []


def test_csv_leading_zeros_are_restored_and_errors_name_the_column():
    text = ("organization_name,service_name,kind,province_code,district_code,location_name,minimum_age,maximum_age\n"
            "Hội Phụ nữ quận Đống Đa,Tham vấn,counselling,1,6,Văn phòng,,\n"
            "Hội Phụ nữ quận Đống Đa,Nhóm trẻ em,counselling,1,6,Văn phòng,15,12\n")
    batch = parse_csv(text)
    assert [(e.index, e.field) for e in batch.errors] == [(3, "minimum_age")]
    assert batch.locations[0].area_codes == ("01", "006")


# --------------------------------------------------------------------------- documents from other systems


# A table of the kind an installation keeps (its starter rows are the migration's business).
TWO_ONE_ONE = "https://211taxonomy.org"
MAPPINGS = KindMappings((KindMapping(TWO_ONE_ONE, "BH-1800.1500-100", "shelter", "Domestic Violence Shelters"),
                         KindMapping(TWO_ONE_ONE, "RP-1500.1400-200", "hotline", "Domestic Violence Hotlines"),
                         KindMapping(TWO_ONE_ONE, "FT-3000.1750", "legal_aid", "Domestic Violence Legal Services")))


def foreign():
    """HSDS 3.0 services exported by another Open Referral system: 211 taxonomy terms, no
    Haven attribute at all (no haven-kind, no haven-confidential)."""
    return load("foreign_services.json")


def by_name(batch, part):
    return next(s for s in batch.services if part in s.name)


def test_the_foreign_sample_is_official_hsds_3_without_haven_attributes():
    documents = foreign()
    for document in documents:
        assert_valid(document)
    assert "haven-" not in json.dumps(documents)


def test_a_foreign_service_takes_its_kind_from_the_mapping_of_its_taxonomy_term():
    batch = parse_hsds(foreign(), mappings=MAPPINGS)
    assert by_name(batch, "Nhà an toàn").kind == "shelter"
    assert by_name(batch, "Đường dây nóng").kind == "hotline"  # named by taxonomy_detail.uri "…org/" only
    assert by_name(batch, "Trợ giúp pháp lý").kind == "legal_aid"
    sources = {k.id: k.rule for k in batch.kind_sources}
    assert sources[by_name(batch, "Nhà an toàn").id] == "mapping https://211taxonomy.org:BH-1800.1500-100"
    assert sources[by_name(batch, "Đường dây nóng").id] == "mapping https://211taxonomy.org:RP-1500.1400-200"


def test_a_service_no_rule_gives_a_kind_is_reported_naming_its_terms():
    batch = parse_hsds(foreign(), mappings=MAPPINGS)
    (error,) = batch.errors
    assert (error.index, error.field) == (3, "attributes")
    assert "Local categories:PN-8100.0200-180" in error.message and "default_kind" in error.message
    assert len(batch.services) == 3


def test_default_kind_gives_a_kind_to_the_services_no_mapping_covers():
    batch = parse_hsds(foreign(), mappings=MAPPINGS, default_kind="counselling")
    assert batch.errors == []
    club = by_name(batch, "Câu lạc bộ")
    assert club.kind == "counselling"
    assert {k.id: k.rule for k in batch.kind_sources}[club.id] == "default_kind"
    assert by_name(batch, "Nhà an toàn").kind == "shelter"  # a mapping comes before the default


def test_a_shelter_location_with_no_confidentiality_information_is_imported_confidential():
    batch = parse_hsds(foreign(), mappings=MAPPINGS)
    locations = {loc.id: loc for loc in batch.locations}
    shelter, legal = by_name(batch, "Nhà an toàn"), by_name(batch, "Trợ giúp pháp lý")
    assert locations[shelter.location_ids[0]].confidential is True
    assert locations[legal.location_ids[0]].confidential is False
    (warning,) = [w for w in batch.warnings if w.id == shelter.location_ids[0]]
    assert warning.index == 0 and "safe default" in warning.message
    assert batch.confidentiality_given == set()  # neither location says, so a re-import keeps what Haven has


def test_a_document_that_says_a_location_is_public_is_taken_at_its_word():
    documents = load("sample_services.json")
    legal = documents[2]["service_at_locations"][0]["location"]
    legal["attributes"].append({"id": str(uuid.uuid4()), "taxonomy_term": {
        "id": str(uuid.uuid4()), "code": "confidential", "name": "x", "description": "x",
        "taxonomy": "haven-confidential"}, "value": "false"})
    batch = parse_hsds(documents)
    shelter_home = next(d["service_at_locations"][0]["location"]["id"] for d in documents
                        if d["name"] == "Chỗ ở tạm thời an toàn")
    assert batch.confidentiality_given == {legal["id"], shelter_home}
    assert all(k.rule == "haven-kind attribute" for k in batch.kind_sources)


def test_terms_mapping_to_several_kinds_choose_the_confidential_one_and_say_so():
    document = foreign()[1]  # the hotline
    document["attributes"].append(copy.deepcopy(foreign()[0]["attributes"][0]))  # also tagged as a DV shelter
    document["attributes"][-1]["id"] = str(uuid.uuid4())
    batch = parse_hsds(document, mappings=MAPPINGS)
    assert batch.services[0].kind == "shelter"
    assert [k.rule for k in batch.kind_sources] == ["mapping https://211taxonomy.org:BH-1800.1500-100"]
    assert any("hotline" in w.message and w.field == "attributes" for w in batch.warnings)


def test_taxonomy_names_and_codes_match_loosely():
    mappings = KindMappings((KindMapping("https://211taxonomy.org", "BH-1800.1500-100", "shelter"),))
    for taxonomy in ("http://www.211taxonomy.org/", "211TAXONOMY.ORG", " https://211taxonomy.org "):
        assert mappings.lookup(Term((taxonomy,), " bh-1800.1500-100")) is not None, taxonomy
    assert mappings.lookup(Term(("https://openeligibility.org",), "BH-1800.1500-100")) is None
    assert taxonomy_key("https://211taxonomy.org/") == taxonomy_key("211taxonomy.org")


def test_a_mapping_table_with_an_unknown_kind_or_a_repeated_term_is_refused_naming_the_row():
    rows = [KindMapping("A", "1", "shelter"), KindMapping("a", "1 ", "hotline"), KindMapping("B", "2", "astrology"),
            KindMapping(" ", "3", "shelter")]
    assert [field for field, _ in check_mappings(rows, ["shelter", "hotline"])] == [
        "mappings.1.code", "mappings.2.kind", "mappings.3.taxonomy"]


def test_the_csv_import_says_where_kinds_and_confidentiality_come_from():
    text = ("organization_name,service_name,kind,location_name,confidential\n"
            "Hội LHPN,Nhà tạm lánh,shelter,Nhà A,\n"
            "Hội LHPN,Tư vấn,counselling,Nhà B,no\n")
    batch = parse_csv(io.StringIO(text))
    assert [k.rule for k in batch.kind_sources] == ["kind column", "kind column"]
    named = {loc.name: loc.id for loc in batch.locations}
    assert batch.confidentiality_given == {named["Nhà B"]}
