"""Composition root of the notify service: configuration in, a wired Flask app out, and the
worker's jobs (the referral-events consumer and the delivery dispatcher, beside the outbox
relay that publishes delivery outcomes)."""
from __future__ import annotations

import threading
import time
from typing import Mapping

from flask import Flask

from haven.platform import db
from haven.platform.bootstrap import service_app
from haven.platform.errors import problem_response, problem_type
from haven.platform.eventlog.settings import consumer_instance
from haven.platform.field_cipher import cipher_for
from haven.platform.outbox import Outbox

from . import SPEC
from .adapters.channels import EmailChannel, SmsChannel, WebhookChannel
from .adapters.directory import OrganizationContacts
from .adapters.orm import outbox
from .adapters.people import LocalPeople, NobodyKnown
from .adapters.secrets import WebhookSecrets
from .domain.policy import Backoff, CircuitBreaker
from .entrypoints import api
from .service_layer.common import Conflict, NotFound
from .service_layer.deliveries import Deliveries
from .service_layer.inbox import Inbox
from .service_layer.subscriptions import Subscriptions


def backoff_from(config) -> Backoff:
    return Backoff(max_attempts=config.notify_retry_max_attempts, first=config.notify_retry_first_seconds,
                   ceiling=config.notify_retry_max_seconds)


def channels_from(config) -> dict:
    timeout = config.notify_send_timeout_seconds
    channels = {"webhook": WebhookChannel(timeout, private_targets=config.notify_webhook_private_targets)}
    if config.notify_smtp_host:
        channels["email"] = EmailChannel(config.notify_smtp_host, config.notify_smtp_port,
                                         config.notify_smtp_security, config.notify_smtp_username,
                                         config.notify_smtp_password, config.notify_email_from, timeout)
    if config.notify_sms_gateway_url:
        channels["sms"] = SmsChannel(config.notify_sms_gateway_url, config.notify_sms_gateway_token, timeout)
    return channels


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven notify",
                        description="Notifications to receiving agencies and referrers: webhook, email, SMS, inbox.",
                        # Subscriptions and inbox marks are small: refuse a large body unread.
                        max_body_bytes=64 * 1024)
    backoff = backoff_from(parts.config)
    parts.app.extensions["haven.notify"] = {
        "verifier": parts.verifier,
        "subscriptions": Subscriptions(parts.engine, backoff, WebhookSecrets(cipher_for(parts.config)),
                                       private_targets=parts.config.notify_webhook_private_targets),
        "deliveries": Deliveries(parts.engine, backoff), "inbox": Inbox(parts.engine)}
    api.register(parts.api)

    @parts.app.errorhandler(NotFound)
    def not_found(exc):
        return problem_response(404, title="Not Found", detail="No such record.", type=problem_type("not-found"))

    @parts.app.errorhandler(Conflict)
    def conflict(exc):
        return problem_response(409, title="Conflict", type=problem_type("delivery-not-retryable"),
                                detail=f"Only a dead-lettered or undeliverable delivery can be retried; this one is "
                                       f"{exc}.", status_now=str(exc))

    return parts.app


def background_jobs(config) -> list:
    """The consumer of referral events and the dispatcher that sends what it records."""
    from haven.platform.background import Job
    from haven.platform.eventlog.factory import event_log_from

    from .entrypoints import consumer
    from .service_layer.dispatch import Dispatcher
    from .service_layer.fanout import Fanout

    engine = db.create_engine(SPEC.database_url(config))
    backoff = backoff_from(config)
    channels = channels_from(config)
    people = NobodyKnown() if config.haven_auth_jwks_url else LocalPeople(config.haven_data_dir)
    fanout = Fanout(engine, people, config.notify_referral_link, channels, backoff, config.notify_default_language)
    dispatcher = Dispatcher(engine, channels, OrganizationContacts(config.notify_directory_url), backoff,
                            CircuitBreaker(config.notify_breaker_failures, config.notify_breaker_open_seconds,
                                           time.time),
                            Outbox(outbox), WebhookSecrets(cipher_for(config)),
                            concurrency=config.notify_delivery_concurrency)
    event_log = event_log_from(config)

    def consume(stop: threading.Event) -> None:
        consumer.run(event_log, fanout, dispatcher.wake, stop, instance=consumer_instance(config, "notify"))

    return [Job("referral-events", consume), Job("dispatcher", dispatcher.run)]
