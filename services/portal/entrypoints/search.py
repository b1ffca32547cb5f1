"""The caseworker's search (GET /search), its autocomplete (GET /search/suggest) and a
service's page (GET /services/<id>).

Every filter lives in the query string, so a search is a link a colleague can open and
Back returns to it; a search describes services, never a person. The page works without
JavaScript; static/search.js only adds the autocomplete and "near me".
"""
from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from urllib.parse import quote, quote_plus, urlencode

from babel.dates import format_date
from flask import Blueprint, g, jsonify, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from ..domain.errors import Rejected, ServiceDown, SignInRequired
from ..domain.opening_hours import WEEKDAYS, OpenState, dates, week
from ..service_layer.searching import AreaTree, SearchPage, Searching, link_args, read_filters
from .context import person, token, use_case
from .i18n import VIETNAM, current_language
from .sessions import passive
from .translation import gettext as _, lazy_gettext as _l
from .words import language_choices, language_name, word

blueprint = Blueprint("search", __name__)


SEARCHING = "searching"  # the use case's name in bootstrap's wiring


def searching() -> Searching:
    return use_case(SEARCHING)


# What each problem code of the filters says, next to its field.
PROBLEMS = {
    "not_a_number": _l("Enter the distance as a number of kilometres, for example 10."),
    "radius_out_of_range": _l("Enter a distance between 1 and 2000 kilometres."),
    "radius_needs_location": _l("A distance needs a place to measure from: use “Near me” or choose a commune or "
                                "district, or leave the distance empty."),
    "bad_location": _l("Your location could not be read. Use “Near me” again."),
    "bad_time": _l("Enter a date and time, for example 2026-12-24 18:30."),
    "time_needed": _l("Enter the date and time the service must be open."),
    "bad_age": _l("Enter the age in whole years, for example 17."),
    "unknown_gender": _l("Choose a gender from the list."),
    "unknown_kind": _l("Choose a kind of service from the list."),
    "unknown_area": _l("Choose a place from the list."),
    "unknown_place": _l("This place cannot be searched around. Choose a commune or district from the list."),
    "unknown_language": _l("Choose a language from the list."),
    "rejected": _l("The directory could not use this filter. Change it and search again."),
}
# The directory's field names (422 field errors) -> the page's fields.
API_FIELDS = {"kind": "kind", "province": "province", "district": "area", "commune": "area", "radius_km": "radius",
              "lat": "near", "lon": "near", "open_at": "at", "age": "age", "gender": "gender",
              "language": "language", "q": "q"}
NARROWING = {"kind": _l("Search every kind of service"), "area": _l("Search every province"),
             "near": _l("Search at any distance"), "open": _l("Search whatever the opening hours"),
             "free": _l("Include services with no free places now"), "language": _l("Search every language"),
             "age": _l("Search without the age"), "gender": _l("Search services for anyone")}
WITHOUT = {"kind": {"kind": []}, "area": {"province": "", "area": ""}, "near": {"lat": "", "lon": "", "near_area": "",
           "radius": "", "sort": ""}, "open": {"open": "", "at": ""}, "free": {"free": ""}, "language": {"language": []},
           "age": {"age": ""}, "gender": {"gender": ""}}


def highlighted(parts) -> Markup:
    """Text pieces with the matches marked, escaped here piece by piece: the only HTML in
    the result is the <mark> this function writes."""
    # escape() and str concatenation, not Markup.format: a results page marks hundreds of pieces
    return Markup("".join(f"<mark>{escape(text)}</mark>" if marked else str(escape(text))
                          for text, marked in parts or []))


