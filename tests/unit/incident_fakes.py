"""An in-memory stand-in for the serious-incident repository (the referral unit of work's
`incidents`), keeping copies as a database does; the state filter uses the domain's own rule."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime

from services.referral.domain.incidents import SeriousIncident
from services.referral.domain.model import WITHHELD


class FakeIncidents:
    def __init__(self):
        self.rows: dict[str, SeriousIncident] = {}

    def get(self, referral_id: str, *, note: bool = False, for_update: bool = False) -> SeriousIncident | None:
        stored = self.rows.get(referral_id)
        if stored is None:
            return None
        found = copy.deepcopy(stored)
        return found if note or found.note is None else replace(found, note=WITHHELD)

    def add(self, incident: SeriousIncident) -> None:
        assert incident.referral_id not in self.rows
        self.rows[incident.referral_id] = copy.deepcopy(incident)

    def save(self, incident: SeriousIncident) -> None:
        # The note is fixed at marking: a view with it withheld must not overwrite it.
        self.rows[incident.referral_id] = replace(copy.deepcopy(incident), note=self.rows[incident.referral_id].note)

    def list(self, organization_id, filters, page, now: datetime):
        found = [i for i in self.rows.values()
                 if organization_id in (None, i.referring_organization_id)
                 and filters.state in (None, i.state(now))
                 and (filters.discovered_from is None or i.discovered_at >= filters.discovered_from)
                 and (filters.discovered_to is None or i.discovered_at < filters.discovered_to)]
        found.sort(key=lambda i: (i.due_at, i.referral_id))
        return len(found), [replace(i, note=None) for i in found[page.offset:page.offset + page.size]]

    def to_remind(self, now: datetime, limit: int = 200) -> list[str]:
        due = sorted((i.next_reminder_at, i.referral_id) for i in self.rows.values()
                     if i.next_reminder_at is not None and i.next_reminder_at <= now)
        return [rid for _, rid in due[:limit]]
