"""Which refusal of the referral service is answered with which problem+json: one table,
registered by bootstrap through `haven.platform.errors.register_problems`. The domain's
errors and the service layer's are platform refusals, named here for their own problem
types; one not named here gets its platform kind's answer (NotPermitted: 403 forbidden)."""
from __future__ import annotations

from haven.platform.errors import Answer
from haven.platform.field_cipher import CipherError

from ..domain.errors import ConsentRequired, IllegalTransition, InvalidReferral
from ..domain.indicators import InconsistentPeriod
from ..service_layer.errors import (DirectoryUnavailable, IdempotencyKeyReused, ReferralNotFound, ServiceNotReferable,
                                    StaleReferral, UnknownService)
from ..service_layer.incidents import IncidentNotFound

ANSWERS = {
    ConsentRequired: Answer(422, "consent-required", "Consent required", fields=True),
    InvalidReferral: Answer(422, "invalid-referral", "Invalid referral", fields=True),
    InconsistentPeriod: Answer(422, "inconsistent-fields", "Request validation failed", fields=True),
    IllegalTransition: Answer(409, "illegal-transition", "Illegal transition",
                              extensions=lambda exc: {"status_now": exc.status, "action": exc.action}),
    ReferralNotFound: Answer(404, "not-found", "Not Found", detail="No such referral."),
    IncidentNotFound: Answer(404, "not-found", "Not Found", detail="This referral is not marked as a serious incident."),
    StaleReferral: Answer(412, "stale-version", "Precondition failed",
                          detail="The referral changed since you read it; read it again and retry."),
    IdempotencyKeyReused: Answer(422, "idempotency-key-reused", "Idempotency-Key reused", fields=True,
                                 detail="This Idempotency-Key was used for a different request; use a new key."),
    UnknownService: Answer(422, "unknown-service", "Unknown service", fields=True),
    ServiceNotReferable: Answer(422, "inactive-service", "Service not active", fields=True),
    DirectoryUnavailable: Answer(503, "directory-unavailable", "Directory unavailable", headers={"Retry-After": "10"},
                                 detail=lambda exc: f"Cannot check the receiving service: {exc}. Nothing was saved; "
                                                    "retry in a moment (with the same Idempotency-Key)."),
    CipherError: Answer(503, "field-keys", "Personal data unavailable",
                        detail="The service cannot read personal fields with its configured keys.",
                        log="personal fields cannot be decrypted or encrypted: check HAVEN_FIELD_KEYS"),
}

__all__ = ["ANSWERS"]
