"""HTTP to one of Haven's services, as the signed-in person.

Every call carries the person's own bearer token (the portal has no power of its own) and
the request id, waits at most PORTAL_API_TIMEOUT_SECONDS, and turns an answer that is not
a success into the portal's refusals (domain/errors.py): a page never sees raw
problem+json, and a service that is down is named, not a 500.
"""
from __future__ import annotations

import logging

import orjson
import requests

from haven.platform.http_client import HttpClient

from ..domain import errors
from ..service_layer.ports import Reply

log = logging.getLogger("haven.portal.api")


class HavenApi:
    def __init__(self, service: str, base_url: str, timeout_seconds: float):
        self.service = service
        self.client = HttpClient(base_url, timeout=(min(2.0, timeout_seconds), timeout_seconds))
        # The APIs are the deployment's own: no proxy from the environment. (requests would
        # otherwise read the whole environment for proxy settings on every call of every page.)
        self.client.session.trust_env = False

    def get(self, path: str, token: str | None, params: dict | None = None) -> Reply:
        return self._call("GET", path, token, params=params)

    def send(self, method: str, path: str, token: str | None, body: dict | None = None,
             headers: dict | None = None) -> Reply:
        return self._call(method, path, token, json=body, headers=headers)

    def _call(self, method: str, path: str, token: str | None, *, params=None, json=None,
              headers: dict | None = None) -> Reply:
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = self.client.request(method, path, params=params, json=json, headers=sent)
        except requests.RequestException as exc:
            log.warning("service not answering", extra={"service": self.service, "error": type(exc).__name__})
            raise errors.ServiceDown(self.service) from None
        if response.status_code >= 400:
            raise refusal_for(self.service, response)
        try:
            body = orjson.loads(response.content) if response.content else {}  # a results page: 25 KB
        except ValueError:
            log.warning("service answered something that is not JSON", extra={"service": self.service})
            raise errors.ServiceDown(self.service) from None
        return Reply(body, response.headers.get("ETag"), dict(response.headers))


def refusal_for(service: str, response: requests.Response) -> Exception:
    """The portal's refusal for an answer of 400 or more (its problem+json read, if any)."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = response.status_code
    detail = str(problem.get("detail") or problem.get("title") or "")
    code = str(problem.get("type") or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if status == 401:
        return errors.SignInRequired(detail)
    if status == 403:
        return errors.NotPermitted(detail)
    if status == 404:
        return errors.NotFound(detail)
    if status == 409:
        return errors.Conflict(detail)
    if status == 412:
        return errors.Stale(detail)
    if status == 429:
        try:
            retry_after = int(response.headers.get("Retry-After", "60"))
        except ValueError:
            retry_after = 60
        return errors.TooManyAttempts(retry_after)
    if status in (400, 413, 415, 422):
        found = [errors.FieldError(str(e.get("field") or ""), str(e.get("message") or ""))
                 for e in problem.get("errors") or [] if isinstance(e, dict)]
        return errors.Rejected(detail, found, code)
    log.warning("service failed", extra={"service": service, "status": status})
    return errors.ServiceDown(service)
