"""Composition root of the notify service.

Channels, subscriptions and the event consumer arrive with the notify issue; today the
service runs the shared skeleton on its own database.
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask

from haven.platform.bootstrap import service_app

from . import SPEC


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven notify",
                        description="Notifications to receiving agencies and referrers: webhook, email, SMS, inbox.")
    return parts.app
