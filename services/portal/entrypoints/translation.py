"""This request's catalog, found once, and gettext through it.

A results page translates a hundred strings or more. Flask-Babel looks the catalog up
anew for each one (the request's locale, its domain, its translations: a quarter of the
page's time once); here it is looked up once a request, and again only if the locale
changes under `force_locale`.
"""
from __future__ import annotations

from flask import g, has_app_context
from flask_babel import get_translations


def translations():
    if not has_app_context():
        return get_translations()  # Flask-Babel's: no catalog outside a request, the words as written
    locale = getattr(g.get("_flask_babel"), "babel_locale", None)
    cached = g.get("portal_translations")
    if cached is None or cached[0] is not locale or locale is None:
        found = get_translations()
        g.portal_translations = (getattr(g.get("_flask_babel"), "babel_locale", None), found)
        return found
    return cached[1]


def gettext(string: str, **variables) -> str:
    """Flask-Babel's gettext (same catalog, same `%(name)s` formatting), without its lookups."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def marked(string: str) -> str:
    """Marks a message for extraction where it is defined, translated where it is shown
    (with `gettext`): a table of codes and their words keeps plain strings, not lazy ones."""
    return string
