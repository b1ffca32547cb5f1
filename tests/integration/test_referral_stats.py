"""The indicators and the yearly report over HTTP, with a real directory answering over
HTTP: the receiving service's area and kind recorded when a referral is made (and kept
through a directory edit), counts per group, who may see which figures, problem+json for
bad questions, and the report's file. Once on SQLite and once on PostgreSQL for the SQL."""
from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
from werkzeug.serving import make_server

from haven.platform import db
from services.referral import SPEC as REFERRAL
from services.referral.adapters.orm import referrals as referrals_table
from tests.support.apps import service_app
from tests.support.auth import bearer

AGENCY = "agency-womens-union"
OTHER_AGENCY = "agency-elsewhere"
VN = timezone(timedelta(hours=7))
# Inside programme year 2026 (01/12/2025 - 30/11/2026, Vietnam time).
DECEMBER = datetime(2025, 12, 1, 0, 30, tzinfo=VN)  # 30 minutes into the programme year
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=VN)
BEFORE = datetime(2025, 11, 30, 23, 30, tzinfo=VN)  # the last half hour of programme year 2025
AREAS = [{"code": "20", "name": "Lạng Sơn", "level": "province"},
         {"code": "01", "name": "Hà Nội", "level": "province"},
         {"code": "06100", "name": "Phường Lương Văn Tri", "level": "commune", "parent_code": "20"},
         {"code": "00004", "name": "Phường Ba Đình", "level": "commune", "parent_code": "01"}]


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    data = tmp_path_factory.mktemp("stats-directory")
    app = service_app("directory", data)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    admin = bearer(data, "directory_admin")
    client = app.test_client()
    assert client.post("/v1/areas", json=AREAS, headers=admin).status_code == 200
    org = client.post("/v1/organizations", json={"name": "Trung tâm Trợ giúp pháp lý"}, headers=admin).json
    shelter_org = client.post("/v1/organizations", json={"name": "Nhà tạm lánh Bình An"}, headers=admin).json

    def located(organization, name, province, commune, confidential=False):
        return client.post("/v1/locations", headers=admin, json={
            "organization_id": organization, "name": name, "province_code": province, "commune_code": commune,
            "confidential": confidential}).json

    legal_place = located(org["id"], "Trụ sở", "20", "06100")
    hanoi_place = located(org["id"], "Văn phòng Hà Nội", "01", "00004")
    shelter_place = located(shelter_org["id"], "Nhà", "20", "06100", confidential=True)

    def service(organization, name, kind, place):
        return client.post("/v1/services", headers=admin, json={
            "organization_id": organization, "name": name, "kind": kind, "always_open": True,
            "location_ids": [place["id"]]}).json

    yield {"url": f"http://127.0.0.1:{server.server_port}", "client": client, "admin": admin,
           "org": org["id"], "shelter_org": shelter_org["id"], "legal_place": legal_place,
           "legal": service(org["id"], "Trợ giúp pháp lý", "legal_aid", legal_place),
           "counselling": service(org["id"], "Tư vấn Hà Nội", "counselling", hanoi_place),
           "shelter": service(shelter_org["id"], "Nhà tạm lánh", "shelter", shelter_place)}
    server.shutdown()


class Haven:
    """The referral service on a database, with a clock the test moves."""

    def __init__(self, directory, data, database_url=None):
        self.directory, self.data = directory, data
        self.app = service_app("referral", data, database_url, REFERRAL_DIRECTORY_URL=directory["url"])
        self.client = self.app.test_client()
        self.now = MARCH
        self.app.extensions["haven.referral"]["referrals"].clock = lambda: self.now.astimezone(timezone.utc)
        self.caseworker = bearer(data, "caseworker", organization_id=AGENCY, subject="cw-lan")
        self.other_caseworker = bearer(data, "caseworker", organization_id=OTHER_AGENCY, subject="cw-other")
        self.staff = bearer(data, "agency_staff", organization_id=directory["org"], subject="staff-thu")
        self.ops = bearer(data, "ops", subject="ops-1")

    def refer(self, service: str, at: datetime, urgency="normal", caseworker=None) -> str:
        self.now = at
        answer = self.client.post("/v1/referrals", headers=caseworker or self.caseworker, json={
            "receiving_service_id": self.directory[service]["id"], "urgency": urgency, "risk_level": "medium",
            "profile": {"client_ref": "WU-2026-0042", "age_group": "25_59", "gender": "female"},
            "consent": {"given": True, "obtained_by": "cw-lan",
                        "obtained_at": (at - timedelta(minutes=5)).isoformat(), "scope": ["contact"]}})
        assert answer.status_code == 201, answer.get_json()
        return answer.json["id"]

    def act(self, referral_id: str, action: str, after: timedelta, **body):
        self.now = self.now + after
        answer = self.client.post(f"/v1/referrals/{referral_id}/{action}", headers=self.staff, json=body)
        assert answer.status_code == 200, answer.get_json()

    def stats(self, headers=None, **query):
        return self.client.get("/v1/stats", query_string=query, headers=self.ops if headers is None else headers)


