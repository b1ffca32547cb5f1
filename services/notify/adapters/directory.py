"""The organization's contact e-mail, from the directory (for organizations that have no
e-mail subscription). Cached for a few minutes per worker: a burst of referrals to one
shelter asks once."""
from __future__ import annotations

import threading
import time

import requests

from haven.platform.http_client import HttpClient

from ..service_layer.ports import DirectoryUnavailable


class OrganizationContacts:
    def __init__(self, base_url: str, cache_for: float = 300.0, timeout: tuple[float, float] = (1.0, 3.0)):
        self.client = HttpClient(base_url, timeout=timeout)
        self.cache_for = cache_for
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def email(self, organization_id: str) -> str | None:
        """The contact e-mail, None if it has none or does not exist; DirectoryUnavailable."""
        with self._lock:
            cached = self._cache.get(organization_id)
        if cached and time.monotonic() - cached[0] < self.cache_for:
            return cached[1]
        try:
            answer = self.client.get(f"/v1/organizations/{organization_id}")
        except requests.RequestException as exc:
            raise DirectoryUnavailable(type(exc).__name__) from None
        if answer.status_code in (400, 404):
            email = None
        elif answer.status_code != 200:
            raise DirectoryUnavailable(f"http_{answer.status_code}")
        else:
            email = answer.json().get("email") or None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[organization_id] = (time.monotonic(), email)
        return email
