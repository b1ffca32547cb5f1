"""Ops pages (`/ops/...`), for ops, admin and supervisors: the programme's indicators with a
chart of them, the serious incidents with their written-report deadlines, and the yearly
report to download.

Every view here is a GET with its choices in the query string (areas, kinds, dates: never
a person), so each works without JavaScript, Back works, and a view can be shared. The
referral service decides what each person may see (a supervisor, their own organization's
referrals); these views only translate and render.
"""
from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_percent
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _

from ..domain import errors, figures
from ..service_layer import incidents as i
from ..service_layer import indicators as ind
from . import ops_charts
from .context import person, token, use_case
from .i18n import VIETNAM, current_language, duration, number
from .referring import down_message
from .translation import lazy_gettext as _l
from .words import word

blueprint = Blueprint("ops", __name__)

INDICATORS, YEARLY_REPORT, INCIDENTS = "ops.indicators", "ops.yearly_report", "ops.incidents"
ROLES = frozenset({"ops", "admin", "supervisor"})
NOT_SHOWN = "—"

FILTER_MESSAGES = {
    ind.NOT_A_DATE: _l("Enter a date, such as 01/12/2025."),
    ind.BEFORE_START: _l("The last day must not be before the first day."),
    ind.TOO_LONG: _l("Choose at most 3 years."),
    ind.UNKNOWN_AREA: _l("This area is not in the directory. Choose one from the list."),
    ind.UNKNOWN_KIND: _l("Choose a kind of service from the list."),
    ind.UNKNOWN_GROUPING: _l("Choose from the list."),
    ind.NOT_A_YEAR: _l("Choose a year from the list."),
    ind.UNKNOWN_CHOICE: _l("Choose from the list."),
    i.UNKNOWN_STATE: _l("Choose from the list."),
}
API_FILTER_MESSAGE = _l("The referral service did not accept this filter. Check it and try again.")

GROUPINGS = {"month": _l("By month"), "area": _l("By area"), "kind": _l("By kind of service"),
             "urgency": _l("By urgency"), "risk_level": _l("By risk level")}
INCIDENT_STATES = {"due": _l("Written report due"), "missing": _l("Written report missing"),
                   "late": _l("Written report sent late"), "on_time": _l("Written report sent on time")}
INCIDENT_TAGS = {"due": "tag-warn", "missing": "tag-danger", "late": "tag-warn", "on_time": "tag-ok"}
TIMES = {"acknowledge": _l("First answer"), "decide": _l("Decision"), "complete": _l("Completed")}
GROUP_HEADINGS = {"month": _l("Month"), "area": _l("Area"), "kind": _l("Kind of service"), "urgency": _l("Urgency"),
                  "risk_level": _l("Risk")}


def _reader():
    """Ops, admin and supervisors; anyone else is told the page is not for their role."""
    identity = person()
    if not ROLES & set(identity.roles):
        raise errors.NotPermitted("ops pages")
    return identity


def _reference():
    """The directory's areas and kinds, or None when the directory is down (the figures
    still show, by code)."""
    reference = use_case(INDICATORS).reference
    try:
        reference.areas()
        reference.kinds()
    except errors.ServiceDown:
        return None
    return reference


def _messages(problems: dict[str, str]) -> dict[str, list[str]]:
    return {name: [str(FILTER_MESSAGES.get(code, API_FILTER_MESSAGE))] for name, code in problems.items()}


def _api_problems(exc: errors.Rejected) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in exc.errors or [errors.FieldError("", exc.detail)]:
        name = error.field if error.field in ("from", "to", "province", "area", "kind") else ""
        found.setdefault(name, []).append(str(API_FILTER_MESSAGE))
    return found


# --- how a figure reads ----------------------------------------------------------------------

@blueprint.app_template_global()
def figure(raw) -> str:
    """A count as published: the number, `<5` as it is, a withheld one as "hidden"."""
    if figures.is_count(raw):
        return number(raw)
    if figures.is_suppressed(raw):
        return str(raw)
    if figures.is_withheld(raw):
        return _("hidden")
    return NOT_SHOWN


