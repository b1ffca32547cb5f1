"""The portal as a browser without JavaScript sees it: plain HTTP, cookies, forms with
their CSRF token. For page tests that need no real browser (faster than Playwright)."""
from __future__ import annotations

import html
import re

import requests

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class PortalClient:
    def __init__(self, base_url: str, language: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        if language:
            self.http.cookies.set("haven_lang", language)
        self.last: requests.Response | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        self.last = self.http.get(self.base_url + path, timeout=15, **kwargs)
        return self.last

    def csrf(self, page: requests.Response | None = None) -> str:
        """The CSRF token of a page (by default the last one fetched)."""
        found = _CSRF.search((page or self.last or self.get("/sign-in")).text)
        assert found, "the page has no form with a CSRF token"
        return html.unescape(found.group(1))

    def post(self, path: str, data: dict | list | None = None, *, csrf: str | None = None,
             **kwargs) -> requests.Response:
        """POST a form with a CSRF token (taken from the last page unless given)."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        token = csrf or self.csrf()
        self.last = self.http.post(self.base_url + path, data=[("csrf_token", token), *fields], timeout=15, **kwargs)
        return self.last

    def sign_in(self, username: str, password: str = "haven-demo") -> "PortalClient":
        self.get("/sign-in")
        answer = self.post("/sign-in", {"username": username, "password": password, "next": "/"})
        assert answer.ok, f"sign-in as {username} failed: {answer.status_code}"
        return self


def text_of(page: requests.Response | str) -> str:
    """The words a person reads on the page (tags dropped, spaces collapsed)."""
    body = page if isinstance(page, str) else page.text
    body = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()
