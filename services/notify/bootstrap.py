"""Composition root of the notify service: configuration in, a wired Flask app out, and the
worker's jobs (the referral-events consumer and the delivery dispatcher, beside the outbox
relay that publishes delivery outcomes)."""
from __future__ import annotations

import time
from functools import partial
from typing import Mapping

from flask import Flask

from haven.platform import db
from haven.platform.bootstrap import service_app
from haven.platform.errors import register_problems
from haven.platform.eventlog.settings import consumer_instance
from haven.platform.field_cipher import cipher_for

from . import SPEC
from .adapters.channels import EmailChannel, SmsChannel, WebhookChannel
from .adapters.directory import OrganizationContacts
from .adapters.people import LocalPeople, NobodyKnown
from .adapters.secrets import WebhookSecrets
from .adapters.targets import TargetRule
from .adapters.unit_of_work import SqlNotifyUnitOfWork
from .domain.policy import Backoff, CircuitBreaker
from .entrypoints import api
from .entrypoints.problems import ANSWERS
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


def people_from(config):
    """With an outside identity provider Haven knows nobody: people are reached through user
    subscriptions only."""
    return NobodyKnown() if config.haven_auth_jwks_url else LocalPeople(config.haven_data_dir)


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven notify",
                        description="Notifications to receiving agencies and referrers: webhook, email, SMS, inbox.",
                        # Subscriptions and inbox marks are small: refuse a large body unread.
                        max_body_bytes=64 * 1024)
    config, uow = parts.config, partial(SqlNotifyUnitOfWork, parts.engine)
    backoff = backoff_from(config)
    parts.app.extensions["haven.notify"] = {
        "verifier": parts.verifier,
        "subscriptions": Subscriptions(uow, backoff, WebhookSecrets(cipher_for(config)),
                                       TargetRule(private_targets=config.notify_webhook_private_targets)),
        "deliveries": Deliveries(uow, backoff), "inbox": Inbox(uow)}
    api.register(parts.api)
    register_problems(parts.app, ANSWERS)
    return parts.app


def background_jobs(config) -> list:
    """The consumer of referral events and the dispatcher that sends what it records."""
    # Imported here, not above: the worker's metrics (and what only the worker runs) stay
    # out of the HTTP server's process.
    from haven.platform.background import Job
    from haven.platform.eventlog.factory import event_log_from

    from .adapters.metrics import PrometheusDeliveryMetrics
    from .entrypoints import consumers, timers
    from .service_layer.dispatch import Dispatch
    from .service_layer.fanout import Fanout

    uow = partial(SqlNotifyUnitOfWork, db.create_engine(SPEC.database_url(config)))
    backoff = backoff_from(config)
    channels = channels_from(config)
    fanout = Fanout(uow, people_from(config), config.notify_referral_link, channels, backoff,
                    config.notify_default_language)
    dispatch = Dispatch(uow, channels, OrganizationContacts(config.notify_directory_url), backoff,
                        CircuitBreaker(config.notify_breaker_failures, config.notify_breaker_open_seconds, time.time),
                        WebhookSecrets(cipher_for(config)), PrometheusDeliveryMetrics(),
                        concurrency=config.notify_delivery_concurrency)
    consume = partial(consumers.referral_events, event_log_from(config), fanout, dispatch.wake,
                      instance=consumer_instance(config, "notify"))
    return [Job("referral-events", consume), Job("dispatcher", partial(timers.dispatcher, dispatch))]