def kind_name(code: str, kinds: list[dict]) -> str:
    for kind in kinds or []:
        if kind.get("code") == code:
            return str(kind.get("name_vi" if current_language() == "vi" else "name_en") or kind.get("name_en") or "")
    return word("kind", code)


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def opening_words(state: OpenState, now: datetime, status: str = "active") -> tuple[str, str, str]:
    """(headline, detail, tone) for a service's opening state: "Open now" / "until 17:00",
    "Closed now" / "Opens tomorrow at 07:30". Times are the service's local (Vietnam) time."""
    if not state.taking_referrals:
        return word("service_status", status), "", "danger"
    if state.open and state.always:
        return _("Open 24 hours"), "", "ok"
    if state.open:
        if state.closes_at is None:
            return _("Open now"), "", "ok"
        days = (state.closes_at.date() - now.astimezone(state.closes_at.tzinfo).date()).days
        if days == 0:
            return _("Open now"), _("Open until %(time)s", time=_clock(state.closes_at)), "ok"
        if days == 1:
            return _("Open now"), _("Open until %(time)s tomorrow", time=_clock(state.closes_at)), "ok"
        return _("Open now"), _("Open until %(day)s %(time)s", day=word("day", WEEKDAYS[state.closes_at.weekday()]),
                                time=_clock(state.closes_at)), "ok"
    if state.next_opens_at is None:
        return _("Closed now"), _("No opening hours in the next two weeks"), "muted"
    moment = state.next_opens_at
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    if days == 0:
        detail = _("Opens today at %(time)s", time=_clock(moment))
    elif days == 1:
        detail = _("Opens tomorrow at %(time)s", time=_clock(moment))
    elif days < 7:
        detail = _("Opens %(day)s at %(time)s", day=word("day", WEEKDAYS[moment.weekday()]), time=_clock(moment))
    else:
        detail = _("Opens on %(date)s at %(time)s", time=_clock(moment),
                   date=format_date(moment, "dd/MM" if current_language() == "vi" else "d MMM",
                                    locale=current_language()))
    return _("Closed now"), detail, "warn"


def _path(endpoint: str, **values) -> str:
    """url_for, once a request per endpoint: it costs tens of microseconds, and a results
    page links to /search twenty times and to a service page from every result."""
    built = g.get("portal_paths")
    if built is None:
        built = g.portal_paths = {}
    path = built.get(endpoint)
    if path is None:
        path = built[endpoint] = url_for(endpoint, **values)
    return path


def search_url(args) -> str:
    """/search with these query arguments (pairs: a name may repeat), encoded as urlencode
    does. A results page writes the same filter values into twenty links: each is quoted
    once a request (and forgotten with it: what was typed is not kept)."""
    quoted = g.get("portal_quoted")
    if quoted is None:
        quoted = g.portal_quoted = {}

    def encoded(text) -> str:
        text = str(text)
        piece = quoted.get(text)
        if piece is None:
            piece = quoted[text] = quote_plus(text)
        return piece

    query = "&".join(f"{encoded(name)}={encoded(value)}" for name, value in args)
    return _path("search.search") + (f"?{query}" if query else "")


_ANY_SERVICE = "00000000-0000-0000-0000-000000000000"


def service_url(service_id: str, re_refer: str = "") -> str:
    """A service's page (carrying a re-referral on): its path with this id put in."""
    path = _path("search.service", service_id=_ANY_SERVICE).replace(_ANY_SERVICE, quote(str(service_id), safe=""))
    return f"{path}?{urlencode({'re_refer': re_refer})}" if re_refer else path


def near_options(tree: AreaTree, chosen: str, nothing: str) -> Markup:
    """The "near a commune or district" list's options, by province. Every search page
    shows all of them (a province's worth, or a country's), so they are written once per
    area list and language, and the chosen one marked in the written text."""
    options = _near_options(tree, str(nothing))
    if chosen:
        option = f'<option value="{escape(chosen)}">'
        options = options.replace(option, option[:-1] + " selected>", 1)
    return Markup(options)


