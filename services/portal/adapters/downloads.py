"""Files from Haven's APIs (the yearly report, XLSX or CSV), as the signed-in person.

HavenApi reads JSON; a report is bytes. This asks through the same client (its base URL,
time-outs and no proxy from the environment) and turns a refusal into the same portal
refusals (`refusal_for`), so a 403 or a referral service that is down reads as on any page.
"""
from __future__ import annotations

import logging
import re

import requests

from ..domain import errors
from ..service_layer.indicators import Download
from .haven_api import HavenApi, refusal_for

log = logging.getLogger("haven.portal.api")

_FILENAME = re.compile(r'filename="?([A-Za-z0-9._-]+)"?')
MAX_BYTES = 20 * 1024 * 1024  # a yearly report is a few hundred KB; anything far larger is not one


class ApiDownloads:
    def __init__(self, api: HavenApi, fallback_name: str = "haven-report"):
        self.api = api
        self.fallback_name = fallback_name

    def fetch(self, path: str, token: str, params: dict | None = None) -> Download:
        headers = {"Accept": "*/*", "Authorization": f"Bearer {token}"}
        try:
            response = self.api.client.request("GET", path, params=params, headers=headers)
        except requests.RequestException as exc:
            log.warning("service not answering", extra={"service": self.api.service, "error": type(exc).__name__})
            raise errors.ServiceDown(self.api.service) from None
        if response.status_code >= 400:
            raise refusal_for(self.api.service, response)
        if len(response.content) > MAX_BYTES:
            log.warning("a file larger than expected was refused", extra={"service": self.api.service})
            raise errors.ServiceDown(self.api.service)
        found = _FILENAME.search(response.headers.get("Content-Disposition", ""))
        return Download(response.content, response.headers.get("Content-Type", "application/octet-stream"),
                        found.group(1) if found else self.fallback_name)