@pytest.fixture(scope="module")
def haven(directory, tmp_path_factory):
    """Programme year 2026 of one agency and one other: 12 legal-aid referrals in Lạng Sơn,
    6 counselling ones in Hà Nội, 1 shelter one; one legal-aid referral the year before."""
    haven = Haven(directory, tmp_path_factory.mktemp("stats-referral"))
    haven.refer("legal", BEFORE)
    for i in range(12):
        referral = haven.refer("legal", DECEMBER + timedelta(days=i), urgency="high" if i < 6 else "normal")
        haven.act(referral, "acknowledge", timedelta(minutes=30))
        if i < 9:
            haven.act(referral, "accept", timedelta(hours=2))
        else:
            haven.act(referral, "decline", timedelta(hours=1), reason="no_capacity")
    for i in range(6):
        haven.refer("counselling", MARCH + timedelta(days=i), caseworker=haven.other_caseworker)
    haven.refer("shelter", MARCH)
    haven.now = MARCH + timedelta(days=30)
    return haven


def year_2026(**query):
    return {"from": "2025-12-01", "to": "2026-11-30", **query}


def test_the_area_and_kind_are_recorded_when_referred_and_a_directory_edit_does_not_move_them(haven, directory):
    client, place = directory["client"], directory["legal_place"]
    etag = client.get(f"/v1/locations/{place['id']}").headers["ETag"]
    moved = client.put(f"/v1/locations/{place['id']}", headers={**directory["admin"], "If-Match": etag},
                       json={"organization_id": place["organization_id"], "name": "Trụ sở mới",
                             "province_code": "01", "commune_code": "00004"})
    assert moved.status_code == 200, moved.get_json()
    try:
        body = haven.stats(**year_2026(group_by="province")).get_json()
        created = {g["key"]: g["measures"]["counts"]["created"] for g in body["groups"]}
        # 12 legal aid + 1 shelter in Lạng Sơn (recorded then), 6 counselling in Hà Nội.
        assert created == {"01": 6, "20": 13}
        by_kind = {g["key"]: g["measures"]["counts"]["created"]
                   for g in haven.stats(**year_2026(group_by="kind")).get_json()["groups"]}
        # One shelter referral is small; with the total (19) shown, a second kind is withheld too.
        assert by_kind == {"counselling": "x", "legal_aid": 12, "shelter": "<5"}
        # The shelter's commune is not told by the directory (a confidential location): not recorded.
        by_commune = {g["key"]: g["measures"]["counts"]["created"]
                      for g in haven.stats(**year_2026(group_by="commune")).get_json()["groups"]}
        assert by_commune == {"00004": "x", "06100": 12, "unknown": "<5"}  # "x": as for the kinds
    finally:
        etag = client.get(f"/v1/locations/{place['id']}").headers["ETag"]
        client.put(f"/v1/locations/{place['id']}", headers={**directory["admin"], "If-Match": etag},
                   json={"organization_id": place["organization_id"], "name": "Trụ sở",
                         "province_code": "20", "commune_code": "06100"})


def test_the_programme_year_is_the_default_and_counts_what_happened(haven):
    body = haven.stats().get_json()  # today is in March 2026: programme year 2026
    assert body["period"] == {"from": "2025-12-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"}
    total = body["total"]
    assert total["counts"] == {"created": 19, "acknowledged": 12, "accepted": 9, "declined": "<5", "completed": 0,
                               "cancelled": 0, "re_referred": 0, "consent_overridden": 0}
    # 3 declines, all no_capacity: the reason is as small as the whole.
    assert total["declined_by_reason"]["no_capacity"] == "<5"
    assert total["received_help"] == {"count": 9, "share": round(9 / 19, 4)}
    assert total["times"]["acknowledge"]["median_seconds"] == 1800.0
    assert total["times"]["decide"]["median_seconds"] == 1800.0 + 7200.0
    assert total["times"]["complete"] == {"median_seconds": None, "p90_seconds": None}
    months = {g["key"]: g["measures"]["counts"]["created"]
              for g in haven.stats(group_by="month").get_json()["groups"]}
    assert list(months) == [f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, m) for m in range(1, 12)]]
    assert months["2025-12"] == 12 and months["2026-03"] == 7 and months["2026-01"] == 0
    # The referral 30 minutes before the year began (Vietnam time) is programme year 2025's.
    assert haven.stats(**{"from": "2025-11-30", "to": "2025-11-30"}).get_json()["total"]["counts"]["created"] \
        == "<5"


