"""The referrals a person's organization sent: a filtered page of them, and a supervisor's
overview (escalations first, counts by status).

The referral API's list gives each referral's summary only (status, urgency, kind, times:
no personal field, no deadlines, no deliveries). Deadlines and deliveries are in each
referral's own record, and reading that record is audited as a read of the survivor's
personal details: so a list never opens every record to decorate its rows. What a row shows
of the agency's answer comes from the summary's own times; escalations come from notify's
inbox, which names them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain import referral_form as rules
from ..domain.errors import NotFound, NotPermitted, ServiceDown
from .ports import ServiceApi

STATUSES = ("sent", "acknowledged", "accepted", "completed", "declined", "cancelled")
URGENCIES = ("emergency", "high", "normal")
OPEN = ("sent", "acknowledged")  # still waiting for the receiving agency's answer
PER_PAGE = 20


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    urgency: str | None = None
    service_kind: str | None = None
    created_from: str | None = None  # yyyy-mm-dd, Vietnam time
    created_to: str | None = None
    page: int = 1

    @classmethod
    def from_query(cls, args) -> tuple["Filters", list[str]]:
        """From the query string; values that are not ones the list knows are dropped and
        named (the page says which filter it ignored)."""
        ignored = []

        def pick(name, allowed):
            value = (args.get(name) or "").strip()
            if value and allowed is not None and value not in allowed:
                ignored.append(name)
                return None
            return value or None

        def day(name):
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                date.fromisoformat(value)
            except ValueError:
                ignored.append(name)
                return None
            return value

        kind = pick("service_kind", None)
        if kind and not _is_kind_code(kind):
            ignored.append("service_kind")
            kind = None
        try:
            page = max(1, min(100_000, int(args.get("page") or 1)))
        except ValueError:
            page = 1
        return cls(pick("status", STATUSES), pick("urgency", URGENCIES), kind, day("created_from"),
                   day("created_to"), page), ignored

    def query(self, per_page: int = PER_PAGE) -> dict:
        """The referral API's query: dates as the whole Vietnamese day, from its first
        second to its last."""
        params = {"page": self.page, "per_page": per_page}
        for name in ("status", "urgency", "service_kind"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.created_from:
            params["created_from"] = rules.vietnam_time(self.created_from, "00:00").isoformat()
        if self.created_to:
            params["created_to"] = rules.vietnam_time(self.created_to, None, end_of_day=True).isoformat()
        return params

    def link(self, **change) -> dict:
        """Query-string values for a link to this list with `change` applied (the pager)."""
        values = {"status": self.status, "urgency": self.urgency, "service_kind": self.service_kind,
                  "created_from": self.created_from, "created_to": self.created_to, "page": self.page, **change}
        return {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}


def _is_kind_code(code: str) -> bool:
    """A directory kind code (`legal_aid`): anything else is not a filter the list knows."""
    return code.replace("_", "").isalnum() and code[:1].isalpha() and code.islower() and len(code) <= 64


@dataclass(frozen=True)
class Row:
    id: str
    status: str
    urgency: str
    risk_level: str
    service_kind: str
    service_id: str
    service_name: str | None
    created_at: str
    acknowledged_at: str | None
    decided_at: str | None
    closed_at: str | None  # completed or cancelled
    waiting_for: str | None  # "acknowledge" or "decide": the agency's step still undone
    escalated: bool = False


@dataclass(frozen=True)
class ReferralPage:
    rows: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _waiting_for(item: dict) -> str | None:
    if item.get("status") == "sent":
        return "acknowledge"
    if item.get("status") == "acknowledged":
        return "decide"
    return None


class MyReferrals:
    def __init__(self, directory: ServiceApi, referral: ServiceApi, notify: ServiceApi):
        self.directory, self.referral, self.notify = directory, referral, notify

    def page(self, token: str, filters: Filters, per_page: int = PER_PAGE, escalated: set | None = None) -> ReferralPage:
        body = self.referral.get("/v1/referrals", token, filters.query(per_page)).body
        items = body.get("items") or []
        names = self._service_names(token, {i.get("receiving_service_id") for i in items if i.get("receiving_service_id")})
        rows = [Row(id=i["id"], status=i.get("status", ""), urgency=i.get("urgency", ""),
                    risk_level=i.get("risk_level", ""), service_kind=i.get("service_kind", ""),
                    service_id=i.get("receiving_service_id", ""), service_name=names.get(i.get("receiving_service_id")),
                    created_at=i.get("created_at", ""), acknowledged_at=i.get("acknowledged_at"),
                    decided_at=i.get("decided_at"), closed_at=i.get("completed_at") or i.get("cancelled_at"),
                    waiting_for=_waiting_for(i), escalated=i["id"] in (escalated or set()))
                for i in items if i.get("id")]
        return ReferralPage(rows, int(body.get("total") or 0), int(body.get("page") or filters.page),
                            int(body.get("per_page") or per_page))

    def counts(self, token: str) -> dict[str, int]:
        """How many of the organization's referrals are in each status (one small call each)."""
        return {status: int(self.referral.get("/v1/referrals", token, {"status": status, "per_page": 1})
                            .body.get("total") or 0) for status in STATUSES}

    def escalations(self, token: str) -> list[dict]:
        """Escalated referrals notify told this person (or their organization) about, newest
        first, one per referral: the missed deadline and when. Empty when notify is down
        (the overview still shows the referrals themselves)."""
        try:
            items = self.notify.get("/v1/inbox", token, {"per_page": 100}).body.get("items") or []
        except (ServiceDown, NotPermitted):
            return []
        seen, found = set(), []
        for item in items:
            if item.get("event") == "escalated" and item.get("referral_id") and item["referral_id"] not in seen:
                seen.add(item["referral_id"])
                found.append({"referral_id": item["referral_id"], "deadline": item.get("deadline"),
                              "deadline_kind": item.get("deadline_kind"), "urgency": item.get("urgency"),
                              "service_kind": item.get("service_kind"), "at": item.get("occurred_at")})
        return found

    def _service_names(self, token: str, ids: set) -> dict:
        """Names of the services on this page; a service the directory cannot give (down,
        retired) shows by its kind alone."""
        names = {}
        for service_id in sorted(ids):
            try:
                names[service_id] = self.directory.get(f"/v1/services/{service_id}", token).body.get("name")
            except (NotFound, NotPermitted):
                continue
            except ServiceDown:
                break
        return names
