"""Referring a survivor: the service she is referred to, sending the referral (once, for
one form, however often it is sent), its deadlines, cancelling it and sending a declined
one on to another service.

No Flask and no HTTP library here: the use cases take the directory's and the referral
service's ports and the person's token, and answer in plain values. A refusal the person
can fix comes back as `Refused` with the errors grouped by the form field they belong
beside; a service that is down raises ServiceDown for the page to say so with the form kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..domain import referral_form as rules
from ..domain.errors import Conflict, NotFound, Rejected, Stale
from ..domain.opening_hours import OpenState, Schedule
from .ports import ServiceApi

DEADLINE_ORDER = ("acknowledge", "decide")


@dataclass(frozen=True)
class ServiceShown:
    """What the top of the form says about where she is being referred."""
    id: str
    name: str
    kind: str
    organization: str | None
    status: str
    # What to know before sending (a closed service may not see it until it opens): given
    # when the form asks with the time.
    opening: OpenState | None = None
    free_places: int | None = None  # None: the service counts no places
    stale: bool = False


@dataclass(frozen=True)
class Sent:
    referral_id: str
    replayed: bool = False  # the API gave back the referral this form's first send created


@dataclass(frozen=True)
class Refused:
    """Errors by form field ("" = the whole form): `codes` are the portal's own checks (the
    page words them), `messages` the API's, with its problem type in `problem`."""
    codes: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)
    problem: str = ""


@dataclass(frozen=True)
class Deadline:
    kind: str
    due_at: str
    done_at: str | None
    state: str
    escalated: bool


def deadlines_of(referral: dict) -> list[Deadline]:
    found = [Deadline(d.get("kind", ""), d.get("due_at", ""), d.get("done_at"), d.get("state", ""),
                      bool(d.get("escalated"))) for d in referral.get("deadlines") or []]
    return sorted(found, key=lambda d: DEADLINE_ORDER.index(d.kind) if d.kind in DEADLINE_ORDER else 9)


def open_deadlines(referral: dict) -> list[Deadline]:
    return [d for d in deadlines_of(referral) if d.state in ("pending", "overdue")]


class Referring:
    def __init__(self, directory: ServiceApi, referral: ServiceApi):
        self.directory, self.referral = directory, referral

    # --- what the form shows --------------------------------------------------------

    def service(self, token: str, service_id: str, now: datetime | None = None) -> ServiceShown:
        """The receiving service, by the directory (NotFound for one the person may not see);
        with `now`, whether it is open then (in Vietnam time), its free places and whether
        its record is stale."""
        body = self.directory.get(f"/v1/services/{service_id}", token).body
        organization = None
        if body.get("organization_id"):
            try:
                organization = self.directory.get(f"/v1/organizations/{body['organization_id']}", token).body.get("name")
            except NotFound:
                organization = None
        capacity = body.get("capacity") or {}
        return ServiceShown(str(body.get("id", service_id)), body.get("name", ""), body.get("kind", ""), organization,
                            body.get("status", "active"),
                            opening=Schedule.of(body).state_at(now) if now is not None else None,
                            free_places=capacity.get("available") if isinstance(capacity, dict) else None,
                            stale=bool(body.get("stale")))

    def kinds(self, token: str) -> list[dict]:
        """The directory's kinds of service, each with its Vietnamese and English names."""
        body = self.directory.get("/v1/kinds", token).body
        return [k for k in body if isinstance(k, dict) and k.get("code")] if isinstance(body, list) else []

    # --- sending ----------------------------------------------------------------------

    def send(self, token: str, service_id: str, values: dict, idempotency_key: str,
             may_override: bool) -> Sent | Refused:
        """POST /v1/referrals with the form's Idempotency-Key: a second send of the same form
        (a double tap, a resend after a lost answer) gives back the first referral."""
        problems = rules.check(values, may_override)
        if problems:
            return _own(problems)
        body = rules.api_body(rules.create_body(values, service_id))
        try:
            reply = self.referral.send("POST", "/v1/referrals", token, body,
                                       headers={"Idempotency-Key": idempotency_key})
        except Rejected as exc:
            return _refused(exc)
        replayed = str(reply.headers.get("Idempotent-Replayed", "")).lower() == "true"
        return Sent(str(reply.body["id"]), replayed)

    def re_refer(self, token: str, referral_id: str, service_id: str, values: dict,
                 may_override: bool) -> Sent | Refused:
        """POST /v1/referrals/<id>/re-refer. A resend after the first one went through (the
        API then answers 409: already re-referred) leads to the referral it created."""
        problems = rules.check(values, may_override, creating=False)
        if problems:
            return _own(problems)
        body = rules.api_body(rules.re_refer_body(values, service_id))
        try:
            reply = self.referral.send("POST", f"/v1/referrals/{referral_id}/re-refer", token, body)
        except Rejected as exc:
            return _refused(exc)
        except Conflict:
            earlier = self.referral.get(f"/v1/referrals/{referral_id}", token).body
            if earlier.get("next_referral_id"):
                return Sent(str(earlier["next_referral_id"]), replayed=True)
            raise
        return Sent(str(reply.body["id"]))

    # --- one referral -------------------------------------------------------------------

    def read(self, token: str, referral_id: str) -> tuple[dict, str | None]:
        """The referral as the person may see it, and its ETag (for If-Match)."""
        reply = self.referral.get(f"/v1/referrals/{referral_id}", token)
        return reply.body, reply.etag

    def cancel(self, token: str, referral_id: str, reason: str | None, note: str | None,
               etag: str | None) -> dict | Refused:
        """POST .../cancel with If-Match: the referral as it was when the page was opened.
        Raises Stale (changed since) or Conflict (no longer cancellable) for the page to explain."""
        body = {"reason": reason or None, "note": (note or "").strip() or None}
        headers = {"If-Match": etag} if etag else {}
        try:
            return self.referral.send("POST", f"/v1/referrals/{referral_id}/cancel", token, body,
                                      headers=headers).body
        except Rejected as exc:
            if any(e.field == "If-Match" for e in exc.errors):
                raise Stale(exc.detail) from None  # a version the page never had: reload it
            return _refused(exc, by_field=lambda name: name if name in ("reason", "note") else "")


def _own(problems) -> Refused:
    codes: dict[str, list[str]] = {}
    for problem in problems:
        codes.setdefault(problem.field, []).append(problem.code)
    return Refused(codes=codes)


def _refused(exc: Rejected, by_field=None) -> Refused:
    messages = rules.errors_by_field(exc.errors, by_field)
    if not messages:
        messages = {"": [exc.detail]}
    return Refused(messages=messages, problem=exc.code)
