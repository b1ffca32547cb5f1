"""Languages, dates and numbers: Vietnamese by default, English on request (remembered in
a cookie for a year), every time in Vietnam's time zone whatever the server's.

Translations live in translations/<lang>/*.po (one file per area of the portal, so people
can work on them side by side); `python -m services.portal.catalogs` (run by `make run`,
`make test` and the image build) merges and compiles them into the catalog the portal
loads, and refuses one with a string left untranslated.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import TIMEDELTA_UNITS, format_date, format_datetime, format_time
from babel.numbers import format_decimal
from babel.units import format_unit
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
from jinja2 import pass_context
from markupsafe import Markup

from ..domain.times import moment
from .translation import gettext as _, request_globals, request_locale, translations
from .words import choices, word

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
LANGUAGES = ("vi", "en")
LANGUAGE_COOKIE = "haven_lang"


def current_language() -> str:
    # Read from Flask-Babel's per-request locale once it is chosen (force_locale changes it
    # too): a results page asks a hundred times, and get_locale() with str() costs ~10 µs.
    locale = request_locale(request_globals()) or get_locale()
    return locale.language if locale is not None else "vi"


def _pick_language() -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else current_app.config["HAVEN_DEFAULT_LANGUAGE"]


parse_time = moment  # the templates' filters read API times as the domain does


def when(value) -> str:
    """`14:05 02/12/2026` in Vietnamese, `2 Dec 2026, 14:05` in English, Vietnam time."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone(VIETNAM)
    if current_language() == "vi":
        return f"{format_time(local, 'HH:mm', locale='vi')} {format_date(local, 'dd/MM/yyyy', locale='vi')}"
    return format_datetime(local, "d MMM yyyy, HH:mm", locale="en")


def day(value) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    local = moment.astimezone(VIETNAM)
    return format_date(local, "dd/MM/yyyy" if current_language() == "vi" else "d MMM yyyy", locale=current_language())


def clock(value) -> str:
    """An opening time as the API gives it (`08:00` or `08:00:00`), as 08:00."""
    return str(value or "")[:5]


def duration(seconds: float) -> str:
    """`3 hours`, `2 days`: babel's format_timedelta (threshold 1.1), its unit and rounding
    worked out here and the words kept per value and unit: every result on a page says
    how long ago its places were counted, and babel takes ~10 µs each time."""
    left = abs(seconds)
    for unit, unit_seconds in TIMEDELTA_UNITS:
        value = left / unit_seconds
        if value >= 1.1 or unit == "second":
            return _duration_words(max(1, int(round(value))) if unit == "second" and value > 0 else int(round(value)),
                                   unit, current_language())
    return ""


@functools.lru_cache(maxsize=1024)
def _duration_words(value: int, unit: str, language: str) -> str:
    return format_unit(value, f"duration-{unit}", length="long", locale=language)


def ago(value, now: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 60:
        return _("just now")
    return _("%(duration)s ago", duration=duration(seconds))


def time_left(value, now: datetime | None = None) -> str:
    """`2 hours left` or `overdue by 10 minutes` for a deadline."""
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds >= 0:
        return _("%(duration)s left", duration=duration(seconds))
    return _("overdue by %(duration)s", duration=duration(seconds))


def overdue(value, now: datetime | None = None) -> bool:
    moment = parse_time(value)
    return moment is not None and moment < (now or datetime.now(timezone.utc))


GROUPING = {"vi": ".", "en": ","}  # CLDR's group separators of the two languages (babel's, precomputed)
DECIMAL = {"vi": ",", "en": "."}


def number(value) -> str:
    if value is None:
        return ""
    language = current_language()
    if isinstance(value, int) and language in GROUPING:
        # babel's format_decimal costs ~60 µs a call, and a results page writes a number in
        # every result; whole numbers are grouped by thousands the same way here.
        return f"{value:,}".replace(",", GROUPING[language])
    return format_decimal(value, locale=language)


def free_places(count: int) -> str:
    """"3 free places", and "1 free place" in the singular (Vietnamese has one form for both)."""
    return _("1 free place") if count == 1 else _("%(count)s free places", count=number(count))


def distance(km) -> str:
    if km is None:
        return ""
    if km == 0:  # a confidential shelter's distance is in whole km: 0 is anything under half a km
        return _("less than 1 km")
    if km < 1:
        return _("%(metres)s m", metres=number(int(round(km * 1000, -1))))
    language = current_language()
    tenths = round(km, 1)
    if language in DECIMAL:
        whole, fraction = f"{tenths:,.1f}".split(".")
        shown = whole.replace(",", GROUPING[language]) + ("" if fraction == "0" else DECIMAL[language] + fraction)
    else:
        shown = format_decimal(tenths, locale=language)
    return _("%(km)s km", km=shown)


@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    """`_("…")` in a template, as Jinja's newstyle gettext does it: the translation (safe
    HTML in an autoescaped template) is always a format string, and the variables are
    escaped into it."""
    text = translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    if not variables and "%" not in text:
        return text  # what `% {}` would give back, without formatting it
    return text % variables


def install(app: Flask, translations_folder: Path, default_language: str) -> None:
    app.config["HAVEN_DEFAULT_LANGUAGE"] = default_language
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations_folder)
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
    Babel(app, locale_selector=_pick_language)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n), newstyle=True)
    # `_` and `gettext` called straight: Jinja's own `_` resolves `gettext` and calls it,
    # which calls the function above, each through the template context (a results page
    # says about a hundred strings).
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals.update(word=word, choices=choices, current_language=current_language)
    app.jinja_env.filters.update(when=when, day=day, clock=clock, ago=ago, time_left=time_left, overdue=overdue,
                                 number=number, distance=distance, free_places=free_places)
