"""The one table that turns an error into an HTTP answer (CONTRACT 5's error shape).

The domain's errors (`rules.errors`) say what went wrong and nothing about HTTP;
here each class of that tree gets its status and its snake_case `code`, the two
fields of `{"error": {"code", "message", "details"}}` the message does not give::

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

An error answers with the entry of its own class, else of its nearest ancestor, so
the most specific entry wins (an IllegalTransition is not a plain conflict).
aiohttp's own refusals (no such route, a method not allowed) get codes from
`HTTP_CODES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from rules.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HudurError,
    IllegalTransition,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)

__all__ = ["ERRORS", "HTTP_CODES", "HttpError", "http_error"]


class HttpError(NamedTuple):
    """How one error class answers over HTTP."""

    status: int
    code: str


ERRORS: Mapping[type[HudurError], HttpError] = MappingProxyType(
    {
        HudurError: HttpError(500, "internal_error"),
        BadRequest: HttpError(400, "bad_request"),
        Unauthorized: HttpError(401, "unauthorized"),
        Forbidden: HttpError(403, "forbidden"),
        NotFound: HttpError(404, "not_found"),
        Conflict: HttpError(409, "conflict"),
        IllegalTransition: HttpError(409, "illegal_transition"),
        PayloadTooLarge: HttpError(413, "payload_too_large"),
        ValidationFailed: HttpError(422, "validation_failed"),
        Unavailable: HttpError(503, "unavailable"),
    }
)

# The codes of aiohttp's own HTTP exceptions, by status; any other is `http_error`.
HTTP_CODES: Mapping[int, str] = MappingProxyType(
    {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "validation_failed",
    }
)


def http_error(exc: HudurError) -> HttpError:
    """The status and code `exc` answers with: its class's entry, or its nearest
    ancestor's (a subclass without an entry of its own answers as its parent)."""
    for cls in type(exc).__mro__:
        if issubclass(cls, HudurError) and cls in ERRORS:
            return ERRORS[cls]
    raise AssertionError("unreachable: HudurError itself is in the table")  # pragma: no cover
