"""What a referral says about the survivor: the least a receiving agency needs.

Two value objects, split by who may see them:

- `ClientProfile` is coded and non-identifying. Operations staff, dashboards and KPI
  exports may see it. It holds only the pseudonymous reference, the age group and gender.
  Age group and gender stay here because eligibility turns on them (a women's shelter, a
  child-protection service) and yearly reports break help down by them; as coarse codes
  they do not single anybody out.
- `PersonalDetails` is everything else, and all of it is personal: it is encrypted at rest
  by the adapter and shown only to people with a reason to see it. Beyond name, phone,
  address and how to reach her safely, it holds:
  * `language`: a minority language (Tày, H'Mông...) reveals ethnic origin, which
    Vietnam's personal-data decree (13/2023/NĐ-CP) counts as sensitive, and in a small
    commune it narrows the survivor down to a handful of people. The receiving agency
    needs it (interpreter); nobody else does.
  * `needs`: pregnancy, disability, mental health, a child in her care... health and family
    facts, and often free text. What is asked of the service stays visible as the
    referral's `services_requested` kind codes, which is all routing and KPIs need.
  * `safety_notes`: free text about the danger she is in. Free text is always personal:
    nobody can promise what a caseworker typed into it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

from . import checks
from .errors import InvalidReferral

# Vietnam's Law on Children protects people under 16; 16-17 are still minors.
AGE_GROUPS = ("under_16", "16_17", "18_24", "25_59", "60_plus", "unknown")
GENDERS = ("female", "male", "other", "undisclosed")

# A reference into the referring agency's own case file. Letters, digits, `.`, `_`, `-` and
# no spaces: that leaves no room to type a name where a reference belongs.
CLIENT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,22}[0-9]$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # BCP 47-ish: vi, hmn, tyz, en-GB

# What a consent's scope may name, and the personal fields each item lets through.
SCOPE_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("name", "phone", "address", "safe_contact_time", "safe_contact_method", "language"),
    "safety_notes": ("safety_notes",),
    "needs": ("needs",),
}
CONSENT_SCOPES = tuple(SCOPE_FIELDS)


@dataclass(frozen=True)
class ClientProfile:
    """The non-identifying part: safe to show operations staff and to count in reports."""

    client_ref: str
    age_group: str = "unknown"
    gender: str = "undisclosed"

    def __post_init__(self):
        if not isinstance(self.client_ref, str) or not CLIENT_REF.match(self.client_ref):
            raise InvalidReferral("profile.client_ref", "must be a pseudonymous reference (letters, digits, . _ -; "
                                  "no spaces, at most 64 characters), never a name")
        checks.code(self.age_group, "profile.age_group", AGE_GROUPS)
        checks.code(self.gender, "profile.gender", GENDERS)


@dataclass(frozen=True)
class PersonalDetails:
    """The personal part (see the module docstring for why each field is here). Every field
    is optional: a survivor who is accompanied to the agency needs no phone on file, and
    the consent's scope may forbid some of them. `repr` never shows a value, so a log line
    that prints a referral cannot leak one."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    safe_contact_time: str | None = None  # "weekday mornings only"
    safe_contact_method: str | None = None  # "SMS only, say it is the pharmacy"
    language: str | None = None
    needs: tuple[str, ...] = ()
    safety_notes: str | None = None

    def __post_init__(self):
        for name, limit in (("name", 200), ("address", 500), ("safe_contact_time", 200),
                            ("safe_contact_method", 500), ("safety_notes", 4000)):
            object.__setattr__(self, name, checks.text(getattr(self, name), f"personal.{name}", limit))
        phone = checks.text(self.phone, "personal.phone", 32)
        if phone is not None and not PHONE.match(phone):
            raise InvalidReferral("personal.phone", "is not a phone number")
        object.__setattr__(self, "phone", phone)
        language = checks.text(self.language, "personal.language", 16)
        if language is not None and not LANGUAGE.match(language):
            raise InvalidReferral("personal.language", "must be a language code such as `vi` or `hmn`")
        object.__setattr__(self, "language", language)
        if isinstance(self.needs, str) or not isinstance(self.needs, (tuple, list)):
            raise InvalidReferral("personal.needs", "must be a list of short texts")
        needs = tuple(n for n in (checks.text(n, "personal.needs", 200) for n in self.needs) if n)
        object.__setattr__(self, "needs", needs)

    def __repr__(self) -> str:
        return f"PersonalDetails(<{len(self.filled())} fields withheld>)"

    def filled(self) -> tuple[str, ...]:
        """Names of the fields that hold something."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) not in (None, ()))

    def outside(self, scope: tuple[str, ...]) -> tuple[str, ...]:
        """Filled fields that the given consent scope does not let through."""
        allowed = {name for item in scope for name in SCOPE_FIELDS.get(item, ())}
        return tuple(name for name in self.filled() if name not in allowed)
