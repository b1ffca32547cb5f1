"""Fictional but realistic demo data for the directory: areas, providers, and a generator
for benchmarks and load tests.

Pure data and pure functions: no database, no Flask. Every organization says in its
description that it is fictional; names, phone numbers, e-mail addresses and street
numbers are invented. The administrative units are real: the pre-July-2025 three-tier
units (province -> district -> commune) that older records still name.

    areas()                 the coded hierarchy the demo uses, parents before children
    centres                 code -> (lat, lon, radius_km) for every district and commune
    providers(seed=2026)    a fixed demo set of 300+ services in four provinces
    generate(n, seed=1)     yields (organization, locations, services) until exactly n
                            services have been produced, for load tests (n up to 100 000)

Everything is deterministic: the same seed gives equal records (ids, timestamps and
verification dates included; "today" is the fixed REFERENCE_DATE, never the clock).
"""
from __future__ import annotations

import json
import math
import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from typing import Callable, Iterator

from .domain.model import (
    DEFAULT_TIMEZONE, Address, Area, Capacity, Centre, Location, OpeningHours, Organization, Phone,
    Service,
)

Bundle = tuple[Organization, list[Location], list[Service]]

REFERENCE_DATE = date(2026, 11, 1)  # "today" for verification dates: fixed, so data is reproducible
REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)  # created_at / updated_at of every record
FICTIONAL_NOTE = " (dữ liệu minh hoạ, hư cấu)"

# Language codes used by the demo (ISO 639-1 where one exists, else ISO 639-3).
LANGUAGES = {
    "vi": "Tiếng Việt",
    "en": "Tiếng Anh",
    "tyz": "Tiếng Tày",
    "nut": "Tiếng Nùng",
    "hmn": "Tiếng H'Mông",  # ISO 639 macrolanguage code for Hmong
    "blt": "Tiếng Thái (Thái Đen / Tai Dam)",
    "mtq": "Tiếng Mường",
}

# Public holidays in 2026 when office-hours services close. The Tết dates follow Lunar New
# Year on 17 Feb 2026; check the government's official holiday schedule before shipping.
PUBLIC_HOLIDAYS = (
    date(2026, 1, 1),
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20),
    date(2026, 4, 30), date(2026, 5, 1),
    date(2026, 9, 1), date(2026, 9, 2),
    date(2027, 1, 1),
)

# ---------------------------------------------------------------------------------------
# Administrative units
#
# The units are rows of demo_areas.json (data, not code: a province added is a few rows
# there). Codes are the GSO (Tổng cục Thống kê) codes of the three-tier list in force before
# the 2025 reform: 2-digit provinces, 3-digit districts, 5-digit communes. Every code there was
# checked by name against a copy of the GSO list (the pre-2025 units, Hoa Lư still a
# district of Ninh Bình). Codes nobody has checked go in UNVERIFIED_CODES, and must be
# checked against the official list before any data built on them ships. Since mid-2025
# the district level is abolished and many units were merged or renamed: these codes
# serve older records; current two-tier data needs the current official list.
UNVERIFIED_CODES: frozenset[str] = frozenset()

# Centres (each unit's `centre` there): approximate [lat, lon] and a radius in km chosen so
# that the whole circle lies inside the unit (districts are not circles: the radius is
# deliberately conservative, and a commune's circle lies inside its district's). Commune
# centres are approximate to a few hundred metres; district centres are inside the
# district, not its exact centroid.
# Cao Lộc district wraps around the Lạng Sơn city enclave, whose edge is near
# (21.88, 106.79); its circle therefore sits in the district's eastern part.


@dataclass(frozen=True)
class _Province:
    code: str
    name: str  # official name, e.g. "Tỉnh Lạng Sơn"
    short: str  # "Lạng Sơn"
    area_code: str  # landline trunk code, "0205"
    local_digits: int  # digits after the trunk code
    capitals: tuple[str, ...]  # districts where provincial agencies sit
    languages: tuple[str, ...]  # minority languages provincial services may offer

    @property
    def lower(self) -> str:  # "tỉnh Lạng Sơn", as it reads inside a sentence or a name
        return _lower_first(self.name)


@dataclass(frozen=True)
class _District:
    code: str
    province: str
    name: str  # "Huyện Cao Lộc"
    urban: bool
    streets: tuple[str, ...]  # urban: streets; rural: highways through the district
    languages: tuple[str, ...]  # ethnic-minority languages spoken there

    @property
    def lower(self) -> str:
        return _lower_first(self.name)

    @property
    def short(self) -> str:
        return _short(self.name)


@dataclass(frozen=True)
class _Commune:
    code: str
    district: str
    name: str  # "Thị trấn Phong Sơn"

    @property
    def lower(self) -> str:
        return _lower_first(self.name)

    @property
    def urban(self) -> bool:
        return self.name.startswith(("Phường", "Thị trấn"))


def _load_units() -> dict:
    """The rows of demo_areas.json, beside this module (package data, so an installed copy
    has it too): provinces, then districts and communes, each with its centre."""
    return json.loads(resources.files(__package__).joinpath("demo_areas.json").read_text(encoding="utf-8"))


