"""Referring pages: the refer form and its confirmation, cancel and re-refer (blueprint
`referring`), the organization's referrals (`referrals`) and the supervisor's overview
(`supervision`).

Each view only translates the form or query string into a use case's call
(service_layer/referring.py, service_layer/my_referrals.py) and renders its answer. Forms
never lose what was typed: a refusal comes back with the errors beside their fields, a
service that is down comes back with a plain message, both with the form as it was.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from babel.lists import format_list
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from ..domain import referral_form as rules
from ..domain.errors import Conflict, NotPermitted, ServiceDown, Stale
from ..domain.referral_rows import AGENCY, SUPERVISOR_REMINDERS, Notice, Told
from ..service_layer.my_referrals import OPEN, Filters, MyReferrals
from ..service_layer.referring import Referring, Refused, deadlines_of
from .context import person, require, token, use_case
from .i18n import current_language
from .problems import SERVICE_NAMES
from .translation import lazy_gettext as _l
from .words import language_choices, word

blueprint = Blueprint("referring", __name__)
referrals_blueprint = Blueprint("referrals", __name__)
supervision_blueprint = Blueprint("supervision", __name__)

KEY_FIELD = "idempotency_key"
KEY = re.compile(r"^[A-Za-z0-9_-]{16,80}$")

# Our own checks, in words.
CODE_MESSAGES = {
    "override_not_permitted": _l("Only a supervisor can override consent."),
    "override_needs_severe": _l("Consent can be overridden only at severe risk (immediate danger to life). "
                                "Choose that risk level, or record the survivor's consent."),
    "override_needs_reason": _l("Say why the survivor's life is in immediate danger: the override is recorded and checked."),
    "not_a_date": _l("Enter a real date (and time)."),
}

# What to do about an error the API gave for a field, in words (its own message is English
# and technical; the person needs to know what to change).
FIELD_MESSAGES = {
    "profile.client_ref": _l("Enter the reference of the case in your own file: letters, digits and . _ - only, "
                             "no spaces. Never the survivor's name."),
    "profile.age_group": _l("Choose one of the answers."),
    "profile.gender": _l("Choose one of the answers."),
    "personal.phone": _l("Enter a phone number: digits, and + at the start if needed."),
    "personal.language": _l("Choose a language from the list."),
    "urgency": _l("Choose how urgent this is."),
    "risk_level": _l("Choose the risk level."),
    "services_requested": _l("Choose the help needed from the list."),
    "consent.given": _l("Answer whether the survivor agreed to this referral."),
    "consent.obtained_by": _l("Enter who asked the survivor (a user name)."),
    "consent.obtained_date": _l("Enter the date and time they agreed."),
    "consent.expires_date": _l("The last day must be after the day they agreed."),
    "consent.scope": _l("Choose from the list."),
    "override.use": _l("Consent can be overridden only at severe risk (immediate danger to life). "
                       "Choose that risk level, or record the survivor's consent."),
    "override.reason": _l("Say why the survivor's life is in immediate danger: the override is recorded and checked."),
}
DID_NOT_CONSENT = _l("They did not agree. Without the survivor's consent only a supervisor can refer, and only "
                     "when their life is in immediate danger.")
OUTSIDE_SCOPE = _l("The survivor has not agreed to share this. Tick it under what they agreed to share, or leave it blank.")
CONSENT_LATER = _l("Consent must come before the referral: check the date and time.")
CONSENT_EXPIRED = _l("The survivor's consent has expired: ask again and record the new answer.")
TOO_LONG_OR_WRONG = _l("Check what you typed here: it is too long or not in the right form.")
PROBLEM_MESSAGES = {
    "inactive-service": _l("This service is not taking referrals now. Go back to the search and choose another."),
    "unknown-service": _l("This service is no longer in the directory. Go back to the search and choose another."),
    "idempotency-key-reused": _l("This form was already sent with other answers. Open the form again to send a "
                                 "new referral."),
}
NOT_SENT = _l("The referral was not sent. Check the answers marked below.")
DOWN = _l("%(service)s is not answering, so nothing was sent. Everything you typed is kept: send it again in "
          "a minute.")


def _field_message(name: str, api_message: str):
    text = (api_message or "").lower()
    if name == "consent.given" and "did not consent" in text:
        return DID_NOT_CONSENT
    if name.startswith("personal.") and "scope" in text:
        return OUTSIDE_SCOPE
    if name == "consent.obtained_date" and "later" in text:
        return CONSENT_LATER
    if name == "consent.expires_date" and "expired" in text:
        return CONSENT_EXPIRED
    if name in FIELD_MESSAGES:
        return FIELD_MESSAGES[name]
    return TOO_LONG_OR_WRONG


def field_errors(refused: Refused) -> dict[str, list[str]]:
    """The refusal as the words shown beside each field ("" = at the top)."""
    shown: dict[str, list[str]] = {}
    for name, codes in refused.codes.items():
        shown.setdefault(name, []).extend(str(CODE_MESSAGES.get(c) or FIELD_MESSAGES.get(name, TOO_LONG_OR_WRONG))
                                          for c in codes)
    for name, messages in refused.messages.items():
        if not name:
            continue
        for message in messages:
            words = str(_field_message(name, message))
            if words not in shown.setdefault(name, []):
                shown[name].append(words)
    if "" in refused.messages or not shown:
        shown[""] = [str(PROBLEM_MESSAGES.get(refused.problem, NOT_SENT))]
    return shown


def form_values() -> dict:
    values = {name: request.form.get(name, "") for name in rules.FORM_FIELDS if name not in rules.LIST_FIELDS}
    for name in rules.LIST_FIELDS:
        values[name] = request.form.getlist(name)
    return values


def form_key() -> str:
    sent = request.form.get(KEY_FIELD, "")
    return sent if KEY.match(sent) else secrets.token_urlsafe(24)


def kind_name(kinds: list[dict], code: str) -> str:
    for kind in kinds:
        if kind.get("code") == code:
            return kind.get("name_vi" if current_language() == "vi" else "name_en") or code
    return code.replace("_", " ")


def kind_choices(kinds: list[dict]) -> list[tuple[str, str]]:
    return [(k["code"], kind_name(kinds, k["code"])) for k in kinds]


REFERRING, MY_REFERRALS = "referring", "my_referrals"  # the use cases' names in bootstrap's wiring


def referring() -> Referring:
    return use_case(REFERRING)


def my_referrals() -> MyReferrals:
    return use_case(MY_REFERRALS)


def referral_page(referral_id: str) -> str:
    try:
        return url_for("referral.page", referral_id=referral_id)
    except BuildError:  # that page is another blueprint's; its address is agreed
        return f"/referrals/{referral_id}"


def search_page(**args) -> str:
    try:
        return url_for("search.search", **args)
    except BuildError:
        return url_for("referrals.mine")


def down_message(exc: ServiceDown) -> str:
    return str(DOWN % {"service": SERVICE_NAMES.get(exc.service, exc.service)})


def _form_context(service_id: str):
    """The service and the kinds for the form's top and its choices; with the directory down,
    the form still shows (and says so)."""
    notice = None
    try:
        service = referring().service(token(), service_id, datetime.now(rules.VIETNAM))
        kinds = referring().kinds(token())
    except ServiceDown as exc:
        service, kinds, notice = None, [], down_message(exc)
    return service, kinds, notice


def _defaults(service_kind: str | None = None) -> dict:
    """A new form: the service's kind asked for, consent asked by this person, now."""
    now = datetime.now(rules.VIETNAM)
    values = {name: "" for name in rules.FORM_FIELDS}
    values.update({"services_requested": [service_kind] if service_kind else [], "consent.scope": [],
                   "consent.obtained_by": person().subject, "consent.obtained_date": now.date().isoformat(),
                   "consent.obtained_time": now.strftime("%H:%M")})
    return values


