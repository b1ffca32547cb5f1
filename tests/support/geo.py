"""Points at a known great-circle distance, for tests of distance filters."""
import math

from services.directory.domain.search import EARTH_RADIUS_KM


def destination(origin: tuple[float, float], km: float, bearing_degrees: float) -> tuple[float, float]:
    """Where `km` along the great circle leaving `origin` at `bearing_degrees` (from north,
    clockwise) ends, its longitude in [-180, 180)."""
    lat1, lon1, bearing = map(math.radians, (origin[0], origin[1], bearing_degrees))
    angle = km / EARTH_RADIUS_KM
    lat2 = math.asin(math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(bearing))
    lon2 = lon1 + math.atan2(math.sin(bearing) * math.sin(angle) * math.cos(lat1),
                             math.cos(angle) - math.sin(lat1) * math.sin(lat2))
    return math.degrees(lat2), (math.degrees(lon2) + 180) % 360 - 180
