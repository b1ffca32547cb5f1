"""Composition root of the portal: configuration in, a wired Flask app out.

The portal keeps no data: bootstrap builds the clients of the three services' APIs, the
sign-in use case and the pages, and nothing else.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from flask import Flask

from haven.platform import logging as haven_logging
from haven.platform.http import NonCritical, create_web_app

from . import SPEC
from .adapters.downloads import ApiDownloads
from .adapters.haven_api import HavenApi
from .adapters.local_identity import LocalIdentity
from .adapters.secret_key import secret_key
from .catalogs import COMPILED, TRANSLATIONS, languages, stale
from .entrypoints import assets, compression, home, i18n, navigation, problems, security, sessions, sign_in
from .entrypoints import oidc as oidc_pages
from .entrypoints import referring
from .entrypoints import search as search_pages
from .entrypoints import capacity as capacity_page, inbox as inbox_page, referral_page
from .entrypoints import incidents as incident_pages, ops as ops_pages
from .entrypoints.context import Wiring
from .service_layer.acting import ReferralActing
from .service_layer.capacity import Capacity
from .service_layer.incidents import SeriousIncidents
from .service_layer.indicators import Indicators, YearlyReport
from .service_layer.inbox import InboxReading, Kinds, OrganizationNames
from .service_layer.my_referrals import MyReferrals
from .service_layer.referring import Referring
from .service_layer.searching import Searching
from .service_layer.signing_in import SigningIn

HERE = Path(__file__).resolve().parent
PAGES = (sign_in.blueprint, oidc_pages.blueprint, home.blueprint, *referring.PAGES, search_pages.blueprint,
         inbox_page.blueprint, referral_page.blueprint, capacity_page.blueprint, ops_pages.blueprint,
         incident_pages.blueprint)


def _reachable(api: HavenApi):
    def check() -> None:
        api.get("/healthz", None)
    return NonCritical(check)  # the portal still serves (and says which service is down)


def _openid_provider(config):
    if not config.haven_auth_oidc_issuer:
        return None
    from .adapters.oidc import OpenIdProvider

    return OpenIdProvider(config.haven_auth_oidc_issuer, config.haven_auth_oidc_client_id,
                          config.haven_auth_oidc_client_secret, config.haven_auth_oidc_scopes,
                          config.haven_auth_oidc_redirect_url, config.portal_api_timeout_seconds,
                          max_age_seconds=max(60, int(config.portal_idle_minutes * 60)))


def use_cases(directory: HavenApi, referral: HavenApi, notify: HavenApi) -> dict:
    """Every page's use case, built once over the three APIs and found by name
    (entrypoints/context.py `use_case`). Kinds and organization names are read once and kept."""
    kinds, names, searching = Kinds(directory), OrganizationNames(directory), Searching(directory)
    return {search_pages.SEARCHING: searching,
            referring.REFERRING: Referring(directory, referral), referring.MY_REFERRALS: MyReferrals(directory, referral),
            inbox_page.INBOX: InboxReading(referral, directory, notify, names), inbox_page.KINDS: kinds,
            inbox_page.ACTING: ReferralActing(referral, directory, kinds, names),
            inbox_page.CAPACITY: Capacity(directory),
            ops_pages.INDICATORS: Indicators(referral, searching),
            ops_pages.INCIDENTS: SeriousIncidents(referral, names),
            ops_pages.YEARLY_REPORT: YearlyReport(ApiDownloads(referral))}


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    config = SPEC.load_config(environ)
    haven_logging.configure(SPEC.name, config.log_level)
    for language in languages():
        if stale(language):
            raise RuntimeError(f"the portal's {language} catalog ({TRANSLATIONS / language / COMPILED}) is missing or "
                               "older than its sources: run `python -m services.portal.catalogs` (make does)")
    timeout = config.portal_api_timeout_seconds
    directory = HavenApi("directory", config.portal_directory_url, timeout)
    referral = HavenApi("referral", config.portal_referral_url, timeout)
    notify = HavenApi("notify", config.portal_notify_url, timeout)
    app = create_web_app(service=SPEC.name, template_folder=str(HERE / "templates"), readiness={
        "directory": _reachable(directory), "referral": _reachable(referral), "notify": _reachable(notify)})
    compression.install(app)  # first registered, so it runs last: it compresses the finished page
    if config.haven_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.haven_proxy_hops, x_proto=config.haven_proxy_hops)
    app.config["HAVEN_IDLE_MINUTES"] = config.portal_idle_minutes
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals["navigation"] = navigation.navigation
    app.extensions["haven.portal"] = Wiring(
        directory=directory, referral=referral, notify=notify,
        signing_in=SigningIn(LocalIdentity(referral), idle_limit_seconds=config.portal_idle_minutes * 60),
        oidc=_openid_provider(config), use_cases=use_cases(directory, referral, notify))
    i18n.install(app, TRANSLATIONS, config.portal_default_language)
    sessions.install(app, secret_key=secret_key(config.portal_secret_key, config.haven_data_dir),
                     secure_cookie=config.portal_cookie_secure)
    security.install(app)
    assets.install(app, HERE / "static")
    problems.install(app)
    for page in PAGES:
        app.register_blueprint(page)
    return app
