"""Field types shared by request and response models.

Each type says in JSON Schema what it accepts, so the OpenAPI document and the
validation agree; the few checks JSON Schema cannot say (a real IANA zone, a
moment that fits in UTC) run as validators and surface as 422s like any other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ConfigDict, Field

# Ids are the platform's; BIGINT on PostgreSQL bounds them.
MAX_ID = 2**63 - 1

# Request bodies: unknown fields are errors, JSON types are not coerced
# (`true` is no integer, `"5"` no number), NaN and infinities are refused.
BODY_CONFIG = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# PostgreSQL text cannot hold NUL; saying so in the schema keeps clients honest.
_NO_NUL = r"^[^\x00]*$"


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)]
Title = Annotated[str, Field(min_length=1, max_length=300, pattern=_NO_NUL)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^\x00@\s]+@[^\x00@\s]+$")]
ShortText = Annotated[str, Field(max_length=2000, pattern=_NO_NUL)]
LongText = Annotated[str, Field(max_length=10000, pattern=_NO_NUL)]
Reason = Annotated[str, Field(min_length=1, max_length=2000, pattern=_NO_NUL)]


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) address such as https://example.org/notes.pdf")
    return value


# An http(s) address: the pattern says what JSON Schema can, the validator that it has
# a host (`https://` alone, or `https://:80`, is none).
WebUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^[hH][tT][tT][pP][sS]?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*$",
        examples=["https://example.org/notes.pdf"],
    ),
    AfterValidator(_web_address),
]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable: no control, separator or format characters")
    if value != value.strip():
        raise ValueError("must not begin or end with whitespace")
    return value


# The platform's own id of an object; the pattern says what JSON Schema can, the
# validator the rest (Python's idea of printable, Unicode whitespace at the ends).
ExternalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$",
        examples=["lesson-2025-0042"],
    ),
    AfterValidator(_printable),
]

# Moments the service can do arithmetic on without leaving datetime's range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    # pydantic would read 1700000000 or "0.5" as a Unix time; the contract speaks ISO 8601.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO.match(value)):
        return value
    raise ValueError("must be an ISO 8601 time such as 2025-12-01T10:00:00Z")


def utc_moment(value: datetime) -> datetime:
    """An aware time as UTC, kept far from datetime's limits (sweeps add and subtract
    hours and days); ValueError outside 1970-2200."""
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 1970 and 2200") from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError("must be between 1970 and 2200")
    return moment


Moment = Annotated[
    AwareDatetime,
    Field(strict=False),  # the string is checked above; strict mode would refuse any str
    BeforeValidator(_iso_text),
    AfterValidator(utc_moment),
]


# What the host's zoneinfo directory holds beside the IANA zones: `localtime` is the
# host's own link (a different zone on every machine), `posixrules` a default for
# POSIX strings, `Factory` the "zone not set" placeholder. None names a place.
_NOT_IANA = frozenset({"localtime", "posixrules", "Factory"})


@cache
def _zones() -> frozenset[str]:
    return frozenset((available_timezones() | {"UTC"}) - _NOT_IANA)


def _iana_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone such as 'Africa/Cairo'")
    return value


TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=_NO_NUL, examples=["Africa/Cairo"]),
    AfterValidator(_iana_zone),
]
