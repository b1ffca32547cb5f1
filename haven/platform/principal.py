"""Who is calling and what they may do: roles, the permissions they grant, and the
`Principal` every use case takes. Pure Python (no Flask, no JWT): `haven/platform/auth.py`
makes a `Principal` from a verified token; domain and service layers only read it.

Roles are what an identity provider assigns; permissions are what code checks. The map
between them lives here, once.

| permission                 | caseworker | agency_staff | supervisor | directory_admin | ops | admin |
|----------------------------|:----------:|:------------:|:----------:|:---------------:|:---:|:-----:|
| directory:write            |            |              |            |        x        |     |   x   |
| directory:capacity         |            |      x¹      |            |        x        |     |   x   |
| directory:confidential     |            |              |     x      |        x        |     |   x   |
| referral:create            |     x¹     |              |     x¹     |                 |     |       |
| referral:read              |     x¹     |      x¹      |     x¹     |                 |  x  |   x   |
| referral:respond           |            |      x¹      |            |                 |     |       |
| referral:cancel            |     x¹     |              |     x¹     |                 |     |       |
| referral:consent_override  |            |              |     x      |                 |     |       |
| referral:personal          |     x¹     |      x¹      |     x¹     |                 |     |       |
| referral:aggregates        |            |              |     x¹     |                 |  x  |   x   |
| audit:read                 |            |              |            |                 |     |   x   |
| notify:subscriptions       |     x¹     |      x¹      |     x¹     |                 |     |   x   |
| notify:inbox               |     x      |      x       |     x      |        x        |  x  |   x   |

¹ Only for their own organization: caseworkers and their supervisors act for the agency
  they work at (referrals it sends), agency staff for the organization they work at
  (referrals addressed to it, its capacity). A supervisor's aggregates (indicators, the
  yearly report) cover referrals her organization sent or received. All three manage
  their organization's notify subscriptions: a caseworker's agency follows the referrals
  it sent (the referrer's news goes to the referring organization's subscriptions) as a
  receiving agency follows those addressed to it. A caseworker, supervisor or
  agency_staff token without an `org` claim is refused (403) wherever such a permission is
  checked. Which records "their own" covers is
  the service's query: `Principal.limited_to_organization(permission)` tells it to filter.

Decisions behind the blanks:
- `referral:respond` is agency staff only, admin included in the "no": accepting a referral
  promises a survivor a bed or an appointment, which only the receiving organization can
  promise. An administrator answering for it would produce a promise nobody keeps.
- `referral:consent_override` is supervisor only (survivor-safety rule): sending a referral
  without the survivor's consent, because she is in immediate danger, is a judgement for
  someone who knows the case and answers for it, not for a technical administrator.
- `ops` sees aggregates and referrals without their personal fields, never a survivor's
  name, phone or story: operations staff need to know that help arrives, not to whom.
- `admin` does not refer and does not read personal fields either: a survivor's details go
  to the referring agency and, once it accepts, the receiving agency, and to nobody else.
  Administrators read the audit log and every referral without its personal fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ROLES = ("caseworker", "agency_staff", "supervisor", "directory_admin", "ops", "admin")

# People in these roles act for one organization, named by their token's `org` claim.
ORGANIZATION_ROLES = frozenset({"caseworker", "agency_staff", "supervisor"})
# Permissions whose records belong to an organization: held through an organization role,
# they reach that organization's records only.
ORGANIZATION_SCOPED = frozenset({
    "directory:capacity", "referral:create", "referral:read", "referral:respond", "referral:cancel",
    "referral:personal", "notify:subscriptions", "referral:aggregates",
})

_EVERYONE = frozenset({"notify:inbox"})
_DIRECTORY_ADMIN = frozenset({"directory:write", "directory:capacity", "directory:confidential"})

# Shelter addresses go to those who must know them to do their job, and nobody else; the
# same holds for a survivor's personal details. The table in the docstring is this map.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "caseworker": _EVERYONE | {"referral:create", "referral:read", "referral:cancel", "referral:personal",
                               "notify:subscriptions"},
    "agency_staff": _EVERYONE | {"directory:capacity", "referral:read", "referral:respond", "referral:personal",
                                 "notify:subscriptions"},
    "supervisor": _EVERYONE | {"directory:confidential", "referral:create", "referral:read", "referral:cancel",
                               "referral:consent_override", "referral:personal", "notify:subscriptions",
                               "referral:aggregates"},
    "directory_admin": _EVERYONE | _DIRECTORY_ADMIN,
    "ops": _EVERYONE | {"referral:read", "referral:aggregates"},
    "admin": _EVERYONE | _DIRECTORY_ADMIN | {"referral:read", "referral:aggregates", "audit:read",
                                              "notify:subscriptions"},
}


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: tuple[str, ...] = ()
    organization_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    name: str = ""  # how the person is greeted on screen (the token's `name`); never logged
    language: str | None = None  # the token's `locale`, when it has one

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def limited_to_organization(self, permission: str) -> bool:
        """True when this caller holds `permission` only through an organization role, so
        it reaches the records of `organization_id` and no others (every organization role
        is bound; an ops or admin role on the same token lifts the limit)."""
        if permission not in ORGANIZATION_SCOPED or not self.can(permission):
            return False
        return permission not in permissions_for(r for r in self.roles if r not in ORGANIZATION_ROLES)


ANONYMOUS = Principal(subject="anonymous")


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)
