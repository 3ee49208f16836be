"""One exception tree for the whole gateway.

Every error carries a stable machine ``code`` and a human ``message`` that says how to fix the
problem. Doors translate these into their own wire format (HTTP status + JSON for the native
API, provider return codes for the compatibility APIs).
"""

from __future__ import annotations

from typing import Any


class SmsBridgeError(Exception):
    """Base class: a refusal the caller can act on."""

    status_code = 400
    default_code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details
        self.headers = headers


class ValidationFailed(SmsBridgeError):
    status_code = 422
    default_code = "invalid_request"


class NotFound(SmsBridgeError):
    status_code = 404
    default_code = "not_found"


class Conflict(SmsBridgeError):
    status_code = 409
    default_code = "conflict"


class Unauthorized(SmsBridgeError):
    status_code = 401
    default_code = "unauthorized"


class Forbidden(SmsBridgeError):
    status_code = 403
    default_code = "forbidden"


class PayloadTooLarge(SmsBridgeError):
    status_code = 413
    default_code = "payload_too_large"


class SendError(Exception):
    """Raised by connectors. ``retryable`` decides whether the dispatcher tries again later."""

    def __init__(self, message: str, *, code: str = "send_failed", retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class TooManyRequests(SmsBridgeError):
    status_code = 429
    default_code = "rate_limited"


class InsufficientCredit(SmsBridgeError):
    status_code = 402
    default_code = "insufficient_credit"