# --- the refer form ---------------------------------------------------------------------


@blueprint.route("/services/<uuid:service_id>/refer", methods=["GET", "POST"], endpoint="new")
def refer(service_id):
    identity = require("referral:create")
    service_id = str(service_id)
    service, kinds, notice = _form_context(service_id)
    if request.method == "GET":
        return render_template("refer.html", service=service, kinds=kinds, values=_defaults(
            service.kind if service else None), errors={}, key=form_key(), notice=notice,
            may_override=identity.may_override_consent, now=datetime.now(rules.VIETNAM))
    values, key = form_values(), form_key()

    def again(errors, status, message=None):
        return render_template("refer.html", service=service, kinds=kinds, values=values, errors=errors, key=key,
                               notice=message or notice, may_override=identity.may_override_consent,
                               now=datetime.now(rules.VIETNAM)), status

    try:
        outcome = referring().send(token(), service_id, values, key, identity.may_override_consent)
    except ServiceDown as exc:
        return again({}, 503, down_message(exc))
    except NotPermitted:
        return again({"override.use": [str(CODE_MESSAGES["override_not_permitted"])]}, 403)
    if isinstance(outcome, Refused):
        return again(field_errors(outcome), 422)
    return redirect(url_for("referring.sent", referral_id=outcome.referral_id, **({"again": 1} if outcome.replayed
                                                                                   else {})), 303)


