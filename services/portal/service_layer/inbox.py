"""A receiving agency's inbox: the referrals addressed to it, what it owes on each, and how
many notifications it has not read yet.

Everything comes from the APIs with the person's own token. The referral list gives each
referral's summary with its deadlines (no personal field), so an inbox is a few list calls
whatever the number of referrals: no referral is read one by one. A live inbox asks every
few seconds only for the open referrals (`poll`), and renders the inbox again only when
they changed, from the lists it already has.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from haven.platform.refusals import Refusal

from ..domain.errors import ServiceDown
from ..domain.inbox import (CLOSED, IN_HAND, OPEN, WAITING, Entry, by_priority, deadline_owed, fingerprint,
                            newest_first)
from .ports import ServiceApi

PER_STATUS = 100  # the API's largest page: an agency with more open referrals than this has other problems
CLOSED_SHOWN = 10
KINDS_KEPT_SECONDS = 600  # the taxonomy changes with a release, not with a referral


@dataclass(frozen=True)
class Inbox:
    waiting: list[Entry]  # sent or acknowledged: the agency owes an answer, most urgent first
    in_hand: list[Entry]  # accepted: help under way
    closed: list[Entry]  # the latest completed, declined or cancelled
    fingerprint: str
    names_missing: bool = False  # the directory did not answer: services shown by kind


@dataclass
class Kinds:
    """The directory's kinds (code -> {"vi": ..., "en": ...}), kept a while in the process."""
    directory: ServiceApi
    clock: Callable[[], float] = time.monotonic
    _names: dict = field(default_factory=dict)
    _read_at: float = -1e9

    def names(self) -> dict[str, dict[str, str]]:
        if not self._names or self.clock() - self._read_at > KINDS_KEPT_SECONDS:
            try:
                items = self.directory.get("/v1/kinds", None).body or []
            except Refusal:
                return self._names  # an older list, or none: the page shows the code's words
            self._names = {k["code"]: {"vi": k.get("name_vi") or k["code"], "en": k.get("name_en") or k["code"]}
                           for k in items if isinstance(k, dict) and k.get("code")}
            self._read_at = self.clock()
        return self._names


@dataclass
class OrganizationNames:
    """Organizations' names by id, kept a while in the process (a name is public directory
    data, and an inbox asks for the same few senders every few seconds)."""
    directory: ServiceApi
    clock: Callable[[], float] = time.monotonic
    _known: dict = field(default_factory=dict)  # id -> (name, read at)

    def name(self, organization_id: str | None) -> str | None:
        if not organization_id:
            return None
        kept = self._known.get(organization_id)
        if kept and self.clock() - kept[1] < KINDS_KEPT_SECONDS:
            return kept[0]
        try:
            found = self.directory.get(f"/v1/organizations/{organization_id}", None).body.get("name")
        except (Refusal, AttributeError):
            return kept[0] if kept else None  # an older name, or none: the page says "referring agency"
        if len(self._known) > 5000:  # bounded: ids come from the referrals a person can see
            self._known.clear()
        self._known[organization_id] = (found, self.clock())
        return found


UNREAD_FRESH_SECONDS = 10.0  # a header count this old is good enough; the live inbox refreshes its own
UNREAD_REMEMBERED = 5000  # people at once, per portal process


class InboxReading:
    def __init__(self, referral: ServiceApi, directory: ServiceApi, notify: ServiceApi,
                 organizations: OrganizationNames | None = None, clock: Callable[[], float] = time.monotonic):
        self.referral, self.directory, self.notify = referral, directory, notify
        self.organizations = organizations or OrganizationNames(directory)
        self.clock = clock
        # Every page's header shows the count: asking notify on every page would double the
        # cost of a search. A count (never what it counts) is kept a few seconds per token.
        self._unread: dict[str, tuple[float, int]] = {}

    def _open(self, token: str) -> list[dict]:
        found = []
        for status in OPEN:  # one page per status: closed referrals must not push open ones off the page
            found += self.referral.get("/v1/referrals", token, {"status": status, "per_page": PER_STATUS}).body["items"]
        return found

    def poll(self, token: str, organization_id: str | None, since: str, full: bool = False) -> tuple[str, Inbox | None]:
        """What a live inbox asks every few seconds: the fingerprint, and the inbox only when
        it changed (or when `full`), built from the lists just read rather than read again."""
        summaries = self._open(token)
        current = fingerprint(summaries)
        if current == since and not full:
            return current, None
        return current, self.load(token, organization_id, summaries)

    def load(self, token: str, organization_id: str | None, summaries: list[dict] | None = None) -> Inbox:
        if summaries is None:
            summaries = self._open(token)
        recent = self.referral.get("/v1/referrals", token, {"per_page": 30}).body["items"]
        closed = [s for s in recent if s.get("status") in CLOSED][:CLOSED_SHOWN]
        names, names_missing = self._service_names(organization_id)
        waiting, in_hand = [], []

        def entry(summary: dict, deadline=None) -> Entry:
            return Entry(summary, deadline, names.get(str(summary.get("receiving_service_id"))),
                         self.organizations.name(summary.get("referring_organization_id")))

        for summary in summaries:
            if summary.get("status") in WAITING:
                waiting.append(entry(summary, deadline_owed(summary.get("deadlines"))))
            elif summary.get("status") in IN_HAND:
                in_hand.append(entry(summary))
        return Inbox(by_priority(waiting), by_priority(in_hand), newest_first(entry(s) for s in closed),
                     fingerprint(summaries), names_missing)

    def _service_names(self, organization_id: str | None) -> tuple[dict[str, str], bool]:
        if not organization_id:
            return {}, False
        try:
            items = self.directory.get("/v1/services", None, {"organization_id": organization_id,
                                                              "per_page": 100}).body["items"]
        except (ServiceDown, Refusal):
            return {}, True
        return {str(s["id"]): s.get("name") or "" for s in items}, False

    # --- notify's inbox -------------------------------------------------------------

    def unread(self, token: str) -> int | None:
        """How many notifications the person (and their organization) has not read; None
        when notify cannot say: the count is a help, never a reason for a page to fail."""
        now = self.clock()
        known = self._unread.get(token)
        if known is not None and now - known[0] < UNREAD_FRESH_SECONDS:
            return known[1]
        try:
            body = self.notify.get("/v1/inbox", token, {"unread": "true", "per_page": 1}).body
            count = int(body.get("unread", 0))
        except (Refusal, ValueError, TypeError, AttributeError):
            return None
        if len(self._unread) >= UNREAD_REMEMBERED:
            self._unread = {t: v for t, v in self._unread.items() if now - v[0] < UNREAD_FRESH_SECONDS}
            if len(self._unread) >= UNREAD_REMEMBERED:
                self._unread.clear()
        self._unread[token] = (now, count)
        return count

    def mark_seen(self, token: str, referral_id: str) -> None:
        """The notifications about a referral are read once someone opened the referral."""
        self._unread.pop(token, None)  # the header counts again after this
        try:
            items = self.notify.get("/v1/inbox", token, {"unread": "true", "per_page": 100}).body.get("items") or []
            for item in items:
                if item.get("referral_id") == referral_id and not item.get("read"):
                    self.notify.send("POST", f"/v1/inbox/{item['id']}/read", token)
        except (Refusal, AttributeError, KeyError):
            pass  # still unread: harmless


__all__ = ["Inbox", "InboxReading", "Kinds", "OrganizationNames"]
