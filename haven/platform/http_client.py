"""Outgoing HTTP calls between services, carrying the caller's request id.

Every call has a timeout (a hung dependency must not hang a caseworker's request) and
passes the current request id on as X-Request-ID, so one id follows a request across
services and, later, into the events it causes.
"""
from __future__ import annotations

import requests

from .logging import current_request_id

DEFAULT_TIMEOUT = (2.0, 5.0)  # connect, read (seconds)


class HttpClient:
    def __init__(self, base_url: str, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        request_id = current_request_id()
        if request_id and "X-Request-ID" not in headers:
            headers["X-Request-ID"] = request_id
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)
