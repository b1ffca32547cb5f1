"""What the referral service needs from the directory: does this service exist, is it
active, which organization runs it and what kind is it. Asked over HTTP, every time.

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
from dataclasses import dataclass

import requests

from haven.platform.http_client import HttpClient


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    organization_id: str
    kind: str
    active: bool


class UnknownService(Exception):
    pass


class DirectoryUnavailable(Exception):
    pass


class DirectoryLookup:
    def __init__(self, base_url: str, stale_for: float = 600.0, max_entries: int = 5000,
                 timeout: tuple[float, float] = (1.0, 3.0)):
        self.client = HttpClient(base_url, timeout=timeout)
        self.stale_for = stale_for
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, ServiceInfo]] = OrderedDict()
        self._lock = threading.Lock()

    def service(self, service_id: str) -> ServiceInfo:
        try:
            answer = self.client.get(f"/v1/services/{service_id}")
        except requests.RequestException as exc:
            return self._cached(service_id, f"the directory is unreachable ({type(exc).__name__})")
        if answer.status_code == 404 or answer.status_code == 400:
            raise UnknownService(service_id)
        if answer.status_code != 200:
            return self._cached(service_id, f"the directory answered {answer.status_code}")
        body = answer.json()
        info = ServiceInfo(id=body["id"], organization_id=body["organization_id"], kind=body["kind"],
                           active=body.get("status", "active") == "active")
        with self._lock:
            self._cache[service_id] = (time.monotonic(), info)
            self._cache.move_to_end(service_id)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return info

    def _cached(self, service_id: str, why: str) -> ServiceInfo:
        with self._lock:
            entry = self._cache.get(service_id)
        if entry is not None and time.monotonic() - entry[0] <= self.stale_for:
            return entry[1]
        raise DirectoryUnavailable(why)

    def check(self) -> None:
        # Short: readiness is probed every few seconds and must answer promptly itself.
        self.client.get("/healthz", timeout=(0.5, 1.0)).raise_for_status()
