"""One round of a timer job: each due referral handled on its own, so one that fails is
logged and skipped (to be tried next round) and never blocks the rest."""
from __future__ import annotations

import logging
from typing import Callable, Iterable

log = logging.getLogger("haven.referral")


def each_on_its_own(referral_ids: Iterable[str], handle: Callable[[str], int], what: str) -> int:
    """The sum of `handle(id)` over the ids; `what` names the job in the log (no personal data:
    the referral's id and the error's class only)."""
    done = 0
    for referral_id in referral_ids:
        try:
            done += handle(referral_id)
        except Exception as exc:  # noqa: BLE001 — the next referral must still be handled
            log.error(f"{what} failed; skipped until the next round",
                      extra={"referral_id": referral_id, "error": type(exc).__name__})
    return done
