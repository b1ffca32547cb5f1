"""Every code the APIs use, as the words a person reads (translated). A page never shows
`no_capacity` or `acknowledged`: it shows "No free places" or "Đã xác nhận"."""
from __future__ import annotations

from .translation import gettext, marked as _l  # marked here, translated by word() and choices()

WORDS: dict[str, dict[str, str]] = {
    "status": {
        "sent": _l("Sent, waiting for the agency"), "acknowledged": _l("Seen by the agency"),
        "accepted": _l("Accepted"), "completed": _l("Completed"), "declined": _l("Declined"),
        "cancelled": _l("Cancelled"),
    },
    "urgency": {"emergency": _l("Emergency"), "high": _l("High"), "normal": _l("Normal")},
    "risk_level": {"low": _l("Low risk"), "medium": _l("Medium risk"), "high": _l("High risk"),
                   "severe": _l("Severe risk (immediate danger)")},
    "decline_reason": {
        "no_capacity": _l("No free places"), "not_eligible": _l("Not eligible for this service"),
        "out_of_area": _l("Outside the area served"), "client_unreachable": _l("Could not reach the survivor"),
        "client_declined": _l("The survivor said no"), "duplicate": _l("Duplicate referral"), "other": _l("Other reason"),
    },
    "cancel_reason": {
        "consent_withdrawn": _l("The survivor withdrew their consent"), "client_safe": _l("The survivor is safe now"),
        "referred_elsewhere": _l("Referred elsewhere"), "entered_in_error": _l("Entered in error"),
        "other": _l("Other reason"),
    },
    "action": {
        "create": _l("Referral sent"), "acknowledge": _l("Seen by the agency"), "accept": _l("Accepted"),
        "decline": _l("Declined"), "complete": _l("Completed"), "cancel": _l("Cancelled"),
        "escalate": _l("Escalated: a deadline was missed"), "re_refer": _l("Referred again"),
        "incident_marked": _l("Marked as a serious incident"),
        "incident_reported": _l("Written report of the serious incident recorded"),
        "incident_due": _l("Reminder: the written report on the serious incident is due"),
        "incident_missed": _l("The written report on the serious incident is overdue"),
    },
    "deadline_kind": {"acknowledge": _l("Agency to confirm it has seen it"), "decide": _l("Agency to decide")},
    "deadline_state": {"pending": _l("Open"), "overdue": _l("Overdue"), "met": _l("Met"), "missed": _l("Missed"),
                       "not_needed": _l("Not needed")},
    "consent_scope": {"contact": _l("Contact the survivor"), "safety_notes": _l("Share the safety notes"),
                      "needs": _l("Share the needs")},
    "age_group": {"under_16": _l("Under 16"), "16_17": _l("16 to 17"), "18_24": _l("18 to 24"),
                  "25_59": _l("25 to 59"), "60_plus": _l("60 or older"), "unknown": _l("Age not known")},
    "gender": {"female": _l("Female"), "male": _l("Male"), "other": _l("Other"), "undisclosed": _l("Not said"),
               "any": _l("Anyone")},
    "delivery_status": {"pending": _l("Waiting to be sent"), "sending": _l("Being sent"), "delivered": _l("Delivered"),
                        "dead": _l("Could not be delivered"), "undeliverable": _l("Could not be delivered")},
    "channel": {"webhook": _l("Agency system"), "email": _l("Email"), "sms": _l("SMS"), "inbox": _l("Haven inbox")},
    "service_status": {"active": _l("Open for referrals"), "inactive": _l("Not taking referrals"),
                       "temporarily_closed": _l("Temporarily closed")},
    "day": {"MO": _l("Monday"), "TU": _l("Tuesday"), "WE": _l("Wednesday"), "TH": _l("Thursday"),
            "FR": _l("Friday"), "SA": _l("Saturday"), "SU": _l("Sunday")},
    "role": {"caseworker": _l("Caseworker"), "agency_staff": _l("Agency staff"), "supervisor": _l("Supervisor"),
             "directory_admin": _l("Directory administrator"), "ops": _l("Operations"), "admin": _l("Administrator")},
    "area_level": {"province": _l("Province"), "district": _l("District"), "commune": _l("Commune")},
    # The languages survivors in Vietnam most often speak, by the codes the directory and the
    # referral API use (ISO 639); "blt" and "tts" are both Thái.
    "language": {"vi": _l("Vietnamese"), "tyz": _l("Tày"), "nut": _l("Nùng"), "hmn": _l("H'Mông"), "blt": _l("Thái"),
                 "tts": _l("Thái"), "mtq": _l("Mường"), "km": _l("Khmer"), "en": _l("English"), "zh": _l("Chinese"),
                 "cjm": _l("Chăm"), "ede": _l("Ê Đê"), "jra": _l("Gia Rai")},
}


def word(group: str, code) -> str:
    """The words for `code` in `group`; an unknown code (a newer API) reads as itself, with
    underscores as spaces, rather than breaking the page."""
    if code is None or code == "":
        return ""
    found = WORDS.get(group, {}).get(str(code))
    return gettext(found) if found is not None else str(code).replace("_", " ")


def choices(group: str) -> list[tuple[str, str]]:
    return [(code, gettext(label)) for code, label in WORDS[group].items()]


def language_name(code) -> str:
    """A language's name, for a code with or without its region (vi, en-GB)."""
    return word("language", str(code).split("-")[0]) if code else ""


def language_choices() -> list[tuple[str, str]]:
    """The languages to pick from, on the search filters and the refer form alike, by name
    (Thái once)."""
    return sorted(((code, name) for code, name in choices("language") if code != "tts"), key=lambda pair: pair[1])