_UNITS = _load_units()
_PROVINCES = tuple(_Province(p["code"], p["name"], p["short"], p["area_code"], p["local_digits"], tuple(p["capitals"]),
                             tuple(p["languages"])) for p in _UNITS["provinces"])
_PROVINCE = {p.code: p for p in _PROVINCES}
_DISTRICT = {d["code"]: _District(d["code"], d["province"], d["name"], d["urban"], tuple(d["streets"]),
                                  tuple(d["languages"])) for d in _UNITS["districts"]}
_COMMUNE = {c["code"]: _Commune(c["code"], c["district"], c["name"]) for c in _UNITS["communes"]}
_DISTRICTS_OF = {p.code: tuple(d for d in _DISTRICT.values() if d.province == p.code) for p in _PROVINCES}
_COMMUNES_OF = {d.code: tuple(c for c in _COMMUNE.values() if c.district == d.code) for d in _DISTRICT.values()}

centres: dict[str, tuple[float, float, float]] = {
    unit["code"]: tuple(unit["centre"]) for unit in (*_UNITS["districts"], *_UNITS["communes"])}


def areas() -> list[Area]:
    """The administrative units the demo uses, parents before children; districts and
    communes with their centres (a province has none: "near Hà Nội" would only be a guess
    at which of its districts was meant)."""
    def centre(code: str) -> Centre:
        lat, lon, _radius = centres[code]
        return Centre(lat, lon)

    return ([Area(p.code, p.name, "province") for p in _PROVINCES]
            + [Area(d.code, d.name, "district", d.province, centre(d.code)) for d in _DISTRICT.values()]
            + [Area(c.code, c.name, "commune", c.district, centre(c.code)) for c in _COMMUNE.values()])


# ---------------------------------------------------------------------------------------
# Opening hours

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
_EVERY_DAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
OFFICE = (OpeningHours(_WEEKDAYS, "07:30", "11:30"), OpeningHours(_WEEKDAYS, "13:30", "17:00"))
OFFICE_AND_SATURDAY = OFFICE + (OpeningHours(("SA",), "07:30", "11:30"),)
HEALTH_STATION = (OpeningHours(_WEEKDAYS, "07:00", "11:30"), OpeningHours(_WEEKDAYS, "13:30", "17:00"),
                  OpeningHours(("SA", "SU"), "07:30", "11:00"))
CLUB_EVENINGS = (OpeningHours(("TU", "TH"), "19:00", "21:00"),)
WEEKDAY_EVENINGS = (OpeningHours(_WEEKDAYS, "17:30", "21:30"),)
NIGHT_SHIFT = (OpeningHours(_EVERY_DAY, "22:00", "06:00"),)  # runs past midnight
WEEKEND_NIGHTS = (OpeningHours(("FR", "SA"), "20:00", "02:00"),)

_SHELTER_NAMES = ("Hoa Sen", "Bình An", "Ánh Dương", "Hướng Dương", "Sao Mai", "An Yên", "Hoa Ban", "Bình Minh")
_MOBILE_PREFIXES = ("091", "094", "088", "098", "097", "096", "086", "083", "085", "081")


# ---------------------------------------------------------------------------------------
# Building blocks shared by providers() and generate()

@dataclass(frozen=True)
class _Place:
    province: _Province
    district: _District
    commune: _Commune | None = None