@blueprint.route("/referrals/<uuid:referral_id>/sent", endpoint="sent")
def sent(referral_id):
    require("referral:read")
    body, _etag = referring().read(token(), str(referral_id))
    service = None
    try:
        service = referring().service(token(), body.get("receiving_service_id", ""))
        kinds = referring().kinds(token())
    except ServiceDown:
        kinds = []
    return render_template("referral_sent.html", referral=body, service=service, kinds=kinds,
                           deadlines=deadlines_of(body), again=bool(request.args.get("again")),
                           referral_url=referral_page(body["id"]), search_url=search_page())


# --- cancel -----------------------------------------------------------------------------


@blueprint.route("/referrals/<uuid:referral_id>/cancel", methods=["GET", "POST"], endpoint="cancel")
def cancel(referral_id):
    require("referral:cancel")
    referral_id = str(referral_id)
    use = referring()
    body, etag = use.read(token(), referral_id)
    context = {"referral": body, "referral_url": referral_page(referral_id)}
    if request.method == "GET":
        return render_template("cancel.html", values={}, errors={}, version=etag, **context)
    values = {"reason": request.form.get("reason", ""), "note": request.form.get("note", "")}
    sent_version = request.form.get("version") or None
    try:
        outcome = use.cancel(token(), referral_id, values["reason"], values["note"], sent_version)
    except Stale:
        return render_template("cancel.html", values=values, errors={}, version=etag, stale="changed",
                               **context), 412
    except Conflict:
        return render_template("cancel.html", values=values, errors={}, version=etag, stale="moved",
                               **context), 409
    except ServiceDown as exc:
        return render_template("cancel.html", values=values, errors={}, version=sent_version,
                               notice=down_message(exc), **context), 503
    if isinstance(outcome, Refused):
        errors = {}
        for name, messages in outcome.messages.items():
            if name == "note":
                errors["note"] = [str(NOTE_NEEDED)]
            elif name == "reason":
                errors["reason"] = [str(REASON_NEEDED)]
        if not errors:
            errors[""] = [str(NOT_CANCELLED)]
        return render_template("cancel.html", values=values, errors=errors, version=sent_version, **context), 422
    return redirect(referral_page(referral_id) + "?cancelled=1", 303)


NOTE_NEEDED = _l("Say in a few words why it is cancelled.")
REASON_NEEDED = _l("Choose a reason from the list.")
NOT_CANCELLED = _l("The referral was not cancelled. Check your answers.")