@functools.lru_cache(maxsize=8)  # one area list at a time (re-read every few minutes), two languages
def _near_options(tree: AreaTree, nothing: str) -> str:
    options = [f'<option value="">{escape(nothing)}</option>']
    for province, places in tree.places():
        options.append(f'<optgroup label="{escape(province.name)}">')
        options += [f'<option value="{escape(code)}">{escape(text)}</option>' for code, text in places]
        options.append("</optgroup>")
    return "\n".join(options)


def tel(number: str) -> str:
    """A phone number as a tel: link takes it (digits and a leading +)."""
    return re.sub(r"[^0-9+]", "", str(number or ""))


def refer_url(service_id: str, re_refer: str = "") -> str:
    if re_refer:
        return f"/referrals/{re_refer}/re-refer?service_id={service_id}"
    try:
        return url_for("referring.new", service_id=service_id)
    except BuildError:  # the referral pages are not installed (yet): their path is fixed
        return f"/services/{service_id}/refer"


def _messages(problems: dict[str, str]) -> dict[str, list[str]]:
    return {name: [str(PROBLEMS.get(code, PROBLEMS["rejected"]))] for name, code in problems.items()}


@blueprint.app_template_global("search_helpers")
def _helpers() -> dict:
    return {"highlighted": highlighted, "kind_name": kind_name, "language_name": language_name,
            "opening_words": opening_words, "search_url": search_url, "link_args": link_args,
            "refer_url": refer_url, "service_url": service_url, "near_options": near_options, "tel": tel}


@blueprint.route("/search")
def search():
    identity = person()
    filters, problems = read_filters(request.args.to_dict(flat=False))
    now = datetime.now(timezone.utc)
    use = searching()
    try:
        page = use.search(filters, problems, token(), now)
    except ServiceDown:
        page = SearchPage(filters=filters, problems=problems, down=True, kinds=_quietly(use.kinds) or [],
                          tree=_quietly(use.areas))
    except Rejected as refused:  # the directory refused a filter the portal let through
        fields = {**API_FIELDS, "lat": "near_area", "lon": "near_area"} if filters.near_area else API_FIELDS
        found = {fields.get(e.field.split(".")[0], ""): "rejected" for e in refused.errors} or {"": "rejected"}
        found = {name or "q": code for name, code in found.items()}
        page = SearchPage(filters=filters, problems={**problems, **found}, kinds=_quietly(use.kinds) or [],
                          tree=_quietly(use.areas))
    narrowing = [(name, str(NARROWING[name]), search_url(link_args(page.filters, page="", **WITHOUT[name])))
                 for name in page.filters.narrowed]
    status = 503 if page.down else (400 if page.problems else 200)
    return render_template("search.html", page=page, filters=page.filters, errors=_messages(page.problems),
                           narrowing=narrowing, now=now, may_refer=identity.can("referral:create"),
                           languages=language_choices()), status


def _quietly(call):
    try:
        return call()
    except ServiceDown:
        return None


@blueprint.route("/search/suggest")
@passive  # the box asks by itself as she types: that is not her being active
def suggest():
    try:
        found = searching().suggest(request.args.get("q", ""), token())
    except SignInRequired:
        return jsonify(suggestions=[]), 401
    except (ServiceDown, Rejected):
        found = []  # the box still submits; the results page says what is wrong
    return jsonify(suggestions=[{"text": s["text"], "parts": [[t, m] for t, m in s["parts"]]} for s in found])


@blueprint.route("/services/<uuid:service_id>")
def service(service_id):
    identity = person()
    now = datetime.now(timezone.utc)
    re_refer = read_filters({"re_refer": request.args.getlist("re_refer")})[0].re_refer
    found = searching().service(str(service_id), token(), now)
    record = found["service"]
    return render_template("service.html", found=found, record=record, now=now, re_refer=re_refer,
                           week=week(record), closed_on=[d for d in dates(record.get("closed_on"))
                                                         if d >= now.astimezone(VIETNAM).date()][:8],
                           kinds=_quietly(searching().kinds) or [],
                           may_refer=identity.can("referral:create"),
                           refer=refer_url(str(service_id), re_refer))
