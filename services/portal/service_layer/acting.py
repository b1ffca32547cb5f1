"""The referral page's use cases: reading one referral with everything its page shows, and
the receiving agency's steps on it (acknowledge, accept, decline, complete).

A step is sent with the ETag the page was rendered with (If-Match): if someone else moved
the referral meanwhile the API answers 412 (changed since read) or 409 (that step is no
longer possible), and the page explains it with the referral as it stands now. What the
person typed is checked here first, so a missing reason is said in their language next to
its field and nothing is sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from haven.platform.refusals import Refusal

from ..domain.errors import FieldError, NotFound, Rejected
from .inbox import Kinds, OrganizationNames
from .ports import ServiceApi

STEPS = ("acknowledge", "accept", "decline", "complete")  # the receiving agency's, taken on this page
DECLINE_REASONS = ("no_capacity", "not_eligible", "out_of_area", "client_unreachable", "client_declined",
                   "duplicate", "other")  # the referral API's codes (its schema's enum)
NOTE_LIMIT = 4000  # the API's

# What can be wrong with a step as typed (the entrypoint says each in words).
REASON_MISSING, NOTE_NEEDED, NOTE_TOO_LONG = "reason-missing", "note-needed", "note-too-long"


@dataclass(frozen=True)
class Step:
    referral_id: str
    action: str  # one of STEPS
    etag: str | None  # the version the page showed, sent as If-Match
    reason: str = ""
    note: str = ""


def problems(step: Step) -> list[FieldError]:
    """What is wrong with the step as typed, before anything is sent (messages are codes)."""
    found = []
    note = step.note.strip()
    if step.action == "decline":
        if step.reason not in DECLINE_REASONS:
            found.append(FieldError("reason", REASON_MISSING))
        elif step.reason == "other" and not note:
            found.append(FieldError("note", NOTE_NEEDED))
    if len(note) > NOTE_LIMIT:
        found.append(FieldError("note", NOTE_TOO_LONG))
    return found


def request_for(step: Step) -> tuple[str, dict, dict]:
    """The API call of a step: path, JSON body, headers."""
    if step.action not in STEPS:
        raise NotFound(step.action)
    note = step.note.strip() or None
    body: dict = {}
    if step.action == "decline":
        body = {"reason": step.reason, "note": note}
    elif step.action == "complete":
        body = {"note": note}  # the outcome, in the agency's words
    headers = {"If-Match": step.etag} if step.etag else {}
    return f"/v1/referrals/{step.referral_id}/{step.action}", body, headers


@dataclass(frozen=True)
class ReferralPage:
    referral: dict
    etag: str | None
    history: list[dict]
    service: dict | None  # the receiving service (None if the directory did not answer or no longer lists it)
    organizations: dict[str, str] = field(default_factory=dict)  # id -> name, of both sides
    kinds: dict = field(default_factory=dict)

    @property
    def allowed(self) -> list[str]:
        return list(self.referral.get("allowed_actions") or [])


class ReferralActing:
    def __init__(self, referral: ServiceApi, directory: ServiceApi, kinds: Kinds,
                 organizations: OrganizationNames | None = None):
        self.referral, self.directory, self.kinds = referral, directory, kinds
        self.organizations = organizations or OrganizationNames(directory)

    def page(self, token: str, referral_id: str) -> ReferralPage:
        """The referral and its history (NotFound for a referral this person may not see),
        with the names the directory gives its service and organizations when it answers."""
        answer = self.referral.get(f"/v1/referrals/{referral_id}", token)
        body = answer.body
        history = self.referral.get(f"/v1/referrals/{referral_id}/history", token).body.get("items") or []
        service = self._read(f"/v1/services/{body.get('receiving_service_id')}", token)
        organizations = {}
        for side in ("referring_organization_id", "receiving_organization_id"):
            name = self.organizations.name(body.get(side))
            if name:
                organizations[body[side]] = name
        return ReferralPage(body, answer.etag, history, service, organizations, self.kinds.names())

    def _read(self, path: str, token: str) -> dict | None:
        try:
            return self.directory.get(path, token).body
        except Refusal:
            return None  # names are a help: the referral page still shows the referral

    def act(self, token: str, step: Step) -> dict:
        """Take the step; raises Rejected (field errors as codes), Stale (412), Conflict
        (409), NotFound, ServiceDown."""
        wrong = problems(step)
        if wrong:
            raise Rejected("the step as typed cannot be sent", wrong)
        path, body, headers = request_for(step)
        return self.referral.send("POST", path, token, body, headers).body

    def status(self, token: str, referral_id: str, created_at: datetime) -> dict | None:
        """The referral's summary now, for a page that polls: read through the list
        narrowed to the instant it was created, because reading the referral itself shows
        (and audits as read) the survivor's details, on every poll."""
        answer = self.referral.get("/v1/referrals", token, {
            "created_from": created_at.isoformat(), "created_to": (created_at + timedelta(microseconds=1)).isoformat(),
            "per_page": 100})
        return next((item for item in answer.body.get("items") or [] if item.get("id") == referral_id), None)


__all__ = ["DECLINE_REASONS", "NOTE_NEEDED", "NOTE_TOO_LONG", "REASON_MISSING", "ReferralActing", "ReferralPage",
           "STEPS", "Step", "problems", "request_for"]