def test_the_sla_figures_count_missed_deadlines_and_escalations(haven):
    sla = haven.stats(group_by="urgency").get_json()
    by_urgency = {g["key"]: g["measures"] for g in sla["groups"]}
    assert list(by_urgency) == ["emergency", "high", "normal"]
    # Six high referrals acknowledged in 30 minutes (deadline 4 h) and decided within 24 h.
    assert by_urgency["high"]["sla"]["acknowledge"] == {"due": 6, "missed": 0, "missed_share": 0.0}
    # Normal ones: 6 legal aid answered in time; 6 counselling + 1 shelter never answered, a month on.
    normal = by_urgency["normal"]["sla"]["acknowledge"]
    assert normal == {"due": 13, "missed": 7, "missed_share": round(7 / 13, 4)}


def test_a_supervisor_sees_the_referrals_her_organization_sent_or_received(haven):
    mine = bearer(haven.data, "supervisor", organization_id=AGENCY, subject="sup-mai")
    assert haven.stats(mine).get_json()["total"]["counts"]["created"] == 13
    receiving = bearer(haven.data, "supervisor", organization_id=haven.directory["org"], subject="sup-org")
    assert haven.stats(receiving).get_json()["total"]["counts"]["created"] == 18  # all but the shelter's
    own = haven.stats(mine, organization=AGENCY)
    assert own.status_code == 200
    ops = haven.stats(organization=OTHER_AGENCY).get_json()
    assert ops["total"]["counts"]["created"] == 6


@pytest.mark.parametrize("who, query, status, field", [
    ("ops", {"from": "2026-03-01", "to": "2026-02-01"}, 422, "to"),
    ("ops", {"group_by": "name"}, 422, "group_by"),
    ("ops", {"from": "1999-12-01"}, 422, "from"),
    ("ops", {"province": "Hà Nội"}, 422, "province"),
    ("ops", {"from": "2020-01-01", "to": "2026-01-01"}, 422, "to"),
    ("caseworker", {}, 403, None),
    ("agency_staff", {}, 403, None),
    ("directory_admin", {}, 403, None),
    ("other_supervisor", {}, 403, None),
    (None, {}, 401, None),
])
def test_bad_questions_and_wrong_callers_get_problem_json(haven, who, query, status, field):
    headers = {
        "ops": haven.ops, "caseworker": haven.caseworker, "agency_staff": haven.staff, None: {},
        "directory_admin": bearer(haven.data, "directory_admin"),
        # A supervisor asking for another organization's figures.
        "other_supervisor": bearer(haven.data, "supervisor", organization_id=AGENCY, subject="sup-mai"),
    }[who]
    if who == "other_supervisor":
        query = {"organization": OTHER_AGENCY}
    answer = haven.stats(headers, **query)
    assert answer.status_code == status and answer.mimetype == "application/problem+json", answer.get_json()
    if field:
        assert [e["field"] for e in answer.get_json()["errors"]] == [field]
    if field == "to":  # two valid days that make no period: a rule between parameters
        assert answer.get_json()["type"] == "urn:haven:problem:inconsistent-fields"


@pytest.mark.parametrize("query, status, field", [
    ({"year": 1999}, 422, "year"), ({"year": 2101}, 422, "year"), ({}, 422, "year"),
    ({"year": 2026, "format": "pdf"}, 422, "format"), ({"year": 2026, "language": "fr"}, 422, "language"),
])
def test_a_report_of_no_year_or_in_no_known_form_is_refused_by_name(haven, query, status, field):
    answer = haven.client.get("/v1/reports/yearly", query_string=query, headers=haven.ops)
    assert answer.status_code == status and answer.mimetype == "application/problem+json"
    assert [e["field"] for e in answer.get_json()["errors"]] == [field]


