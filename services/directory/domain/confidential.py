"""What a caller without the `directory:confidential` permission may learn of a confidential
location, and find it by: the one rule the search indexes (what they match and measure),
the listings they return and the HSDS export all take from here.

Such a caller is told what a caseworker needs to choose a service — the location's name,
district and province (and its country) — and nothing that could lead someone to the door:
not its coordinates, street address, commune or directions (its description). Nor can she
find it by them: not by their words, not by its commune, and not by its exact position, as
distances to it are measured from the centre of its grid cell and shown in whole kilometres.
Everyone else, and everyone for a location that is not confidential, learns all of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .model import Address, Location

CONFIDENTIAL_PERMISSION = "directory:confidential"


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as far as confidentiality cares."""

    can_see_confidential: bool = False


PUBLIC = Viewer(can_see_confidential=False)

# A confidential location is placed, for callers who may not know where it is, at the
# centre of its grid cell (0.02 degrees: about 2 by 2 km in Vietnam), and distances to it
# are rounded to whole kilometres. Rounding alone is not enough: a caller who moves her
# origin could find where a rounded distance flips and triangulate the exact point.
PUBLIC_GRID_DEGREES = 0.02


def public_position(latitude: float, longitude: float) -> tuple[float, float]:
    """Where search may say a confidential location is: the centre of its grid cell."""
    g = PUBLIC_GRID_DEGREES
    return ((math.floor(latitude / g) + 0.5) * g, (math.floor(longitude / g) + 0.5) * g)


# The fields of a location a caller may be told, or not, and the texts search matches in
# them (an area by its name).
PLACE_FIELDS = ("name", "address", "description", "province_code", "district_code", "commune_code")
AREA_FIELDS = ("province_code", "district_code", "commune_code")


def place_texts(location: Location, area_names: dict) -> dict[str, str]:
    """The searchable text of each of a location's fields (PLACE_FIELDS)."""
    texts = {"name": location.name, "address": f"{location.address.address_1} {location.address.city}",
             "description": location.description}
    for level in AREA_FIELDS:
        code = getattr(location, level)
        texts[level] = area_names.get(code, "") if code else ""
    return texts


@dataclass(frozen=True)
class Disclosure:
    """How much of one location one viewer may learn, and find it by."""

    # Fields told neither in what the location shows nor in what it is found by; "latitude"
    # and "longitude" stand for its exact position.
    withheld: frozenset[str]
    # Decimals of a distance to it as shown: 2 (ten metres), or 0 (whole kilometres).
    distance_decimals: int

    @property
    def guarded(self) -> bool:
        return bool(self.withheld)

    def location(self, location: Location) -> Location:
        """The location as this viewer is shown it."""
        if not self.guarded:
            return location
        return replace(location, latitude=None, longitude=None, commune_code=None, description="",
                       address=Address(address_1="", city="", region="", postal_code="",
                                       country=location.address.country))

    def position(self, latitude: float, longitude: float) -> tuple[float, float]:
        """Where distances to a location at (latitude, longitude) are measured from."""
        return public_position(latitude, longitude) if "latitude" in self.withheld else (latitude, longitude)

    def distance(self, km: float) -> float:
        """A distance measured from `position`, as shown (and compared with a radius)."""
        return round(km, self.distance_decimals)

    def reach(self, radius_km: float) -> float:
        """How far from `position` a location may lie and still be shown within the radius:
        up to the radius's last shown digit, plus half of one (where rounding tips over)."""
        scale = 10 ** self.distance_decimals
        return math.floor(radius_km * scale) / scale + 0.5 / scale

    def areas(self, location: Location) -> tuple[str, ...]:
        """The area codes a search may find the location in (its own areas, that is)."""
        return tuple(code for level in AREA_FIELDS if level not in self.withheld
                     for code in (getattr(location, level),) if code)

    def texts(self, location: Location, area_names: dict) -> dict[str, str]:
        """The location's searchable texts (`place_texts`) a search may find it by."""
        return {name: text for name, text in place_texts(location, area_names).items() if name not in self.withheld}


WHOLE = Disclosure(withheld=frozenset(), distance_decimals=2)
GUARDED = Disclosure(withheld=frozenset({"latitude", "longitude", "address", "description", "commune_code"}),
                     distance_decimals=0)


def disclosure(viewer: Viewer, confidential: bool) -> Disclosure:
    """The rule: how much of a location (confidential or not) a viewer may learn."""
    return GUARDED if confidential and not viewer.can_see_confidential else WHOLE
