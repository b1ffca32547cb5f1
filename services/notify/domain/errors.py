"""How the notify use cases refuse a request (answered by entrypoints/problems.py)."""
from __future__ import annotations

from haven.platform import refusals


class NotFound(refusals.NotFound):
    """No such subscription, delivery or inbox item, or none the caller may see (a 404
    either way: no leak)."""


class NotOwnOrganization(refusals.NotPermitted):
    """An agency's staff manage the subscriptions of their own organization only."""


class TargetRefused(refusals.Invalid):
    """A webhook URL on an address the worker must not reach (see adapters/targets.py)."""

    def __init__(self, message: str):
        super().__init__("target", message)


class DeliveryNotRetryable(refusals.Conflict):
    """Only a dead-lettered or undeliverable delivery is sent again; `status` is its status now."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


__all__ = ["DeliveryNotRetryable", "NotFound", "NotOwnOrganization", "TargetRefused"]