def test_the_yearly_report_is_a_vietnamese_workbook_by_default(haven):
    answer = haven.client.get("/v1/reports/yearly?year=2026", headers=haven.ops)
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="haven-bao-cao-nam-2026.xlsx"' in answer.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["Tóm tắt", "Theo tháng", "Theo địa bàn", "Theo loại dịch vụ", "Thời gian phản hồi",
                               "SLA và chuyển cấp", "Vụ việc nghiêm trọng"]
    summary = {row[0]: row[1] for row in book["Tóm tắt"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Số ca chuyển gửi"] == 19 and summary["Kỳ báo cáo"] == "01/12/2025 – 30/11/2026"
    # Areas and kinds by the names the directory gives them.
    areas = {row[0]: row[1] for row in book["Theo địa bàn"].iter_rows(values_only=True) if row and row[0]}
    assert areas["Lạng Sơn (20)"] == 13 and areas["Hà Nội (01)"] == 6 and areas["Tổng"] == 19
    kinds = {row[0]: row[1] for row in book["Theo loại dịch vụ"].iter_rows(values_only=True) if row and row[0]}
    assert kinds["Trợ giúp pháp lý"] == 12 and kinds["Tổng"] == 19


def test_the_yearly_report_in_english_as_csv_and_for_one_province(haven):
    answer = haven.client.get("/v1/reports/yearly?year=2026&format=csv&language=en&province=20", headers=haven.ops)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert 'filename="haven-yearly-report-2026-20.csv"' in answer.headers["Content-Disposition"]
    text = answer.data.decode("utf-8")
    assert text.startswith("\ufeffYearly report 2026")
    assert "## By area" in text and "Referrals made,13" in text
    # The province's communes: the shelter's is not told (confidential), so it is unknown and small.
    assert "\r\nPhường Lương Văn Tri (06100),x,12,9," in text and "\r\nUnknown,<5," in text
    assert "\r\nLegal aid,x,12,9," in text


def test_referrals_made_before_the_area_was_recorded_count_as_unknown(haven):
    engine = db.create_engine(REFERRAL.database_url(REFERRAL.load_config({"HAVEN_DATA_DIR": str(haven.data)})))
    oldest = haven.refer("legal", MARCH + timedelta(days=20))
    with engine.begin() as connection:
        connection.execute(referrals_table.update().where(referrals_table.c.id == oldest).values(
            receiving_province_code=None, receiving_district_code=None, receiving_commune_code=None))
    haven.now = MARCH + timedelta(days=30)
    groups = {g["key"]: g["measures"]["counts"]["created"]
              for g in haven.stats(group_by="province").get_json()["groups"]}
    assert groups == {"01": "x", "20": 13, "unknown": "<5"}  # "x": beside the small one, for the total's sake
    engine.dispose()


def test_the_figures_read_alike_on_sqlite_and_postgresql(directory, database_url, tmp_path):
    haven = Haven(directory, tmp_path, database_url)
    for i in range(6):
        referral = haven.refer("legal", DECEMBER + timedelta(days=i))
        haven.act(referral, "acknowledge", timedelta(minutes=10 * (i + 1)))
        haven.act(referral, "accept", timedelta(hours=1))
        haven.act(referral, "complete", timedelta(days=2))
    haven.now = MARCH
    total = haven.stats(**year_2026(province="20", kind="legal_aid")).get_json()["total"]
    assert total["counts"]["completed"] == 6 and total["received_help"]["share"] == 1.0
    assert total["times"]["acknowledge"] == {"median_seconds": 1800.0, "p90_seconds": 3600.0}
    assert haven.stats(**year_2026(area="06100")).get_json()["total"]["counts"]["created"] == 6
    assert haven.stats(**year_2026(area="00004")).get_json()["total"]["counts"]["created"] == 0


def test_serious_incidents_are_counted_by_the_month_they_were_discovered(directory, database_url, tmp_path):
    haven = Haven(directory, tmp_path, database_url)
    made = [haven.refer("legal", DECEMBER + timedelta(days=i)) for i in range(6)]
    haven.now = MARCH
    for referral_id in made:
        discovered = (DECEMBER + timedelta(days=40)).isoformat()  # in January, reported by phone at once
        marked = haven.client.post(f"/v1/referrals/{referral_id}/serious-incident", headers=haven.caseworker,
                                   json={"discovered_at": discovered, "phoned_at": discovered,
                                         "phoned_to": "Phòng Văn hóa - Xã hội"})
        assert marked.status_code == 201, marked.get_json()
    body = haven.stats(**year_2026(group_by="month")).get_json()
    # No written report, and the five days passed long ago: every one is missing.
    assert body["total"]["serious_incidents"] == {"reported": 6, "on_time": 0, "late": 0, "missing": 6, "due": 0}
    months = {g["key"]: g["measures"]["serious_incidents"]["reported"] for g in body["groups"]}
    assert months["2026-01"] == 6 and months["2025-12"] == 0
    assert haven.stats(**year_2026(group_by="month")).get_json()["groups"][0]["measures"]["counts"]["created"] == 6
