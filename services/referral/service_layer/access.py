"""Who sees what of a referral, and who may do what to it (the caller is a `Principal`
from the platform's auth):

- caseworkers and supervisors: referrals their organization sent;
- agency staff: referrals addressed to their organization;
- ops and admin: every referral, never its personal fields;
- personal fields: the referring organization's caseworkers and supervisors, and the
  receiving organization's staff once they have accepted the referral.
A referral the caller may not see does not exist for them (ReferralNotFound, 404): no leak.
"""
from __future__ import annotations

from haven.platform.principal import Principal

from ..domain.model import (ACCEPT, CANCELLED, RECEIVING, REFERRING, WITHHELD, Actor, Referral, redacted,
                            without_override_reason)
from ..domain.reach import EVERYTHING, Reach

REFERRING_ROLES = {"caseworker", "supervisor"}
RECEIVING_ROLES = {"agency_staff"}
EVERY_REFERRAL_ROLES = {"ops", "admin"}

# The SLA timer, as the audit log names it.
SYSTEM = Principal(subject="system:sla-timer", roles=())

# What each action needs besides being on the right side of the referral.
ACTION_PERMISSIONS = {"acknowledge": "referral:respond", "accept": "referral:respond", "decline": "referral:respond",
                      "complete": "referral:respond", "cancel": "referral:cancel", "re_refer": "referral:create"}


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.organization_id)


def reach_of(principal: Principal) -> Reach:
    """Which side of referrals the caller reaches through their organization (or every referral)."""
    roles = set(principal.roles)
    if roles & EVERY_REFERRAL_ROLES:
        return EVERYTHING
    sides = set()
    if roles & REFERRING_ROLES:
        sides.add(REFERRING)
    if roles & RECEIVING_ROLES:
        sides.add(RECEIVING)
    return Reach(frozenset(sides), principal.organization_id)


def visible(principal: Principal, referral: Referral) -> bool:
    return principal.can("referral:read") and reach_of(principal).covers(referral)


def personal_visible(principal: Principal, referral: Referral) -> bool:
    """The referring organization always; the receiving one once it has accepted, and no
    longer once the referral is cancelled (she may have withdrawn her consent)."""
    if not principal.can("referral:personal") or not principal.organization_id:
        return False
    roles, org = set(principal.roles), principal.organization_id
    if roles & REFERRING_ROLES and referral.referring_organization_id == org:
        return True
    accepted = any(t.action == ACCEPT for t in referral.history)
    return (bool(roles & RECEIVING_ROLES) and referral.receiving_organization_id == org and accepted
            and referral.status != CANCELLED)


def allowed_actions(principal: Principal, referral: Referral) -> tuple[str, ...]:
    if not principal.organization_id:
        return ()
    return tuple(a for a in referral.allowed_actions(actor_of(principal))
                 if principal.can(ACTION_PERMISSIONS.get(a, "")))


def may_hold_own_notes(principal: Principal, referral: Referral) -> bool:
    """The caller's organization is a side of the referral, so it may have written notes."""
    return bool(principal.organization_id) and principal.organization_id in (
        referral.referring_organization_id, referral.receiving_organization_id)


def _refers(principal: Principal, referral: Referral) -> bool:
    """Acts for the referring organization in a referring role."""
    return bool(set(principal.roles) & REFERRING_ROLES) and principal.organization_id == referral.referring_organization_id


def _what_is_shown(referral: Referral) -> str | None:
    """Names (never values) of the personal things a view shows, for the audit log; None
    when it shows none (then nothing personal was read, and nothing is audited as read)."""
    shown = list(referral.personal.filled()) if referral.personal else []
    if any(t.note is not None and t.note != WITHHELD for t in referral.history):
        shown.append("notes")
    if referral.override is not None and referral.override.reason != WITHHELD:
        shown.append("override.reason")
    return ",".join(shown) or None


def disclose(principal: Principal, referral: Referral) -> tuple[Referral, bool, str | None]:
    """What of `referral` (loaded with its personal fields) this caller is shown: the view,
    whether its personal details are in it, and the names of the personal things it shows
    (what the audit log records as read).

    Personal details: see `personal_visible`. The override's reason: only the referring
    organization's caseworkers and supervisors (it is their judgement, not the survivor's
    data the receiving agency needs). Transition notes: with the personal details, and
    always those the caller's own organization wrote (an agency reads its own decline or
    completion note, whatever became of the referral)."""
    if personal_visible(principal, referral) and not referral.personal_withheld:
        view = referral if _refers(principal, referral) else without_override_reason(referral)
        return view, True, _what_is_shown(view)
    own = principal.organization_id if principal.can("referral:read") else None
    view = redacted(referral, notes_of=own) if not referral.personal_withheld else referral
    return view, False, _what_is_shown(view)


__all__ = ["SYSTEM", "actor_of", "allowed_actions", "disclose", "may_hold_own_notes", "personal_visible",
           "reach_of", "visible"]