class _Maker:
    """Makes records from one seeded random stream: ids, points, phones, verification."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    # ids, numbers ----------------------------------------------------------------------
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def landline(self, province: _Province) -> str:
        if province.local_digits == 8:  # Hà Nội: 024 3xxx xxxx
            return f"{province.area_code} 3{self.digits(3)} {self.digits(4)}"
        return f"{province.area_code} 3{self.digits(3)} {self.digits(3)}"  # 0205 3870 123

    def mobile(self) -> str:
        return f"{self.rng.choice(_MOBILE_PREFIXES)}{self.digits(1)} {self.digits(3)} {self.digits(3)}"

    def hotline(self) -> str:
        return f"1800 {self.rng.choice('56789')}{self.digits(3)}"  # toll-free

    # places ----------------------------------------------------------------------------
    def point(self, code: str) -> tuple[float, float]:
        """A uniformly random point inside the unit's circle (kept a little inside it)."""
        lat, lon, radius = centres[code]
        distance = 0.9 * radius * math.sqrt(self.rng.random())
        bearing = self.rng.random() * 2 * math.pi
        dlat = distance * math.cos(bearing) / 110.574
        dlon = distance * math.sin(bearing) / (111.320 * math.cos(math.radians(lat)))
        return round(lat + dlat, 6), round(lon + dlon, 6)

    def address(self, place: _Place) -> Address:
        district, commune, rng = place.district, place.commune, self.rng
        if district.urban:
            line = f"Số {rng.randint(1, 220)} {rng.choice(district.streets)}"
        elif commune is not None and commune.urban:
            line = f"Tổ dân phố {rng.randint(1, 12)}, {commune.lower}"
        elif commune is not None:
            line = f"Thôn {rng.randint(1, 15)}, {commune.lower}"
        else:
            road = rng.choice(district.streets)
            line = (f"Km {rng.randint(2, 45)}, {road}" if road.startswith(("Quốc lộ", "đường Hồ Chí Minh"))
                    else f"Số {rng.randint(1, 120)} {road}")
        return Address(address_1=line, city=district.name, region=place.province.name)

    def location(self, org: Organization, name: str, place: _Place, confidential: bool = False) -> Location:
        lat, lon = self.point(place.commune.code if place.commune else place.district.code)
        description = ("Địa chỉ bảo mật: chỉ cung cấp cho người có thẩm quyền." if confidential
                       else "Nơi tiếp nhận trực tiếp.")
        return Location(
            id=self.uid(), organization_id=org.id, name=name, latitude=lat, longitude=lon,
            description=description, address=self.address(place), province_code=place.province.code,
            district_code=place.district.code, commune_code=place.commune.code if place.commune else None,
            confidential=confidential, timezone=DEFAULT_TIMEZONE,
            created_at=REFERENCE_TIME, updated_at=REFERENCE_TIME)

    # records ---------------------------------------------------------------------------
    def organization(self, name: str, description: str, place: _Place, website: bool = False) -> Organization:
        slug = _slug(place.district.short)
        return Organization(
            id=self.uid(), name=name, description=description + FICTIONAL_NOTE,
            email=f"lienhe.{slug}.{self.digits(3)}@example.org",
            website=f"https://example.org/haven-demo/{slug}" if website else None,
            phone=self.landline(place.province), created_at=REFERENCE_TIME, updated_at=REFERENCE_TIME)

    def languages(self, place: _Place, chance: float = 0.6, provincial: bool = False) -> tuple[str, ...]:
        """Vietnamese, plus some of the languages spoken where the service is; a provincial
        agency may also offer the province's (English in Hà Nội)."""
        spoken = place.district.languages + (place.province.languages if provincial else ())
        chosen = [code for code in dict.fromkeys(spoken) if self.rng.random() < chance]
        return ("vi", *chosen)

    def status(self) -> str:
        roll = self.rng.random()
        return "inactive" if roll < 0.03 else "temporarily_closed" if roll < 0.08 else "active"

    def assurance(self, authority: str) -> tuple[date | None, str | None]:
        """Mostly re-verified within 90 days of REFERENCE_DATE; some overdue; some stale or never."""
        roll = self.rng.random()
        if roll < 0.80:
            days = self.rng.randint(0, 89)
        elif roll < 0.88:
            days = self.rng.randint(90, 180)
        elif roll < 0.95:
            days = self.rng.randint(181, 420)
        else:
            return None, None
        return REFERENCE_DATE - timedelta(days=days), authority

    def capacity(self, sizes: tuple[int, ...], empty_chance: float) -> Capacity:
        maximum = self.rng.choice(sizes)
        available = 0 if self.rng.random() < empty_chance else self.rng.randint(1, maximum)
        return Capacity(available, maximum, updated_at=REFERENCE_TIME)

    def service(self, org: Organization, name: str, kind: str, description: str, places: list[Location],
                areas: tuple[str, ...], authority: str, *, hours: tuple[OpeningHours, ...] = OFFICE,
                always_open: bool = False, phones: tuple[Phone, ...] = (), languages: tuple[str, ...] = ("vi",),
                gender: str = "any", minimum_age: int | None = None, maximum_age: int | None = None,
                capacity: Capacity | None = None, holidays: bool | None = None) -> Service:
        if always_open:
            hours = ()
        if holidays is None:  # offices close on public holidays; 24/7 services do not
            holidays = not always_open and self.rng.random() < 0.7
        assured_date, assured_by = self.assurance(authority)
        return Service(
            id=self.uid(), organization_id=org.id, name=name, kind=kind, description=description,
            status=self.status(), phones=phones or (Phone(org.phone or "", "Điện thoại cơ quan"),),
            languages=languages, gender=gender, minimum_age=minimum_age, maximum_age=maximum_age,
            always_open=always_open, hours=hours, closed_on=PUBLIC_HOLIDAYS if holidays else (),
            capacity=capacity, assured_date=assured_date, assured_by=assured_by, service_areas=areas,
            location_ids=tuple(loc.id for loc in places), created_at=REFERENCE_TIME, updated_at=REFERENCE_TIME)


# ---------------------------------------------------------------------------------------
# Provider templates. Each makes one organization with its locations and services, for a
# place; `tag` (empty in providers(), a number in generate()) keeps generated names apart.

Template = Callable[[_Maker, _Place, str], Bundle]


def _dolisa(place: _Place) -> str:  # the labour/social affairs authority that verifies social services
    return f"Sở LĐTBXH {place.province.lower}"


