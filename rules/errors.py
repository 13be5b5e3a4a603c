"""The one error tree of Hudur.

Every error the service raises on purpose is a ``HudurError``, carrying a message
and optional ``details``; its class says what went wrong::

    HudurError
    ├── BadRequest
    ├── Unauthorized
    ├── Forbidden
    ├── NotFound
    ├── Conflict
    │   └── IllegalTransition
    ├── PayloadTooLarge
    ├── ValidationFailed
    └── Unavailable

The errors carry meaning only: the HTTP edge (``engine.api.errors``) holds the one
table that turns each class into a status and a snake_case code.
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
    """Base of every deliberate Hudur error; any other exception is a fault, not a refusal."""

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class BadRequest(HudurError):
    """The request could not be read at all (malformed JSON, not a WebhookEvent)."""


class Unauthorized(HudurError):
    """No valid credential: bad token, bad webhook signature, body hash mismatch."""


class Forbidden(HudurError):
    """A valid credential acting outside its rights."""


class NotFound(HudurError):
    """No such object, or one of another academy (which must look the same)."""


class Conflict(HudurError):
    """The request is well formed but clashes with the current state."""


class IllegalTransition(Conflict):
    """A lifecycle event that the table in ``rules.lifecycle`` does not allow.

    Raised before anything changes, so the caller can refuse with the status the
    session still has.
    """

    def __init__(self, status: str, event: str, *, because: str | None = None) -> None:
        # str() so StrEnum members show as their plain values in text and JSON.
        status_value, event_value = str(status), str(event)
        why = f": {because}" if because else ""
        super().__init__(
            f"cannot apply {event_value!r} to a session that is {status_value!r}{why}",
            details={"current_status": status_value, "event": event_value},
        )
        # The originals are kept, so a caller holding a Status gets a Status back.
        self.status_from = status
        self.event = event


class PayloadTooLarge(HudurError):
    """A body over the size limit (1 MiB for webhooks)."""


class ValidationFailed(HudurError):
    """Valid JSON with invalid values; ``details`` names every bad field."""


class Unavailable(HudurError):
    """A dependency (the database) cannot serve now; the caller may retry."""