@blueprint.app_template_global()
def share(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return NOT_SHOWN
    return format_percent(value, locale=current_language())


@blueprint.app_template_global()
def seconds(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return NOT_SHOWN
    return duration(value) if value >= 60 else _("under a minute")


@blueprint.app_template_global()
def incident_state(code: str) -> str:
    return str(INCIDENT_STATES.get(code, word("incident_state", code)))


@blueprint.app_template_global()
def incident_tag(code: str) -> str:
    return INCIDENT_TAGS.get(code, "tag-muted")


def _month(key: str) -> str:
    try:
        first = date.fromisoformat(f"{key}-01")
    except ValueError:
        return key
    if current_language() == "vi":
        return first.strftime("%m/%Y")
    return format_date(first, "MMM yyyy", locale="en")


def group_labels(group_by: str, keys: list[str], reference) -> list[str]:
    """Each group's key in words: a month, an area's or kind's name, an urgency..."""
    tree = reference.areas() if reference is not None else None
    kinds = {k["code"]: k for k in reference.kinds()} if reference is not None else {}
    language = current_language()
    found = []
    for key in keys:
        if key == "unknown":
            found.append(_("Not recorded (older referrals)"))
        elif group_by == "month":
            found.append(_month(key))
        elif group_by in ("province", "district", "commune"):
            area = tree.by_code.get(key) if tree is not None else None
            found.append(area.name if area is not None else key)
        elif group_by == "kind":
            kind = kinds.get(key) or {}
            found.append(kind.get(f"name_{language}") or kind.get("name_vi") or word("kind", key))
        elif group_by in ("urgency", "risk_level"):
            found.append(word(group_by, key))
        else:
            found.append(key)
    return found


def scope_names(filters: ind.StatsFilters, reference) -> list[str]:
    """The area and kind a view is narrowed to, by name: the page says what its figures cover."""
    tree = reference.areas() if reference is not None else None
    kinds = {k["code"]: k for k in reference.kinds()} if reference is not None else {}
    names = []
    place = filters.area or filters.province
    if place:
        area = tree.by_code.get(place) if tree is not None else None
        names.append(area.name if area is not None else place)
    if filters.kind:
        kind = kinds.get(filters.kind) or {}
        names.append(kind.get(f"name_{current_language()}") or kind.get("name_vi") or filters.kind)
    return names


def _period_words(start: str, end: str) -> str:
    def day(text):
        try:
            return format_date(date.fromisoformat(text), "dd/MM/yyyy" if current_language() == "vi" else "d MMM yyyy",
                               locale=current_language())
        except ValueError:
            return text
    return _("%(start)s to %(end)s", start=day(start), end=day(end)) if start and end else ""


# --- the indicators ----------------------------------------------------------------------

@blueprint.route("/ops")
def indicators():
    identity = _reader()
    reference = _reference()
    filters, problems = ind.StatsFilters.from_query(request.args, reference)
    shown, notice, status = None, None, 200
    messages = _messages(problems)
    try:
        shown = use_case(INDICATORS).figures(token(), filters)
    except errors.Rejected as exc:
        messages.update(_api_problems(exc))
        status = 422
    except errors.ServiceDown as exc:
        notice, status = down_message(exc), 503
    labels = group_labels(shown.group_by, [g.key for g in shown.groups], reference) if shown else []
    return render_template("ops.html", figures=shown, labels=labels, filters=filters, problems=messages,
                           notice=notice, reference=reference, groupings=GROUPINGS, times=TIMES,
                           whole_network=bool({"ops", "admin"} & set(identity.roles)),
                           period=_period_words(shown.period_from, shown.period_to) if shown else "",
                           chart_url=_chart(filters, shown) if shown and shown.groups else None,
                           group_heading=GROUP_HEADINGS.get(filters.group_by, ""),
                           years=_year_links(filters, shown), scope=scope_names(filters, reference),
                           measure=ind.measure), status


def _year_links(filters: ind.StatsFilters, shown: ind.Figures | None) -> list[tuple[str, str, bool]]:
    """One link per recent programme year (the one in progress and the three before it), the
    other filters kept: in December, the year just ended is the one to report."""
    current = figures.programme_year_of(_today())
    links = []
    for year in range(current, current - 4, -1):
        start, end = figures.programme_year(year)
        chosen = bool(shown) and (shown.period_from, shown.period_to) == (start.isoformat(), end.isoformat())
        links.append((f"{start:%m/%Y}–{end:%m/%Y}", url_for(".indicators", **filters.link(**{"from": start.isoformat(),
                                                                     "to": end.isoformat()})), chosen))
    return links


def _chart(filters: ind.StatsFilters, shown: ind.Figures) -> dict:
    """The chart's two addresses and sizes: wide for a desktop, narrow (horizontal bars,
    larger type for its size) for a phone, chosen by the browser (<picture>, no script)."""
    groups = len(shown.groups)
    return {"wide": url_for(".chart", **filters.link()), "narrow": url_for(".chart", **filters.link(size="narrow")),
            "wide_size": ops_charts.size(groups, 2, shown.group_by, narrow=False),
            "narrow_size": ops_charts.size(groups, 2, shown.group_by, narrow=True)}


@blueprint.route("/ops/chart.svg")
def chart():
    """The figures of `/ops` (same query) as a bar chart: referrals made and those that
    received help, by group."""
    _reader()
    reference = _reference()
    filters, _problems = ind.StatsFilters.from_query(request.args, reference)
    shown = use_case(INDICATORS).figures(token(), filters)
    labels = group_labels(shown.group_by, [g.key for g in shown.groups], reference)
    made = [ind.measure(g.measures, "counts", "created") for g in shown.groups]
    helped = [ind.measure(g.measures, "received_help", "count") for g in shown.groups]
    svg = ops_charts.bar_chart(labels, [(_("Referrals made"), made), (_("Received help"), helped)], shown.group_by,
                               narrow=request.args.get("size") == "narrow", no_data=_("No referrals"))
    answer = Response(svg, mimetype="image/svg+xml")
    answer.headers["Content-Security-Policy"] = ops_charts.content_security_policy(svg)
    return answer


# --- serious incidents -----------------------------------------------------------------------

@blueprint.route("/ops/incidents")
def incidents():
    _reader()
    filters, problems = i.IncidentFilters.from_query(request.args)
    found, notice, status = None, None, 200
    try:
        found = use_case(INCIDENTS).listing(token(), filters)
    except errors.ServiceDown as exc:
        notice, status = down_message(exc), 503
    except errors.Rejected:
        problems[""] = "api"
        status = 422
    states = [(code, str(INCIDENT_STATES[code])) for code in i.STATES]
    return render_template("ops_incidents.html", found=found, filters=filters, problems=_messages(problems),
                           notice=notice, states=states), status


# --- the yearly report -----------------------------------------------------------------------

def _today() -> date:
    return datetime.now(VIETNAM).date()


def _years(today: date) -> list[tuple[str, str]]:
    """The programme years to choose from, the one in progress first, then the last four."""
    current = figures.programme_year_of(today)
    options = []
    for year in range(current, current - 5, -1):
        start, end = figures.programme_year(year)
        words = f"{year} ({start:%m/%Y}–{end:%m/%Y})"
        options.append((str(year), words + (" " + _("(in progress)") if year == current else "")))
    return options


def _report_form(status: int, request_: ind.ReportRequest, problems: dict[str, list[str]], notice=None):
    reference = _reference()
    return render_template("ops_report.html", chosen=request_, years=_years(_today()), problems=problems,
                           notice=notice, reference=reference), status


@blueprint.route("/ops/report")
def yearly_report():
    _reader()
    chosen, problems = ind.ReportRequest.from_query(request.args, None, figures.last_finished_year(_today()),
                                                    current_language())
    return _report_form(200, chosen, _messages(problems) if request.args else {})


@blueprint.route("/ops/report/file")
def report_file():
    """The report, as the referral service made it (XLSX or CSV), handed on as a download."""
    _reader()
    chosen, problems = ind.ReportRequest.from_query(request.args, _reference(),
                                                    figures.last_finished_year(_today()), current_language())
    if problems:
        return _report_form(422, chosen, _messages(problems))
    try:
        found = use_case(YEARLY_REPORT).file(token(), chosen)
    except errors.ServiceDown as exc:
        return _report_form(503, chosen, {}, notice=down_message(exc))
    except errors.Rejected as exc:
        return _report_form(422, chosen, _api_problems(exc) if exc.errors else {"": [str(API_FILTER_MESSAGE)]})
    answer = Response(found.content, mimetype=found.content_type)
    answer.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return answer

