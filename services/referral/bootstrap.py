"""Composition root of the referral service.

The referral aggregate and its API arrive with the referral issue; today the service runs
the shared skeleton on its own database, with the outbox its events will leave through.
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask

from haven.platform.bootstrap import service_app
from haven.platform.eventlog.factory import event_log_from
from haven.platform.http import NonCritical
from haven.platform.outbox import Outbox

from . import SPEC
from .adapters.orm import outbox


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven referral",
                        description="Consent-gated referrals between caseworkers and partner agencies.")
    event_log = event_log_from(parts.config)
    # Referrals keep being accepted while the event log is down: their events wait in the
    # outbox. Readiness says so without taking the service out of rotation.
    parts.app.extensions["haven.readiness"]["event log"] = NonCritical(event_log.check)
    parts.app.extensions["haven.referral"] = {"event_log": event_log, "outbox": Outbox(outbox)}
    return parts.app
