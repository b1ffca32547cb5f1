"""The refusals of the referral use cases beyond the domain's rules: the referral is not
there (for this caller), it changed meanwhile, the Idempotency-Key, the directory. Each
is one of the platform's refusals (`haven.platform.refusals`); `entrypoints/problems.py`
gives its answer. Messages name fields and codes, never values."""
from __future__ import annotations

from haven.platform import refusals


class ReferralNotFound(refusals.NotFound):
    """No such referral, or none the caller may see."""


class StaleReferral(refusals.PreconditionFailed):
    """Someone else changed the referral since it was read."""


class IdempotencyKeyReused(refusals.Invalid):
    """An Idempotency-Key reused with a different request."""

    def __init__(self):
        super().__init__("Idempotency-Key", "Already used for a different request.", location="headers")


class IdempotencyKeyTaken(refusals.Conflict):
    """Another request stored this Idempotency-Key first (the same request raced itself):
    its referral is the answer."""


class UnknownService(refusals.Invalid):
    """The directory has no such service."""

    def __init__(self, service_id: str):
        super().__init__("receiving_service_id", "no such service in the directory")
        self.service_id = service_id


class ServiceNotReferable(refusals.Invalid):
    """The receiving service exists but is not active."""

    def __init__(self, service_id: str):
        super().__init__("receiving_service_id", "the service is not active in the directory; choose another")
        self.service_id = service_id


class DirectoryUnavailable(refusals.Unavailable):
    """The directory cannot say whether the receiving service is real and active; the
    message says why (unreachable, an answer that is no service), never a value."""


__all__ = ["DirectoryUnavailable", "IdempotencyKeyReused", "IdempotencyKeyTaken", "ReferralNotFound",
           "ServiceNotReferable", "StaleReferral", "UnknownService"]
