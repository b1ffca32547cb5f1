"""Composition root of the referral service.

The referral aggregate, its API and its outbox arrive with the referral and event-log
issues; today the service runs the shared skeleton on its own database.
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask

from haven.platform.bootstrap import service_app

from . import SPEC


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    parts = service_app(SPEC, environ, title="Haven referral",
                        description="Consent-gated referrals between caseworkers and partner agencies.")
    return parts.app
