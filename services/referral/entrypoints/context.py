"""What every referral endpoint needs: the use cases, the caller, where the request came from."""
from __future__ import annotations

from flask import current_app, request

from haven.platform.auth import Principal, require
from haven.platform.logging import current_request_id

from ..service_layer.commands import Origin
from ..service_layer.referrals import Referrals


def referrals() -> Referrals:
    return current_app.extensions["haven.referral"]["referrals"]


def caller(permission: str) -> Principal:
    """The signed-in caller, who must hold `permission` (401 or 403 otherwise)."""
    return require(current_app.extensions["haven.referral"]["verifier"], permission)


def origin() -> Origin:
    return Origin(source_ip=request.remote_addr, request_id=current_request_id())
