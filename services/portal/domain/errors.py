"""How a page's use case fails: what an API answered, in the portal's words.

The three services answer with problem+json; the adapters turn each answer into one of
these, so a page never shows raw JSON or a stack trace (entrypoints/problems.py says which
page each one gets). Messages never carry a survivor's data: they reach logs.
"""
from __future__ import annotations

from dataclasses import dataclass

from haven.platform import refusals


class SignInRequired(refusals.Refusal):
    """No session, an idle one, or a token the services no longer take: sign in again."""


class NotFound(refusals.NotFound):
    """The record does not exist, or is not one this person may see (the APIs say 404 for
    both, so nobody learns that another organization's referral exists)."""


class NotPermitted(refusals.NotPermitted):
    """Signed in, but this person's role may not do this."""


class Conflict(refusals.Conflict):
    """The record moved on meanwhile (409: its status no longer allows the step)."""


class Stale(refusals.PreconditionFailed):
    """Someone changed the record since this page was loaded (412)."""


@dataclass(frozen=True)
class FieldError:
    field: str  # the API's dotted field name (`consent.given_by`); "" for the whole request
    message: str


class Rejected(refusals.Refusal):
    """The API refused the input (400/422); `errors` name the fields, `detail` says why."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None, code: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.code = code  # the problem type's last part (`consent-required`), for a translated message

    def for_field(self, name: str) -> list[str]:
        return [e.message for e in self.errors if e.field == name or e.field.startswith(f"{name}.")]


class TooManyAttempts(refusals.Refusal):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class ServiceDown(refusals.Unavailable):
    """The directory, referral or notify service did not answer (or answered 5xx)."""

    def __init__(self, service: str):
        super().__init__(f"{service} is not answering")
        self.service = service
