"""Portal: the pages caseworkers, agency staff and supervisors use, in Vietnamese and English.

A client of the directory, referral and notify services' public HTTP APIs, with the
signed-in person's own token: it keeps no survivor data and no database of its own, so it
scales on its own and a breach of it exposes no stored case.
"""
import math

from haven.platform import config as c
from haven.platform.config import Setting
from haven.platform.service_spec import COMMON_SETTINGS, ServiceSpec

def _idle_minutes(raw: str) -> float:
    """Minutes, fractions allowed (a test can idle for seconds); never NaN or infinity,
    which would compare as 'not idle yet' for ever."""
    value = c.number(0.05)(raw)
    if not math.isfinite(value) or value > 24 * 60:
        raise ValueError("expected a number of minutes from 0.05 to 1440")
    return value


SETTINGS = [
    Setting("PORTAL_PORT", c.port, "8000", "HTTP port of the portal (what people open in a browser)."),
    Setting("PORTAL_THREADS", c.integer(1, 64), "1",
            "Threads per gunicorn worker of the portal. One: a results page renders under Python's interpreter "
            "lock for about half its time and waits on the directory for the rest, and where the directory runs "
            "on the same cores a second thread mostly makes two pages share one core (at concurrency 8 on two "
            "cores, p95 98–106 ms with one against 108–128 ms with two, for the same throughput). Raise it where "
            "the directory is on other machines and slow to answer, so that a worker renders while a page waits. "
            "Requests beyond them wait their turn in the worker's event loop."),
    Setting("PORTAL_DIRECTORY_URL", c.http_url, "http://127.0.0.1:8001",
            "Base URL of the directory service's API (`haven run` points it at its own)."),
    Setting("PORTAL_REFERRAL_URL", c.http_url, "http://127.0.0.1:8002", "Base URL of the referral service's API."),
    Setting("PORTAL_NOTIFY_URL", c.http_url, "http://127.0.0.1:8003", "Base URL of the notify service's API."),
    Setting("PORTAL_API_TIMEOUT_SECONDS", c.number(0.5), "5",
            "How long a page waits for an API before it says that service is not answering."),
    Setting("PORTAL_IDLE_MINUTES", _idle_minutes, "15",
            "A session with no request for this long ends: the next page asks to sign in again "
            "(offices share computers)."),
    Setting("PORTAL_SECRET_KEY", c.text, None,
            "Key that signs the portal's session cookies; every portal process needs the same one. Unset: "
            "a random key kept in HAVEN_DATA_DIR/portal/secret-key (one machine).", secret=True),
    Setting("PORTAL_COOKIE_SECURE", c.boolean, "false",
            "Send the session cookie over HTTPS only. Set `true` wherever the portal is served over HTTPS."),
    Setting("PORTAL_DEFAULT_LANGUAGE", c.choice("vi", "en"), "vi",
            "Language of the pages until a person picks another (remembered in a cookie)."),
    Setting("HAVEN_AUTH_OIDC_ISSUER", c.http_url, None,
            "Issuer URL of an OpenID Connect provider (its /.well-known/openid-configuration is read). Set: "
            "the portal signs people in there (authorization code flow with PKCE) instead of with local "
            "users; set HAVEN_AUTH_JWKS_URL on every service to the provider's keys too."),
    Setting("HAVEN_AUTH_OIDC_CLIENT_ID", c.text, None, "The portal's client id at the OpenID Connect provider."),
    Setting("HAVEN_AUTH_OIDC_CLIENT_SECRET", c.text, None,
            "The portal's client secret at the provider (unset: a public client, PKCE only).", secret=True),
    Setting("HAVEN_AUTH_OIDC_SCOPES", c.text, "openid profile",
            "Scopes the portal asks the provider for (space-separated; `openid` is always asked)."),
    Setting("HAVEN_AUTH_OIDC_REDIRECT_URL", c.http_url, None,
            "The portal's callback as the provider knows it (https://portal.example/auth/callback). Unset: "
            "built from the address the browser used."),
]

SPEC = ServiceSpec(
    name="portal",
    default_port=8000,
    settings=COMMON_SETTINGS + SETTINGS,
    app_factory="services.portal.bootstrap:create_app",
    migrations_package=None,  # no database: everything it shows comes from the APIs
)
