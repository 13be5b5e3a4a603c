"""The one error tree of Hudur.

Every error the service raises on purpose is a ``HudurError``; each class carries
the HTTP status and the snake_case ``code`` that the contract's error shape
(``{"error": {"code", "message", "details"}}``) shows, so one middleware can turn
any of them into a response without a lookup table of its own::

    HudurError                   500 internal_error
    ├── BadRequest               400 bad_request
    ├── Unauthorized             401 unauthorized
    ├── Forbidden                403 forbidden
    ├── NotFound                 404 not_found
    ├── Conflict                 409 conflict
    │   └── IllegalTransition    409 illegal_transition
    ├── PayloadTooLarge          413 payload_too_large
    ├── ValidationFailed         422 validation_failed
    └── Unavailable              503 unavailable

The status is a hint for the HTTP edge only; ``rules/`` never speaks HTTP itself.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "HudurError",
    "IllegalTransition",
    "NotFound",
    "PayloadTooLarge",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
]


class HudurError(Exception):
    """Base of every deliberate Hudur error; unexpected ones stay 500s."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class BadRequest(HudurError):
    """The request could not be read at all (malformed JSON, not a WebhookEvent)."""

    status = 400
    code = "bad_request"


class Unauthorized(HudurError):
    """No valid credential: bad token, bad webhook signature, body hash mismatch."""

    status = 401
    code = "unauthorized"


class Forbidden(HudurError):
    """A valid credential acting outside its rights."""

    status = 403
    code = "forbidden"


class NotFound(HudurError):
    """No such object, or one of another academy (which must look the same)."""

    status = 404
    code = "not_found"


class Conflict(HudurError):
    """The request is well formed but clashes with the current state."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    """A lifecycle event that the table in ``rules.lifecycle`` does not allow.

    Raised before anything changes, so the caller can answer 409 with the status
    the session still has.
    """

    code = "illegal_transition"

    def __init__(self, status: str, event: str) -> None:
        # str() so StrEnum members show as their plain values in text and JSON.
        status_value, event_value = str(status), str(event)
        super().__init__(
            f"cannot apply {event_value!r} to a session that is {status_value!r}",
            details={"current_status": status_value, "event": event_value},
        )
        # The originals are kept, so a caller holding a Status gets a Status back.
        self.status_from = status
        self.event = event


class PayloadTooLarge(HudurError):
    """A body over the size limit (1 MiB for webhooks)."""

    status = 413
    code = "payload_too_large"


class ValidationFailed(HudurError):
    """Valid JSON with invalid values; ``details`` names every bad field."""

    status = 422
    code = "validation_failed"


class Unavailable(HudurError):
    """A dependency (the database) cannot serve now; the caller may retry."""

    status = 503
    code = "unavailable"
