import pytest


@pytest.fixture
def app():
    """A bare Flask app with the portal's languages installed, inside a request: for the
    unit tests of the portal's words, times and page helpers (force_locale picks vi or en)."""
    from flask import Flask

    from services.portal.catalogs import TRANSLATIONS
    from services.portal.entrypoints import i18n

    app = Flask(__name__)
    i18n.install(app, TRANSLATIONS, "vi")
    with app.test_request_context("/"):
        yield app
