"""Composition root of the referral service: configuration in, a wired Flask app out
(and the worker's jobs: the SLA timer beside the outbox relay)."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Mapping

from flask import Flask, request

from haven.platform import db
from haven.platform.bootstrap import service_app
from haven.platform.errors import Problem, problem_response, problem_type
from haven.platform.eventlog.factory import event_log_from
from haven.platform.field_cipher import CipherError, cipher_for
from haven.platform.http import NonCritical
from haven.platform.outbox import Outbox

from . import SPEC
from .adapters.directory import DirectoryLookup, DirectoryUnavailable, UnknownService
from .adapters.orm import outbox
from .adapters.repository import StaleReferral
from .domain.errors import ConsentRequired, IllegalTransition, InvalidReferral, NotPermitted
from .domain.sla import SlaPolicy
from .entrypoints import api
from .service_layer.referrals import (Forbidden, IdempotencyConflict, NotFound, Referrals,
                                      ServiceNotReferable)

log = logging.getLogger(__name__)
# Expired keys already replay nothing (the query asks for their age); pruning only keeps
# the table small, so a few minutes' delay is harmless.
IDEMPOTENCY_PRUNE_SECONDS = 300


def referrals_from(config, engine) -> Referrals:
    return Referrals(engine, cipher_for(config),
                     DirectoryLookup(config.referral_directory_url), Outbox(outbox),
                     SlaPolicy.parse(config.referral_sla),
                     idempotency_window=timedelta(hours=config.referral_idempotency_key_hours))


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven referral",
                        description="Consent-gated referrals between caseworkers and partner agencies.",
                        # A referral is a few kilobytes: refuse a body that is not one unread.
                        max_body_bytes=256 * 1024)
    event_log = event_log_from(parts.config)
    # Referrals keep being accepted while the event log is down: their events wait in the
    # outbox. Readiness says so without taking the service out of rotation.
    parts.app.extensions["haven.readiness"]["event log"] = NonCritical(event_log.check)
    referrals = referrals_from(parts.config, parts.engine)
    parts.app.extensions["haven.readiness"]["directory"] = NonCritical(referrals.directory.check)
    parts.app.extensions["haven.referral"] = {"event_log": event_log, "outbox": Outbox(outbox),
                                              "referrals": referrals, "verifier": parts.verifier}
    parts.api.register_blueprint(api.blp)
    _translate_errors(parts.app)

    @parts.app.after_request
    def never_cached(response):
        # Answers carry survivors' details for some callers and not others: no shared cache
        # (a proxy, the browser's back button on a shared computer) may keep or mix them.
        if request.path.startswith(("/v1/referrals", "/v1/audit")):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Vary"] = "Authorization"
        return response

    return parts.app


def background_jobs(config) -> list:
    """The SLA timer: escalates each missed deadline once (the relay publishes the event)."""
    from haven.platform.background import Job

    referrals = referrals_from(config, db.create_engine(SPEC.database_url(config)))
    interval = config.referral_sla_check_seconds

    def escalate(stop: threading.Event) -> None:
        # REFERRAL_SLA may have changed since the deadlines were stored.
        moved = referrals.restamp_deadlines()
        log.info("SLA deadlines stamped under the current policy", extra={"count": moved})
        while not stop.is_set():
            raised = referrals.escalate_due()
            if raised:
                log.info("missed deadlines escalated", extra={"count": raised})
            stop.wait(interval)

    def forget_idempotency_keys(stop: threading.Event) -> None:
        while not stop.is_set():
            forgotten = referrals.forget_expired_idempotency_keys()
            if forgotten:
                log.info("expired idempotency keys forgotten", extra={"count": forgotten})
            stop.wait(IDEMPOTENCY_PRUNE_SECONDS)

    return [Job("sla-timer", escalate), Job("delivery-status", _delivery_status(config, referrals.engine)),
            Job("idempotency-keys", forget_idempotency_keys)]


def _delivery_status(config, engine):
    """Keep what notify reports about each delivery, to show it on the referral."""
    import services.notify.contract as notify_contract  # registers the delivery event schemas
    from haven.platform import events
    from haven.platform.eventlog import worker
    from haven.platform.eventlog.settings import consumer_instance

    from .adapters import notifications

    def handle(record) -> None:
        event = events.decode(record.value)  # InvalidEvent: dead-lettered by the worker
        if event.type in (notify_contract.DELIVERED, notify_contract.FAILED):
            notifications.record(engine, event.data)

    def run(stop: threading.Event) -> None:
        worker.run(event_log_from(config), "referral-delivery-status", [notify_contract.TOPIC], handle, stop,
                   instance=consumer_instance(config, "referral"))  # the replica's, not the pod's name

    return run


def _field_problem(status: int, slug: str, title: str, field: str, message: str):
    return problem_response(status, title=title, detail=f"{field}: {message}" if field else message,
                            type=problem_type(slug),
                            errors=[{"location": "json", "field": field or "_schema", "message": message}])


def _translate_errors(app: Flask) -> None:
    @app.errorhandler(ConsentRequired)
    def consent_required(exc: ConsentRequired):
        return _field_problem(422, "consent-required", "Consent required", exc.field,
                              str(exc).split(": ", 1)[-1])

    @app.errorhandler(InvalidReferral)
    def invalid(exc: InvalidReferral):
        return _field_problem(422, "invalid-referral", "Invalid referral", exc.field, str(exc).split(": ", 1)[-1])

    @app.errorhandler(IllegalTransition)
    def illegal(exc: IllegalTransition):
        return problem_response(409, title="Illegal transition", detail=str(exc), type=problem_type("illegal-transition"),
                                status_now=exc.status, action=exc.action)

    @app.errorhandler(NotPermitted)
    def not_permitted(exc: NotPermitted):
        return problem_response(403, title="Forbidden", detail=str(exc), type=problem_type("forbidden"))

    @app.errorhandler(Forbidden)
    def forbidden(exc: Forbidden):
        return problem_response(403, title="Forbidden", detail=str(exc), type=problem_type("forbidden"))

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return problem_response(404, title="Not Found", detail="No such referral.", type=problem_type("not-found"))

    @app.errorhandler(StaleReferral)
    def stale(exc: StaleReferral):
        return problem_response(412, title="Precondition failed", type=problem_type("stale-version"),
                                detail="The referral changed since you read it; read it again and retry.")

    @app.errorhandler(IdempotencyConflict)
    def reused_key(exc: IdempotencyConflict):
        return problem_response(422, title="Idempotency-Key reused", type=problem_type("idempotency-key-reused"),
                                detail="This Idempotency-Key was used for a different request; use a new key.",
                                errors=[{"location": "headers", "field": "Idempotency-Key",
                                         "message": "Already used for a different request."}])

    @app.errorhandler(UnknownService)
    def unknown_service(exc: UnknownService):
        return _field_problem(422, "unknown-service", "Unknown service", "receiving_service_id",
                              "no such service in the directory")

    @app.errorhandler(ServiceNotReferable)
    def inactive(exc: ServiceNotReferable):
        return _field_problem(422, "inactive-service", "Service not active", "receiving_service_id",
                              "the service is not active in the directory; choose another")

    @app.errorhandler(DirectoryUnavailable)
    def directory_down(exc: DirectoryUnavailable):
        return problem_response(503, title="Directory unavailable", type=problem_type("directory-unavailable"),
                                detail=f"Cannot check the receiving service: {exc}. Nothing was saved; "
                                       "retry in a moment (with the same Idempotency-Key).",
                                headers={"Retry-After": "10"})

    @app.errorhandler(CipherError)
    def cipher(exc: CipherError):
        log.error("personal fields cannot be decrypted or encrypted: check HAVEN_FIELD_KEYS")
        return problem_response(503, title="Personal data unavailable", type=problem_type("field-keys"),
                                detail="The service cannot read personal fields with its configured keys.")


__all__ = ["create_app", "background_jobs", "Problem"]
