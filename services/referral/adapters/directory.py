"""What the referral service needs from the directory: does this service exist, is it
active, which organization runs it, what kind is it and in which area (province, district,
commune codes of its first location, as the directory tells anyone: a confidential
location's commune is not told, so not recorded). Asked over HTTP, every time.

When the directory cannot be reached, an answer it gave in the last `stale_for` seconds
(10 minutes by default) is used, from a bounded in-memory cache (`max_entries` services
per worker process): an emergency referral to a shelter the caseworker just found in
search still goes through while the directory restarts. A service never looked up in
that window gets 503. A 404 from the directory is never cached: the next try asks again.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from urllib.parse import quote

import requests

from haven.platform.http_client import HttpClient

from ..domain.place import UNKNOWN_AREA, ReceivingArea
from ..service_layer.errors import DirectoryUnavailable, UnknownService
from ..service_layer.ports import ServiceInfo


class DirectoryLookup:
    def __init__(self, base_url: str, stale_for: float = 600.0, max_entries: int = 5000,
                 timeout: tuple[float, float] = (1.0, 3.0)):
        self.client = HttpClient(base_url, timeout=timeout)
        self.stale_for = stale_for
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, ServiceInfo]] = OrderedDict()
        self._lock = threading.Lock()
        self._kinds: tuple[float, frozenset[str]] | None = None

    def service(self, service_id: str) -> ServiceInfo:
        try:
            answer = self.client.get(f"/v1/services/{quote(str(service_id), safe='')}")
        except requests.RequestException as exc:
            return self._cached(service_id, f"the directory is unreachable ({type(exc).__name__})")
        if answer.status_code in (400, 404):
            raise UnknownService(service_id)
        if answer.status_code != 200:
            return self._cached(service_id, f"the directory answered {answer.status_code}")
        try:
            body = answer.json()
            info = ServiceInfo(id=str(body["id"]), organization_id=str(body["organization_id"]),
                               kind=str(body["kind"]), active=body.get("status", "active") == "active",
                               area=self._area(body.get("location_ids") or ()))
        except (ValueError, KeyError, TypeError):
            return self._cached(service_id, "the directory gave an answer that is not a service")
        if info.id != str(service_id):
            raise UnknownService(service_id)
        with self._lock:
            self._cache[service_id] = (time.monotonic(), info)
            self._cache.move_to_end(service_id)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return info

    def _area(self, location_ids) -> ReceivingArea:
        """The area of the service's first location; unknown when it has none or it cannot
        be read (the referral is not held up for a statistic's sake)."""
        if not location_ids:
            return UNKNOWN_AREA
        try:
            answer = self.client.get(f"/v1/locations/{quote(str(location_ids[0]), safe='')}")
            if answer.status_code != 200:
                return UNKNOWN_AREA
            body = answer.json()
            return ReceivingArea(body.get("province_code"), body.get("district_code"), body.get("commune_code"))
        except (requests.RequestException, ValueError, AttributeError):
            return UNKNOWN_AREA

    def kinds(self) -> frozenset[str]:
        """The directory's service kind codes (what `services_requested` may name): a
        closed list, so free text can never ride along in an event."""
        with self._lock:
            fetched = self._kinds
        if fetched is not None and time.monotonic() - fetched[0] <= self.stale_for:
            return fetched[1]
        try:
            answer = self.client.get("/v1/kinds")
            answer.raise_for_status()
            codes = frozenset(str(kind["code"]) for kind in answer.json())
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            if fetched is not None:
                return fetched[1]
            raise DirectoryUnavailable(f"the directory's service kinds are unavailable ({type(exc).__name__})") from None
        with self._lock:
            self._kinds = (time.monotonic(), codes)
        return codes

    def area_names(self) -> dict[str, str]:
        """Area code -> name, for a report's rows; empty when the directory cannot say (the
        report then shows codes: it is never held up for a name)."""
        return self._names("/v1/areas", "name")

    def kind_names(self, language: str) -> dict[str, str]:
        return self._names("/v1/kinds", "name_en" if language == "en" else "name_vi")

    def _names(self, path: str, field: str) -> dict[str, str]:
        try:
            answer = self.client.get(path)
            answer.raise_for_status()
            return {str(item["code"]): str(item[field]) for item in answer.json()}
        except (requests.RequestException, ValueError, KeyError, TypeError):
            return {}

    def _cached(self, service_id: str, why: str) -> ServiceInfo:
        with self._lock:
            entry = self._cache.get(service_id)
        if entry is not None and time.monotonic() - entry[0] <= self.stale_for:
            return entry[1]
        raise DirectoryUnavailable(why)

    def check(self) -> None:
        # Short: readiness is probed every few seconds and must answer promptly itself.
        self.client.get("/healthz", timeout=(0.5, 1.0)).raise_for_status()
