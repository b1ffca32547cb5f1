"""Directory domain: providers of help, in the words of HSDS and the GBV programme.

Pure Python: no Flask, no SQL. Every aggregate carries a `version` that grows by one on
each change; the API exposes it as an ETag so two administrators never silently
overwrite each other's edits.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone

from .errors import NotOwnOrganization, VersionConflict
from .text import composed

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
STALE_AFTER_DAYS = 180  # a record nobody has re-verified for six months is flagged
MAX_CAPACITY = 10_000  # places at one service; far above any shelter, far below overflow

# Codes of the programme's provider kinds (DOMAIN.md). The taxonomy is extensible: the
# database holds the list, these are the ones every installation starts with.
BASE_KINDS = {
    "shelter": ("Nhà tạm lánh", "Shelter", True),
    "trusted_address": ("Địa chỉ tin cậy", "Trusted address", True),
    "social_work": ("Trung tâm công tác xã hội", "Social work centre", False),
    "health": ("Cơ sở y tế", "Health care", False),
    "legal_aid": ("Trợ giúp pháp lý", "Legal aid", False),
    "police": ("Công an", "Police", False),
    "counselling": ("Tư vấn, tham vấn", "Counselling", False),
    "hotline": ("Đường dây nóng", "Hotline", False),
}
STATUSES = ("active", "inactive", "temporarily_closed")
GENDERS = ("any", "female", "male")  # who a service accepts
AREA_LEVELS = ("province", "district", "commune")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 BYDAY, as HSDS uses


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def _compose(record, *names: str) -> None:
    """Store the record's free text in composed form (NFC), however it was typed or imported:
    every way in (API, imports, the database, the search index) builds records here."""
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str):
            object.__setattr__(record, name, composed(value))  # frozen dataclass: before anyone sees it


class Versioned:
    EDITABLE: tuple[str, ...] = ()

    def revise(self, expected_version: int, **changes):
        if expected_version != self.version:
            raise VersionConflict(type(self).__name__.lower(), self.id, expected_version, self.version)
        unknown = set(changes) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        return replace(self, **changes, version=self.version + 1, updated_at=now())


@dataclass(frozen=True)
class Centre:
    """A point inside an area (WGS 84 degrees) that "near this commune" searches around: its
    office or its middle, not a boundary. Both numbers or no centre at all."""

    latitude: float
    longitude: float

    def __post_init__(self):
        if not (-90 <= self.latitude <= 90 and -180 <= self.longitude <= 180):  # also refuses NaN
            raise ValueError(f"not a point on Earth: {self.latitude}, {self.longitude}")


@dataclass(frozen=True)
class Area:
    """An administrative unit: province, (former) district or commune, with its official code
    and, when known, a centre to search around."""

    code: str
    name: str
    level: str
    parent_code: str | None = None
    centre: Centre | None = None

    def __post_init__(self):
        _compose(self, "name")


@dataclass(frozen=True)
class Kind:
    code: str
    name_vi: str
    name_en: str
    confidential_by_default: bool = False

    def __post_init__(self):
        _compose(self, "name_vi", "name_en")


@dataclass(frozen=True)
class Organization(Versioned):
    """An agency that provides services: a shelter operator, a social work centre, a
    district police station, the provincial Women's Union."""

    id: str
    name: str
    description: str = ""
    email: str | None = None
    website: str | None = None
    phone: str | None = None
    version: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    EDITABLE = ("name", "description", "email", "website", "phone")

    def __post_init__(self):
        _compose(self, "name", "description")


@dataclass(frozen=True)
class Address:
    address_1: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "VN"

    def __post_init__(self):
        _compose(self, "address_1", "city", "region")


@dataclass(frozen=True)
class Location(Versioned):
    """A place where services are delivered. A confidential location (a shelter, a trusted
    address) never shows its street address or coordinates to a caller without the
    `directory:confidential` permission."""

    id: str
    organization_id: str
    name: str
    latitude: float | None = None
    longitude: float | None = None
    description: str = ""
    address: Address = field(default_factory=Address)
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    confidential: bool = False
    timezone: str = DEFAULT_TIMEZONE
    version: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    EDITABLE = ("organization_id", "name", "latitude", "longitude", "description", "address",
                "province_code", "district_code", "commune_code", "confidential", "timezone")

    def __post_init__(self):
        _compose(self, "name", "description")

    @property
    def area_codes(self) -> tuple[str, ...]:
        return tuple(c for c in (self.province_code, self.district_code, self.commune_code) if c)


@dataclass(frozen=True)
class Phone:
    number: str
    description: str = ""

    def __post_init__(self):
        _compose(self, "description")


@dataclass(frozen=True)
class OpeningHours:
    """Open on `byday` from `opens_at` to `closes_at` (local "HH:MM"). A closing time at or
    before the opening time runs past midnight (22:00-06:00)."""

    byday: tuple[str, ...]
    opens_at: str
    closes_at: str


@dataclass(frozen=True)
class Capacity:
    available: int
    maximum: int
    updated_at: datetime = field(default_factory=now)


@dataclass(frozen=True)
class Service(Versioned):
    """What a survivor can get from an organization: a bed, a forensic exam, legal advice."""

    id: str
    organization_id: str
    name: str
    kind: str
    description: str = ""
    status: str = "active"
    email: str | None = None
    url: str | None = None
    phones: tuple[Phone, ...] = ()
    languages: tuple[str, ...] = ("vi",)
    gender: str = "any"
    minimum_age: int | None = None
    maximum_age: int | None = None
    free_of_charge: bool = True
    fees_description: str = ""
    always_open: bool = False
    hours: tuple[OpeningHours, ...] = ()
    closed_on: tuple[date, ...] = ()  # public holidays and other closures
    capacity: Capacity | None = None
    assured_date: date | None = None
    assured_by: str | None = None
    service_areas: tuple[str, ...] = ()  # area codes the service covers
    location_ids: tuple[str, ...] = ()  # service_at_location
    version: int = 1
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)

    # Capacity is not editable with the rest: it has its own fast path (`with_capacity`).
    EDITABLE = ("organization_id", "name", "kind", "description", "status", "email", "url", "phones",
                "languages", "gender", "minimum_age", "maximum_age", "free_of_charge", "fees_description",
                "always_open", "hours", "closed_on", "assured_date", "assured_by",
                "service_areas", "location_ids")

    def __post_init__(self):
        _compose(self, "name", "description", "fees_description", "assured_by")

    def with_capacity(self, available: int, maximum: int) -> "Service":
        """The fast path a shelter uses many times a day. A bed count is a fresh observation,
        not an edit of someone else's text, so it needs no If-Match and does not change the
        version: an administrator editing the description is never refused because beds
        were counted meanwhile, and her edit cannot overwrite the count (PUT ignores it)."""
        if maximum < 0 or available < 0:
            raise ValueError("capacity cannot be negative")
        if maximum > MAX_CAPACITY:
            raise ValueError(f"capacity cannot exceed {MAX_CAPACITY}")
        if available > maximum:
            raise ValueError("available cannot exceed maximum")
        return replace(self, capacity=Capacity(available, maximum))

    def check_capacity_reporter(self, organization_id: str | None, any_organization: bool) -> None:
        """Directory admins (`any_organization`) report any service's free places; agency
        staff only their own organization's."""
        if not any_organization and organization_id != self.organization_id:
            raise NotOwnOrganization("Agency staff may update the capacity of their own organization's services only.")

    def is_stale(self, today: date) -> bool:
        return self.assured_date is None or (today - self.assured_date).days > STALE_AFTER_DAYS