def _provincial_social_work(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Trung tâm Công tác xã hội {p.lower}{tag}",
                         "Cung cấp dịch vụ công tác xã hội: quản lý ca, tham vấn, tạm lánh và kết nối "
                         "dịch vụ cho người bị bạo lực giới.", place, website=True)
    office = m.location(org, "Trụ sở Trung tâm", place)
    refuge = m.location(org, "Cơ sở tạm lánh của Trung tâm", place, confidential=True)
    area = (p.code,)
    services = [
        m.service(org, "Quản lý ca cho người bị bạo lực giới", "social_work",
                  "Đánh giá nhu cầu, lập kế hoạch an toàn, điều phối và chuyển tuyến đến các dịch vụ phù hợp.",
                  [office], area, _dolisa(place), hours=OFFICE_AND_SATURDAY,
                  languages=m.languages(place, provincial=True)),
        m.service(org, "Tham vấn tâm lý cho phụ nữ và trẻ em", "counselling",
                  "Tham vấn cá nhân và nhóm, hỗ trợ ổn định cảm xúc sau sang chấn.", [office], area,
                  _dolisa(place), hours=OFFICE + WEEKDAY_EVENINGS,
                  languages=m.languages(place, provincial=True)),
        m.service(org, "Tham vấn cho nam giới bị bạo lực", "counselling",
                  "Tham vấn riêng cho nam giới là nạn nhân của bạo lực gia đình hoặc xâm hại.", [office], area,
                  _dolisa(place), gender="male", minimum_age=18,
                  languages=m.languages(place, 0.3, provincial=True)),
        m.service(org, "Nhà tạm lánh cho phụ nữ và con nhỏ", "shelter",
                  "Chỗ ở an toàn tạm thời, ăn ở miễn phí, có cán bộ trực 24/7; trẻ em đi cùng mẹ được tiếp nhận.",
                  [refuge], area, _dolisa(place), always_open=True, gender="female", minimum_age=18,
                  capacity=m.capacity((10, 12, 15, 20, 24), 0.25), languages=m.languages(place, provincial=True),
                  phones=(Phone(m.mobile(), "Cán bộ trực nhà tạm lánh (24/7)"),)),
    ]
    return org, [office, refuge], services


def _provincial_legal_aid(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Trung tâm Trợ giúp pháp lý Nhà nước {p.lower}{tag}",
                         "Trợ giúp pháp lý miễn phí cho người bị bạo lực gia đình, trẻ em và người thuộc "
                         "diện được trợ giúp pháp lý.", place, website=True)
    office = m.location(org, "Trụ sở Trung tâm", place)
    authority = f"Sở Tư pháp {p.lower}"
    services = [
        m.service(org, "Tư vấn pháp luật miễn phí về bạo lực gia đình", "legal_aid",
                  "Tư vấn về ly hôn, quyền nuôi con, cấp dưỡng, biện pháp cấm tiếp xúc.", [office], (p.code,),
                  authority, hours=OFFICE_AND_SATURDAY, languages=m.languages(place, 0.4, provincial=True)),
        m.service(org, "Tham gia tố tụng bảo vệ quyền lợi người bị bạo lực", "legal_aid",
                  "Cử trợ giúp viên pháp lý đại diện, bào chữa và bảo vệ quyền lợi hợp pháp tại tòa án.",
                  [office], (p.code,), authority),
    ]
    return org, [office], services


def _provincial_womens_union(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Hội Liên hiệp Phụ nữ {p.lower}{tag}",
                         "Tư vấn, hỗ trợ phụ nữ và trẻ em gái; quản lý mạng lưới địa chỉ tin cậy tại cộng đồng.",
                         place, website=True)
    office = m.location(org, "Văn phòng Hội", place)
    authority = f"Hội LHPN {p.lower}"
    services = [
        m.service(org, "Tư vấn hôn nhân gia đình và phòng, chống bạo lực giới", "counselling",
                  "Tư vấn trực tiếp và qua điện thoại; giới thiệu đến địa chỉ tin cậy và nhà tạm lánh.",
                  [office], (p.code,), authority, gender="female",
                  languages=m.languages(place, provincial=True)),
        m.service(org, f"Đường dây nóng Hội Liên hiệp Phụ nữ {p.short}", "hotline",
                  "Tiếp nhận cuộc gọi 24/7, tư vấn và kết nối hỗ trợ khẩn cấp.", [], (p.code,), authority,
                  always_open=True, languages=m.languages(place, provincial=True),
                  phones=(Phone(m.hotline(), "Đường dây nóng miễn phí 24/7"),)),
    ]
    return org, [office], services


def _provincial_hospital(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Bệnh viện Đa khoa {p.lower}{tag}",
                         "Khám chữa bệnh, cấp cứu, khám và thu thập chứng cứ y tế, hỗ trợ tâm lý.", place,
                         website=True)
    hospital = m.location(org, "Khu khám bệnh và cấp cứu", place)
    authority = f"Sở Y tế {p.lower}"
    forensic_24h = m.rng.random() < 0.5
    services = [
        m.service(org, "Cấp cứu và điều trị tổn thương do bạo lực", "health",
                  "Cấp cứu 24/7; có quy trình tiếp nhận riêng, kín đáo cho người bị bạo lực.", [hospital],
                  (p.code,), authority, always_open=True, languages=m.languages(place, 0.3, provincial=True),
                  phones=(Phone(m.landline(p), "Khoa Cấp cứu"),)),
        m.service(org, "Khám và thu thập chứng cứ y tế sau bị xâm hại tình dục", "health",
                  "Khám, điều trị dự phòng, lưu giữ chứng cứ phục vụ giám định.", [hospital], (p.code,),
                  authority, always_open=forensic_24h, hours=OFFICE_AND_SATURDAY, gender="any"),
        m.service(org, "Phòng khám tâm lý – sức khỏe tâm thần", "health",
                  "Đánh giá và điều trị rối loạn sau sang chấn, trầm cảm, lo âu.", [hospital], (p.code,),
                  authority, hours=OFFICE_AND_SATURDAY, languages=m.languages(place, 0.3, provincial=True)),
    ]
    return org, [hospital], services