# --- re-refer ---------------------------------------------------------------------------


@blueprint.route("/referrals/<uuid:referral_id>/re-refer", methods=["GET", "POST"], endpoint="re_refer")
def re_refer(referral_id):
    identity = require("referral:create")
    referral_id = str(referral_id)
    use = referring()
    previous, _etag = use.read(token(), referral_id)
    service_id = (request.values.get("service_id") or "").strip()
    if not service_id:
        return redirect(search_page(re_refer=referral_id, kind=previous.get("service_kind") or None))
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", service_id):
        abort(404)
    service, kinds, notice = _form_context(service_id)
    try:
        declined_by = use.service(token(), previous.get("receiving_service_id", ""))
    except ServiceDown:
        declined_by = None
    context = {"previous": previous, "service": service, "kinds": kinds, "declined_by": declined_by,
               "may_override": identity.may_override_consent, "service_id": service_id,
               "possible": "re_refer" in (previous.get("allowed_actions") or []),
               "referral_url": referral_page(referral_id), "now": datetime.now(rules.VIETNAM)}
    if request.method == "GET":
        values = _defaults()
        values.update({"urgency": previous.get("urgency", ""), "risk_level": previous.get("risk_level", ""),
                       "services_requested": [service.kind] if service else list(previous.get("services_requested")
                                                                                 or []),
                       "consent.obtained_date": "", "consent.obtained_time": ""})
        return render_template("re_refer.html", values=values, errors={}, notice=notice, **context)
    values = form_values()
    try:
        outcome = use.re_refer(token(), referral_id, service_id, values, identity.may_override_consent)
    except ServiceDown as exc:
        return render_template("re_refer.html", values=values, errors={}, notice=down_message(exc), **context), 503
    except NotPermitted:
        return render_template("re_refer.html", values=values, notice=notice, errors={
            "override.use": [str(CODE_MESSAGES["override_not_permitted"])]}, **context), 403
    except Conflict:
        return render_template("re_refer.html", values=values, notice=notice, errors={
            "": [str(NOT_RE_REFERABLE)]}, **context), 409
    if isinstance(outcome, Refused):
        errors = field_errors(outcome)
        if outcome.messages.get("") and any("another service" in m for m in outcome.messages[""]):
            errors[""] = [str(SAME_SERVICE)]
        return render_template("re_refer.html", values=values, errors=errors, notice=notice, **context), 422
    return redirect(url_for("referring.sent", referral_id=outcome.referral_id,
                            **({"again": 1} if outcome.replayed else {})), 303)


NOT_RE_REFERABLE = _l("This referral cannot be sent on: only a declined referral can, and only once.")
SAME_SERVICE = _l("Choose another service than the one that declined.")


# --- my referrals -----------------------------------------------------------------------


def _list_context(filters: Filters):
    try:
        kinds = referring().kinds(token())
    except ServiceDown:
        kinds = []
    return kinds


@referrals_blueprint.route("/referrals", endpoint="mine")
def mine():
    require("referral:read")
    filters, ignored = Filters.from_query(request.args)
    kinds = _list_context(filters)
    found = my_referrals().page(token(), filters)
    return render_template("my_referrals.html", page=found, filters=filters, ignored=ignored, kinds=kinds,
                           open_statuses=OPEN, referral_page=referral_page)


# --- supervision ------------------------------------------------------------------------


@supervision_blueprint.route("/supervision", endpoint="overview")
def overview():
    identity = person()
    if not identity.is_supervisor:
        raise NotPermitted("supervision")
    seen = my_referrals().overview(token())
    kinds = _list_context(Filters())
    return render_template("supervision.html", late=seen.late, waiting=seen.waiting, counts=seen.counts,
                           kinds=kinds, referral_page=referral_page, search_url=search_page(),
                           incidents=_incidents_to_report())


