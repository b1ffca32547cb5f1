"""Which notify refusal is which problem+json (registered by bootstrap through
`haven.platform.errors.register_problems`). NotOwnOrganization (403 forbidden) and
TargetRefused (422 validation-error naming `target`) take the platform's answers."""
from __future__ import annotations

from haven.platform.errors import Answer

from ..domain.errors import DeliveryNotRetryable, NotFound

ANSWERS = {
    NotFound: Answer(404, "not-found", "Not Found", detail="No such record."),
    DeliveryNotRetryable: Answer(
        409, "delivery-not-retryable", "Conflict",
        detail=lambda exc: f"Only a dead-lettered or undeliverable delivery can be retried; this one is "
                           f"{exc.status}.",
        extensions=lambda exc: {"status_now": exc.status}),
}