def _provincial_police(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Công an {p.lower}{tag}",
                         "Tiếp nhận tin báo, tố giác tội phạm; bảo vệ và can thiệp khẩn cấp.", place)
    post = m.location(org, "Bộ phận tiếp nhận tin báo, tố giác tội phạm", place)
    service = m.service(org, "Tiếp nhận tin báo về bạo lực giới và xâm hại trẻ em", "police",
                        "Tiếp nhận 24/7, bố trí cán bộ nữ lấy lời khai khi người bị hại yêu cầu.", [post],
                        (p.code,), f"Công an {p.lower}", always_open=True,
                        phones=(Phone(m.landline(p), "Trực ban 24/7"),))
    return org, [post], [service]


def _provincial_hotline(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Tổng đài hỗ trợ người bị bạo lực giới {p.lower}{tag}",
                         "Đường dây nóng và tư vấn qua điện thoại, miễn phí.", place)
    office = m.location(org, "Văn phòng tổng đài", place)
    hotline = Phone(m.hotline(), "Tổng đài miễn phí")
    services = [
        m.service(org, f"Đường dây nóng phòng, chống bạo lực gia đình {p.short}", "hotline",
                  "Nghe máy 24/7; kết nối công an, y tế, nhà tạm lánh khi khẩn cấp.", [], (p.code,),
                  _dolisa(place), always_open=True, phones=(hotline,),
                  languages=m.languages(place, provincial=True)),
        m.service(org, "Tư vấn qua điện thoại ca đêm", "counselling",
                  "Tư vấn viên trực ca đêm từ 22:00 đến 06:00 sáng hôm sau.", [], (p.code,), _dolisa(place),
                  hours=NIGHT_SHIFT, holidays=False, phones=(hotline,),
                  languages=m.languages(place, 0.4, provincial=True)),
    ]
    return org, [office], services


def _provincial_social_protection(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Cơ sở Bảo trợ xã hội tổng hợp {p.lower}{tag}",
                         "Tiếp nhận khẩn cấp, nuôi dưỡng tạm thời người bị bạo lực và trẻ em cần bảo vệ.", place)
    site = m.location(org, "Khu tiếp nhận khẩn cấp", place, confidential=True)
    services = [
        m.service(org, "Tiếp nhận khẩn cấp người bị bạo lực", "shelter",
                  "Chỗ ở tạm thời, chăm sóc y tế ban đầu, hỗ trợ thủ tục giấy tờ.", [site], (p.code,),
                  _dolisa(place), always_open=True, minimum_age=18, capacity=m.capacity((20, 24, 30, 40), 0.2),
                  phones=(Phone(m.mobile(), "Cán bộ trực (24/7)"),), languages=m.languages(place, provincial=True)),
        m.service(org, "Chăm sóc khẩn cấp trẻ em bị xâm hại", "shelter",
                  "Nơi ở an toàn cho trẻ em dưới 18 tuổi trong thời gian chờ sắp xếp chăm sóc thay thế.",
                  [site], (p.code,), _dolisa(place), always_open=True, maximum_age=17,
                  capacity=m.capacity((6, 8, 10), 0.3), phones=(Phone(m.mobile(), "Cán bộ trực (24/7)"),)),
        m.service(org, "Tham vấn tâm lý tại cơ sở", "counselling",
                  "Tham vấn cho người đang được chăm sóc tại cơ sở và gia đình của họ.", [site], (p.code,),
                  _dolisa(place), hours=OFFICE_AND_SATURDAY),
    ]
    return org, [site], services


def _provincial_child_support(m: _Maker, place: _Place, tag: str) -> Bundle:
    p = place.province
    org = m.organization(f"Trung tâm Tư vấn và Hỗ trợ trẻ em {p.short}{tag}",
                         "Tư vấn, tham vấn cho trẻ em và cha mẹ; phòng ngừa xâm hại trẻ em.", place)
    office = m.location(org, "Phòng tư vấn", place)
    service = m.service(org, "Tham vấn cho trẻ em bị bạo lực, xâm hại", "counselling",
                        "Tham vấn thân thiện với trẻ em, có phòng riêng và chuyên viên được đào tạo.", [office],
                        (p.code,), _dolisa(place), hours=OFFICE_AND_SATURDAY, maximum_age=17,
                        languages=m.languages(place, provincial=True))
    return org, [office], [service]


