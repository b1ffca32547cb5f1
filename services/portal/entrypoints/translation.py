"""This request's catalog, found once, and gettext through it.

A results page translates a hundred strings or more. Flask-Babel looks the catalog up
anew for each one (the request's locale, its domain, its translations: a quarter of the
page's time once); here it is looked up once a request, and again only if the locale
changes under `force_locale`.
"""
from __future__ import annotations

from flask import g
from flask_babel import LazyString, get_translations


def request_globals():
    """This request's (app context's) `g` itself, or None outside one: read through the
    proxy once, not once per attribute."""
    try:
        return g._get_current_object()
    except RuntimeError:
        return None


def request_locale(store):
    """The locale Flask-Babel chose for this request (force_locale changes it too), or None
    before it has chosen one."""
    return getattr(getattr(store, "_flask_babel", None), "babel_locale", None)


def translations():
    store = request_globals()
    if store is None:
        return get_translations()  # Flask-Babel's: no catalog outside a request, the words as written
    locale = request_locale(store)
    cached = getattr(store, "portal_translations", None)
    if cached is None or cached[0] is not locale or locale is None:
        found = get_translations()
        store.portal_translations = (request_locale(store), found)  # chosen by now, if it was not before
        return found
    return cached[1]


def gettext(string: str, **variables) -> str:
    """Flask-Babel's gettext (same catalog, same `%(name)s` formatting), without its lookups."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's lazy_gettext over the gettext above: a string defined once (a table of
    messages) and translated each time it is shown."""
    return LazyString(gettext, string, **variables)


def marked(string: str) -> str:
    """Marks a message for extraction where it is defined, translated where it is shown
    (with `gettext`): a table of codes and their words keeps plain strings, not lazy ones."""
    return string
