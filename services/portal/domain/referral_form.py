"""The refer form's rules, pure Python: which fields it has, how they become the referral
API's body, and where each of the API's field errors belongs on the page.

The form's field names are the API's dotted names (`profile.client_ref`, `consent.given`)
wherever one form field is one API field, so an error the API names lands beside the field
the person typed into. The few that differ are mapped in `API_TO_FORM`: a consent time is
typed as a date and a time, needs one per line, and a missing consent is answered beside
the "did she agree" question.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# Overriding consent is for immediate danger to life, which is risk level `severe` (the
# referral service's rule; checked here first so the page can say so beside the field).
OVERRIDE_RISK_LEVELS = ("severe",)

PROFILE_FIELDS = ("profile.client_ref", "profile.age_group", "profile.gender")
PERSONAL_TEXT_FIELDS = ("personal.name", "personal.phone", "personal.address", "personal.safe_contact_time",
                        "personal.safe_contact_method", "personal.language", "personal.safety_notes")
PERSONAL_FIELDS = PERSONAL_TEXT_FIELDS + ("personal.needs",)
CONSENT_FIELDS = ("consent.given", "consent.obtained_by", "consent.obtained_date", "consent.obtained_time",
                  "consent.scope", "consent.expires_date")
OVERRIDE_FIELDS = ("override.use", "override.reason")
CHOICE_FIELDS = ("urgency", "risk_level")
LIST_FIELDS = ("services_requested", "consent.scope")  # checkboxes: several values
FORM_FIELDS = PROFILE_FIELDS + PERSONAL_FIELDS + CHOICE_FIELDS + ("services_requested",) + CONSENT_FIELDS \
    + OVERRIDE_FIELDS

# The API's name -> the form field its error belongs beside (names not listed are the same
# on both sides; a list item's error, `personal.needs.2`, goes to its list's field).
API_TO_FORM = {
    "consent": "consent.given",
    "consent.obtained_at": "consent.obtained_date",
    "consent.expires_at": "consent.expires_date",
    "override": "override.use",
    "override.at": "override.use",
    "profile": "profile.client_ref",
    "personal": "personal.name",
}

def override_allowed(may_override: bool, risk_level: str | None) -> bool:
    """A supervisor (who holds `referral:consent_override`) at severe risk, and nobody else."""
    return may_override and risk_level in OVERRIDE_RISK_LEVELS


def form_field(api_field: str) -> str:
    """Where on the form an error the API gives for `api_field` is shown ("" = the top)."""
    name = api_field or ""
    if name in API_TO_FORM:
        return API_TO_FORM[name]
    if name in FORM_FIELDS:
        return name
    parts = name.split(".")
    while len(parts) > 1:  # `personal.needs.0` -> `personal.needs`
        parts.pop()
        prefix = ".".join(parts)
        if prefix in API_TO_FORM:
            return API_TO_FORM[prefix]
        if prefix in FORM_FIELDS:
            return prefix
    return ""


def errors_by_field(errors, to_form=None) -> dict[str, list[str]]:
    """The API's field errors (objects with `field` and `message`), grouped by the form field
    `to_form` names for each (the refer form's by default)."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        messages = grouped.setdefault((to_form or form_field)(error.field), [])
        if error.message not in messages:
            messages.append(error.message)
    return grouped


def lines(text: str | None) -> list[str]:
    """Needs typed one per line, blank lines dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def vietnam_time(day: str | None, clock: str | None, *, end_of_day: bool = False) -> datetime | None:
    """A date (yyyy-mm-dd) and time (HH:MM) typed in Vietnam time, as an aware datetime;
    None when no date was typed. Raises ValueError when what was typed is not a date/time."""
    if not (day or "").strip():
        return None
    on = date.fromisoformat(day.strip())
    if (clock or "").strip():
        at = time.fromisoformat(clock.strip())
    else:
        at = time(23, 59, 59) if end_of_day else time(0, 0)
    return datetime.combine(on, at, tzinfo=VIETNAM)


@dataclass(frozen=True)
class Problem:
    field: str
    code: str  # what is wrong, for the entrypoint's translated message


def check(values: dict, may_override: bool, *, creating: bool = True) -> list[Problem]:
    """What the portal can tell at once, before asking the API (which checks everything
    again): the answers a new referral cannot go without, the override rule, and the
    typed dates and times. Said all at once: the API would name them one step at a time
    (its schema first, then consent)."""
    problems = []
    if creating:
        for name in ("profile.client_ref", "urgency", "risk_level"):
            if not (values.get(name) or "").strip():
                problems.append(Problem(name, "missing"))
        if not values.get("override.use") and values.get("consent.given") not in ("yes", "no"):
            problems.append(Problem("consent.given", "missing"))
    if values.get("override.use"):
        if not may_override:
            problems.append(Problem("override.use", "override_not_permitted"))
        elif not override_allowed(may_override, values.get("risk_level")):
            problems.append(Problem("override.use", "override_needs_severe"))
        if not (values.get("override.reason") or "").strip():
            problems.append(Problem("override.reason", "override_needs_reason"))
    for day, clock, end in (("consent.obtained_date", "consent.obtained_time", False),
                            ("consent.expires_date", None, True)):
        try:
            vietnam_time(values.get(day), values.get(clock) if clock else None, end_of_day=end)
        except ValueError:
            problems.append(Problem(day, "not_a_date"))
    return problems


def _text(values: dict, name: str) -> str | None:
    value = (values.get(name) or "").strip()
    return value or None


def consent_body(values: dict) -> dict | None:
    """The consent record, or None when the "did she agree" question was not answered (the
    API then says a consent or an override is needed, beside that question)."""
    given = values.get("consent.given")
    if given not in ("yes", "no"):
        return None
    obtained = vietnam_time(values.get("consent.obtained_date"), values.get("consent.obtained_time"))
    expires = vietnam_time(values.get("consent.expires_date"), None, end_of_day=True)
    return {"given": given == "yes", "obtained_by": (values.get("consent.obtained_by") or "").strip(),
            "obtained_at": obtained.isoformat() if obtained else None,
            "scope": list(values.get("consent.scope") or []),
            "expires_at": expires.isoformat() if expires else None}


def override_body(values: dict) -> dict | None:
    if not values.get("override.use"):
        return None
    return {"reason": (values.get("override.reason") or "").strip()}


def personal_body(values: dict) -> dict | None:
    """The personal details, or None when nothing personal was typed (then nothing personal
    is stored with the referral at all)."""
    body = {name.split(".", 1)[1]: _text(values, name) for name in PERSONAL_TEXT_FIELDS}
    body["needs"] = lines(values.get("personal.needs"))
    return body if any(v for v in body.values()) else None


def create_body(values: dict, service_id: str) -> dict:
    """The body of POST /v1/referrals from the form's values. Every API field the form has
    is carried as typed (trimmed); a blank optional field is left null, never invented.
    Call `check` first: it catches dates that are not dates."""
    return {
        "receiving_service_id": service_id,
        "urgency": values.get("urgency") or None,
        "risk_level": values.get("risk_level") or None,
        "services_requested": list(values.get("services_requested") or []),
        "profile": {"client_ref": (values.get("profile.client_ref") or "").strip(),
                    "age_group": values.get("profile.age_group") or "unknown",
                    "gender": values.get("profile.gender") or "undisclosed"},
        "personal": personal_body(values),
        "consent": consent_body(values),
        "override": override_body(values),
    }


def re_refer_body(values: dict, service_id: str) -> dict:
    """The body of POST /v1/referrals/<id>/re-refer: the survivor's details stay those of
    the declined referral (the API carries them over); urgency, risk, help asked and a
    renewed consent or an override may change."""
    return {
        "receiving_service_id": service_id,
        "services_requested": list(values.get("services_requested") or []) or None,
        "urgency": values.get("urgency") or None,
        "risk_level": values.get("risk_level") or None,
        "consent": consent_body(values),
        "override": override_body(values),
    }


def api_body(body: dict) -> dict:
    """`create_body`/`re_refer_body` as sent: a field the person left blank is left out
    rather than sent as null or "" (the API's strict schemas then answer "missing" beside
    a required one, and use their default for an optional one)."""
    sent = {k: v for k, v in body.items() if v is not None}
    if isinstance(sent.get("consent"), dict):
        sent["consent"] = {k: v for k, v in sent["consent"].items() if v is not None and v != ""}
    return sent