def _regional_hotline(m: _Maker, place: _Place, tag: str) -> Bundle:
    org = m.organization(f"Tổng đài tư vấn phòng, chống bạo lực giới khu vực phía Bắc{tag}",
                         "Tổng đài liên tỉnh cho Hà Nội, Lạng Sơn, Ninh Bình và Thanh Hóa.", place, website=True)
    office = m.location(org, "Văn phòng điều phối", place)
    every = tuple(p.code for p in _PROVINCES)
    hotline = Phone(m.hotline(), "Tổng đài miễn phí 24/7")
    services = [
        m.service(org, "Tổng đài liên tỉnh hỗ trợ người bị bạo lực giới", "hotline",
                  "Nghe máy 24/7, có phiên dịch tiếng dân tộc theo lịch hẹn.", [], every, "Bộ LĐTBXH",
                  always_open=True, phones=(hotline,), languages=("vi", "en", "tyz", "nut", "mtq", "blt", "hmn")),
        m.service(org, "Tư vấn viên trực đêm cuối tuần", "counselling",
                  "Tư vấn qua điện thoại các đêm thứ Sáu và thứ Bảy.", [], every, "Bộ LĐTBXH",
                  hours=WEEKEND_NIGHTS, holidays=False, phones=(hotline,), languages=("vi", "en")),
    ]
    return org, [office], services


