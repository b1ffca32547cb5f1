"""Composition root of the referral service: configuration in, a wired Flask app out
(and the worker's jobs: the SLA timer, the delivery-status consumer and the
Idempotency-Key pruning beside the outbox relay). It builds and connects; it runs nothing."""
from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Mapping

from flask import Flask
from sqlalchemy.engine import Engine

from haven.platform import db
from haven.platform.bootstrap import service_app
from haven.platform.errors import register_problems
from haven.platform.eventlog.factory import event_log_from
from haven.platform.field_cipher import cipher_for
from haven.platform.http import NonCritical

from . import SPEC, contract
from .adapters.directory import DirectoryLookup
from .adapters.figures import SqlFigures
from .adapters.metrics import PrometheusMetrics
from .adapters.report_files import ReportFiles
from .adapters.unit_of_work import SqlReferralUnitOfWork
from .domain.sla import SlaPolicy
from .entrypoints import api, incidents, stats
from .entrypoints.problems import ANSWERS
from .service_layer.ports import Clock
from .service_layer.referrals import Referrals, utc_now
from .service_layer.stats import Stats
from .service_layer.yearly_report import YearlyReports


def referrals_from(config, engine: Engine, directory: DirectoryLookup | None = None) -> Referrals:
    policy = SlaPolicy.parse(config.referral_sla)
    cipher = cipher_for(config)
    messages = contract.messages(policy)
    return Referrals(partial(SqlReferralUnitOfWork, engine, cipher, messages),
                     directory or DirectoryLookup(config.referral_directory_url), PrometheusMetrics(), policy,
                     idempotency_window=timedelta(hours=config.referral_idempotency_key_hours))


def reports_from(config, engine: Engine, clock: Clock = utc_now,
                 directory: DirectoryLookup | None = None) -> YearlyReports:
    """The indicators (`.stats`) and the yearly report, over the referral database (with
    the directory's names of areas and kinds, when it answers)."""
    figures = Stats(SqlFigures(engine), SlaPolicy.parse(config.referral_sla), clock, config.haven_stats_min_cell)
    return YearlyReports(figures, ReportFiles(), directory or DirectoryLookup(config.referral_directory_url))


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven referral",
                        description="Consent-gated referrals between caseworkers and partner agencies.",
                        # A referral is a few kilobytes: refuse a body that is not one unread.
                        max_body_bytes=256 * 1024)
    # Referrals keep being accepted while the event log is down: their events wait in the
    # outbox. Readiness says so without taking the service out of rotation.
    parts.app.extensions["haven.readiness"]["event log"] = NonCritical(event_log_from(parts.config).check)
    directory = DirectoryLookup(parts.config.referral_directory_url)
    parts.app.extensions["haven.readiness"]["directory"] = NonCritical(directory.check)
    referrals = referrals_from(parts.config, parts.engine, directory)
    reports = reports_from(parts.config, parts.engine, referrals.now, directory)  # one clock: tests move both
    parts.app.extensions["haven.referral"] = {"referrals": referrals, "verifier": parts.verifier,
                                              "stats": reports.stats, "yearly_reports": reports}
    parts.api.register_blueprint(api.blp)
    parts.api.register_blueprint(incidents.blp)
    parts.api.register_blueprint(stats.blp)
    register_problems(parts.app, ANSWERS)
    return parts.app


def background_jobs(config) -> list:
    """The SLA timer, the delivery-status consumer, the Idempotency-Key pruning and the
    serious-incident reminders."""
    # Loaded here, not with the app: only the worker consumes events (notify's contract,
    # the event-log worker).
    from haven.platform.background import Job
    from haven.platform.eventlog.settings import consumer_instance

    from .entrypoints import consumers, timers

    referrals = referrals_from(config, db.create_engine(SPEC.database_url(config)))
    return [Job("sla-timer", timers.sla_timer(referrals, config.referral_sla_check_seconds)),
            Job("delivery-status", consumers.delivery_status(lambda: event_log_from(config), referrals,
                                                             consumer_instance(config, "referral"))),
            Job("idempotency-keys", timers.idempotency_key_pruning(referrals)),
            Job("incident-reminders", timers.incident_reminders(referrals, config.referral_sla_check_seconds))]


__all__ = ["background_jobs", "create_app", "referrals_from", "reports_from"]