def _incidents_to_report() -> dict[str, int]:
    """How many of her organization's serious incidents still owe their written report:
    overdue (`missing`) and not yet due (`due`)."""
    from .ops import INCIDENTS  # the ops pages own the incidents' use case (and import this module)
    from ..service_layer.incidents import IncidentFilters

    listing = use_case(INCIDENTS)
    return {state: listing.listing(token(), IncidentFilters(state=state), per_page=1).total
            for state in ("missing", "due")}


# --- who was told, in words ----------------------------------------------------------------

# A channel inside a sentence ("Agency told by email and SMS"): word('channel') gives labels.
CHANNEL_IN_SENTENCE = {"email": _l("email"), "sms": _l("SMS"), "webhook": _l("the organization's own system")}
TOLD = {(AGENCY, True): _l("Agency told by %(channels)s"),
        (AGENCY, False): _l("Not delivered to the agency by %(channels)s"),
        ("user", True): _l("Referrer told by %(channels)s"),
        ("user", False): _l("Not delivered to the referrer by %(channels)s")}
PARTLY_TOLD = {AGENCY: _l("Not every message to the agency by %(channels)s arrived"),
               "user": _l("Not every message to the referrer by %(channels)s arrived")}
RECIPIENT = {AGENCY: _l("The agency"), "user": _l("The referrer")}
# notify tells the referring organization's supervisors too when an emergency escalates
ESCALATION_RECIPIENTS = _l("The referrer or a supervisor")
REFERRER_SYSTEM = _l("Your organization's system")
SUPERVISORS = _l("The organization's supervisors")
EVENT_ACTIONS = {"created": "create", "acknowledged": "acknowledge", "accepted": "accept", "declined": "decline",
                 "completed": "complete", "cancelled": "cancel", "escalated": "escalate",
                 "incident_due": "incident_due", "incident_missed": "incident_missed"}


def channel_list(channels) -> str:
    return format_list([str(CHANNEL_IN_SENTENCE.get(c) or word("channel", c)) for c in channels],
                       locale=current_language())


def told_phrases(told: tuple[Told, ...]) -> list[tuple[str, bool]]:
    """The summary line of a row, as (words, reached) pieces: reached ones, then failures."""
    pieces = []
    for one in told:
        for reached, channels in ((True, one.delivered), (False, one.failed)):
            if channels and (one.recipient_kind, reached) in TOLD:
                pieces.append((str(TOLD[(one.recipient_kind, reached)] % {"channels": channel_list(channels)}),
                               reached))
        if one.partial and one.recipient_kind in PARTLY_TOLD:
            pieces.append((str(PARTLY_TOLD[one.recipient_kind] % {"channels": channel_list(one.partial)}), False))
    return pieces


def notice_who(notice: Notice) -> str:
    if notice.event_kind in SUPERVISOR_REMINDERS:
        return str(SUPERVISORS)
    if notice.recipient_kind == "user" and notice.event_kind == "escalated":
        return str(ESCALATION_RECIPIENTS)
    found = RECIPIENT.get(notice.recipient_kind)
    return str(found) if found else word("role", notice.recipient_kind)


def notice_channel(notice: Notice) -> str:
    if notice.recipient_kind == "user" and notice.channel == "webhook":
        return str(REFERRER_SYSTEM)  # the referring organization's subscription, not the agency's
    return word("channel", notice.channel)


def notice_event(notice: Notice) -> str:
    return word("action", EVENT_ACTIONS.get(notice.event_kind, notice.event_kind))


def _helpers() -> dict:
    return {"kind_name": kind_name, "kind_choices": kind_choices, "language_choices": language_choices,
            "referral_page": referral_page, "told_phrases": told_phrases, "notice_who": notice_who,
            "notice_channel": notice_channel, "notice_event": notice_event}


for _page in (blueprint, referrals_blueprint, supervision_blueprint):
    _page.context_processor(_helpers)

PAGES = (blueprint, referrals_blueprint, supervision_blueprint)