def _district_police(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    org = m.organization(f"Công an {d.lower}{tag}",
                         "Bảo vệ, can thiệp khẩn cấp và điều tra các vụ bạo lực gia đình.", place)
    post = m.location(org, "Trụ sở", place)
    services = [
        m.service(org, "Tiếp nhận tin báo và can thiệp khẩn cấp khi xảy ra bạo lực gia đình", "police",
                  "Trực 24/7; phối hợp công an xã và cơ sở y tế.", [post], (d.code,), f"Công an {place.province.lower}",
                  always_open=True, phones=(Phone(m.landline(place.province), "Trực ban 24/7"),),
                  languages=m.languages(place, 0.3)),
    ]
    if m.rng.random() < 0.5:
        services.append(m.service(
            org, "Hướng dẫn trình báo và lấy lời khai có cán bộ nữ", "police",
            "Hẹn lịch làm việc, có phòng riêng và cán bộ nữ khi người bị hại yêu cầu.", [post], (d.code,),
            f"Công an {place.province.lower}", hours=OFFICE_AND_SATURDAY))
    return org, [post], services


def _district_health(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    org = m.organization(f"Trung tâm Y tế {d.lower}{tag}",
                         "Khám chữa bệnh, cấp cứu và chuyển tuyến; khám sức khỏe sinh sản.", place)
    site = m.location(org, "Khu khám bệnh", place)
    authority = f"Sở Y tế {place.province.lower}"
    services = [
        m.service(org, "Cấp cứu và điều trị ban đầu cho người bị bạo lực", "health",
                  "Cấp cứu 24/7, ghi nhận thương tích, chuyển tuyến khi cần.", [site], (d.code,), authority,
                  always_open=True, phones=(Phone(m.landline(place.province), "Phòng Cấp cứu"),),
                  languages=m.languages(place, 0.4)),
        m.service(org, "Khám sức khỏe sinh sản và hỗ trợ sau bị xâm hại", "health",
                  "Khám phụ khoa, tránh thai khẩn cấp, dự phòng lây nhiễm.", [site], (d.code,), authority,
                  hours=OFFICE_AND_SATURDAY, gender="female", languages=m.languages(place, 0.4)),
    ]
    if m.rng.random() < 0.3:
        services.append(m.service(org, "Tư vấn sức khỏe tâm thần", "health",
                                  "Sàng lọc và tư vấn trầm cảm, lo âu, rối loạn sau sang chấn.", [site], (d.code,),
                                  authority, hours=OFFICE))
    return org, [site], services


def _district_womens_union(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    org = m.organization(f"Hội Liên hiệp Phụ nữ {d.lower}{tag}",
                         "Tư vấn cho phụ nữ, hòa giải, duy trì địa chỉ tin cậy và câu lạc bộ tại cộng đồng.", place)
    office = m.location(org, "Văn phòng Hội", place)
    authority = f"Hội LHPN {place.province.lower}"
    services = [
        m.service(org, "Tư vấn pháp luật và hôn nhân gia đình cho phụ nữ", "counselling",
                  "Tư vấn trực tiếp, giới thiệu đến trợ giúp pháp lý, y tế và địa chỉ tin cậy.", [office],
                  (d.code,), authority, gender=m.rng.choice(("female", "female", "any")),
                  languages=m.languages(place)),
    ]
    if m.rng.random() < 0.4:
        services.append(m.service(org, "Nhóm hỗ trợ đồng đẳng cho phụ nữ bị bạo lực", "counselling",
                                  "Sinh hoạt nhóm buổi tối, có người dẫn dắt được tập huấn.", [office], (d.code,),
                                  authority, hours=CLUB_EVENINGS, gender="female", minimum_age=18,
                                  languages=m.languages(place)))
    return org, [office], services


def _district_social_affairs(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    org = m.organization(f"Phòng Lao động - Thương binh và Xã hội {d.lower}{tag}",
                         "Tiếp nhận, đánh giá và điều phối hỗ trợ; bảo vệ trẻ em.", place)
    office = m.location(org, "Bộ phận một cửa", place)
    authority = _dolisa(place)
    services = [
        m.service(org, "Tiếp nhận, đánh giá nhu cầu và chuyển tuyến", "social_work",
                  "Cán bộ xã hội tiếp nhận, lập hồ sơ ca và chuyển tuyến đến dịch vụ phù hợp.", [office],
                  (d.code,), authority, languages=m.languages(place)),
    ]
    if m.rng.random() < 0.3:
        services.append(m.service(org, "Hỗ trợ trẻ em bị bạo lực, xâm hại", "social_work",
                                  "Đánh giá an toàn, lập kế hoạch hỗ trợ và theo dõi trẻ em.", [office], (d.code,),
                                  authority, maximum_age=17, languages=m.languages(place)))
    return org, [office], services


def _district_legal_aid(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    org = m.organization(f"Chi nhánh Trợ giúp pháp lý {d.lower}{tag}",
                         "Chi nhánh của Trung tâm Trợ giúp pháp lý Nhà nước cấp tỉnh.", place)
    office = m.location(org, "Trụ sở chi nhánh", place)
    service = m.service(org, "Tư vấn và đại diện pháp lý miễn phí cho người bị bạo lực", "legal_aid",
                        "Tư vấn, soạn đơn, đại diện ngoài tố tụng và tham gia tố tụng.", [office], (d.code,),
                        f"Sở Tư pháp {place.province.lower}", hours=m.rng.choice((OFFICE, OFFICE_AND_SATURDAY)),
                        languages=m.languages(place, 0.4))
    return org, [office], [service]


def _district_shelter(m: _Maker, place: _Place, tag: str) -> Bundle:
    d = place.district
    name = m.rng.choice(_SHELTER_NAMES)
    org = m.organization(f"Nhà tạm lánh {name} {d.short}{tag}",
                         "Nhà tạm lánh do tổ chức xã hội vận hành, phối hợp với Hội LHPN và công an địa phương.",
                         place)
    house = m.location(org, f"Nhà tạm lánh {name}", place, confidential=True)
    authority = f"Phòng LĐTBXH {d.lower}"
    open_all_day = m.rng.random() < 0.7
    intake = OFFICE_AND_SATURDAY if m.rng.random() < 0.5 else OFFICE + NIGHT_SHIFT  # night intake by phone call
    services = [
        m.service(org, "Chỗ ở an toàn tạm thời cho phụ nữ", "shelter",
                  "Tối đa 30 ngày; ăn ở, đi lại và hỗ trợ pháp lý miễn phí.", [house], (d.code,), authority,
                  always_open=open_all_day, hours=intake, gender="female",
                  minimum_age=18, capacity=m.capacity((4, 6, 8, 10, 12), 0.3), languages=m.languages(place),
                  phones=(Phone(m.mobile(), "Người phụ trách"),)),
    ]
    if m.rng.random() < 0.4:
        services.append(m.service(org, "Chỗ ở khẩn cấp cho trẻ em", "shelter",
                                  "Tiếp nhận trẻ em cùng mẹ hoặc trẻ em không có người chăm sóc an toàn.", [house],
                                  (d.code,), authority, always_open=True, maximum_age=17,
                                  capacity=m.capacity((2, 4, 6), 0.4), languages=m.languages(place)))
    if m.rng.random() < 0.6:
        services.append(m.service(org, "Tham vấn tâm lý tại nhà tạm lánh", "counselling",
                                  "Tham vấn cá nhân cho người đang tạm lánh.", [house], (d.code,), authority,
                                  hours=OFFICE + WEEKDAY_EVENINGS, gender="female", languages=m.languages(place)))
    return org, [house], services


def _commune_health_station(m: _Maker, place: _Place, tag: str) -> Bundle:
    c = place.commune
    org = m.organization(f"Trạm Y tế {c.lower}{tag}",
                         "Sơ cứu, khám chữa bệnh ban đầu và chuyển tuyến.", place)
    station = m.location(org, "Trạm Y tế", place)
    round_the_clock = m.rng.random() < 0.3
    service = m.service(org, "Sơ cứu, khám và chuyển tuyến người bị bạo lực", "health",
                        "Sơ cứu, ghi nhận thương tích, giới thiệu đến Trung tâm Y tế và công an.", [station],
                        (c.code,), f"Trung tâm Y tế {place.district.lower}", always_open=round_the_clock,
                        hours=HEALTH_STATION, languages=m.languages(place))
    return org, [station], [service]


def _commune_trusted_address(m: _Maker, place: _Place, tag: str) -> Bundle:
    c = place.commune
    hamlet = m.rng.randint(1, 12)
    kind = "tổ dân phố" if c.urban else "thôn"
    org = m.organization(f"Chi hội Phụ nữ {kind} {hamlet}, {c.lower}{tag}",
                         "Vận hành địa chỉ tin cậy tại cộng đồng: tiếp nhận, che chở tạm thời và báo tin.", place)
    home = m.location(org, "Địa chỉ tin cậy", place, confidential=True)
    capacity = m.capacity((1, 2, 3), 0.3) if m.rng.random() < 0.6 else None
    service = m.service(org, f"Địa chỉ tin cậy {kind} {hamlet}", "trusted_address",
                        "Hộ gia đình tin cậy che chở tạm thời, báo tin cho công an xã và Hội Phụ nữ.", [home],
                        # the district, not the commune: the area served must not point at the home
                        (place.district.code,), f"Hội LHPN {place.district.lower}", always_open=True,
                        gender="female",
                        capacity=capacity, languages=m.languages(place),
                        phones=(Phone(m.mobile(), "Người phụ trách địa chỉ tin cậy"),))
    return org, [home], [service]


def _commune_club(m: _Maker, place: _Place, tag: str) -> Bundle:
    c = place.commune
    org = m.organization(f"Câu lạc bộ Phòng, chống bạo lực gia đình {c.lower}{tag}",
                         "Câu lạc bộ cộng đồng do Hội Phụ nữ và Mặt trận xã duy trì.", place)
    hall = m.location(org, "Nhà văn hóa", place)
    service = m.service(org, "Tư vấn, hòa giải và sinh hoạt câu lạc bộ", "counselling",
                        "Sinh hoạt định kỳ buổi tối; tư vấn, hòa giải và giới thiệu dịch vụ.", [hall], (c.code,),
                        f"Hội LHPN {place.district.lower}", hours=m.rng.choice((CLUB_EVENINGS, WEEKDAY_EVENINGS)),
                        languages=m.languages(place, 0.8), phones=(Phone(m.mobile(), "Chủ nhiệm câu lạc bộ"),))
    return org, [hall], [service]


PROVINCE_TEMPLATES: tuple[Template, ...] = (
    _provincial_social_work, _provincial_legal_aid, _provincial_womens_union, _provincial_hospital,
    _provincial_police, _provincial_hotline, _provincial_social_protection, _provincial_child_support,
)
DISTRICT_TEMPLATES: tuple[Template, ...] = (
    _district_police, _district_health, _district_womens_union, _district_social_affairs,
    _district_legal_aid, _district_shelter,
)
COMMUNE_TEMPLATES: tuple[Template, ...] = (_commune_health_station, _commune_trusted_address, _commune_club)

_ALWAYS_SHELTERED = {"183", "390"}  # Cao Lộc and Cẩm Thủy always get a shelter in the demo set


def _capital_place(m: _Maker, province: _Province) -> _Place:
    district = _DISTRICT[m.rng.choice(province.capitals)]
    communes = _COMMUNES_OF[district.code]
    commune = m.rng.choice(communes) if communes and m.rng.random() < 0.5 else None
    return _Place(province, district, commune)


# ---------------------------------------------------------------------------------------
# Public entry points

def providers(seed: int = 2026) -> list[Bundle]:
    """The demo set: every province's agencies, every district's, every listed commune's."""
    m = _Maker(seed)
    bundles: list[Bundle] = [_regional_hotline(m, _capital_place(m, _PROVINCE["01"]), "")]
    for province in _PROVINCES:
        for template in PROVINCE_TEMPLATES:
            bundles.append(template(m, _capital_place(m, province), ""))
        for district in _DISTRICTS_OF[province.code]:
            place = _Place(province, district)
            for template in (_district_police, _district_health, _district_womens_union, _district_social_affairs):
                bundles.append(template(m, place, ""))
            if district.code in province.capitals or m.rng.random() < 0.5:
                bundles.append(_district_legal_aid(m, place, ""))
            if district.code in _ALWAYS_SHELTERED or m.rng.random() < 0.4:
                bundles.append(_district_shelter(m, place, ""))
            for commune in _COMMUNES_OF[district.code]:
                commune_place = _Place(province, district, commune)
                bundles.append(_commune_health_station(m, commune_place, ""))
                bundles.append(_commune_trusted_address(m, commune_place, ""))
                if m.rng.random() < 0.7:
                    bundles.append(_commune_club(m, commune_place, ""))
    return bundles


def generate(n: int, seed: int = 1) -> Iterator[Bundle]:
    """Yield organizations with their locations and services until exactly `n` services have
    been produced (the last organization keeps only the services still needed). Lazy and
    memory-light: nothing is kept between yields."""
    if n < 0:
        raise ValueError("n cannot be negative")
    m = _Maker(seed)
    districts = tuple(_DISTRICT.values())
    communes = tuple(_COMMUNE.values())
    produced, serial = 0, 0
    while produced < n:
        serial += 1
        tag = f" – cơ sở {serial}"
        roll = m.rng.random()
        if roll < 0.15:
            province = m.rng.choice(_PROVINCES)
            template, place = m.rng.choice(PROVINCE_TEMPLATES), _capital_place(m, province)
        elif roll < 0.65:
            district = m.rng.choice(districts)
            template, place = m.rng.choice(DISTRICT_TEMPLATES), _Place(_PROVINCE[district.province], district)
        else:
            commune = m.rng.choice(communes)
            district = _DISTRICT[commune.district]
            template = m.rng.choice(COMMUNE_TEMPLATES)
            place = _Place(_PROVINCE[district.province], district, commune)
        org, locations, services = template(m, place, tag)
        services = services[:n - produced]
        produced += len(services)
        yield org, locations, services


# ---------------------------------------------------------------------------------------
# Text helpers

def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _short(name: str) -> str:
    for prefix in ("Thành phố ", "Thị xã ", "Quận ", "Huyện ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return "-".join(plain.lower().split())
