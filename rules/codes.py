"""Session types, subscription kinds and session codes (CONTRACT 1).

A session code ``<PREFIX>-<academy_id>-<6-digit sequence>`` is also the LiveKit
room name, so parsing one is how a webhook finds its session. Picking the next
sequence number safely under concurrency is the store's job; this module only
formats and parses.
"""

from __future__ import annotations

import re
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "SessionType",
    "SubscriptionKind",
    "format_session_code",
    "is_individual",
    "kind_of",
    "parse_session_code",
    "prefix_of",
]


class SessionType(StrEnum):
    QURAN_INDIVIDUAL = "quran_individual"
    QURAN_CIRCLE = "quran_circle"
    ACADEMIC_INDIVIDUAL = "academic_individual"
    ACADEMIC_COURSE = "academic_course"
    INTERACTIVE_COURSE = "interactive_course"


class SubscriptionKind(StrEnum):
    QURAN = "quran"
    ACADEMIC = "academic"
    INTERACTIVE = "interactive"


_KIND = MappingProxyType(
    {
        SessionType.QURAN_INDIVIDUAL: SubscriptionKind.QURAN,
        SessionType.QURAN_CIRCLE: SubscriptionKind.QURAN,
        SessionType.ACADEMIC_INDIVIDUAL: SubscriptionKind.ACADEMIC,
        SessionType.ACADEMIC_COURSE: SubscriptionKind.ACADEMIC,
        SessionType.INTERACTIVE_COURSE: SubscriptionKind.INTERACTIVE,
    }
)

_PREFIX = MappingProxyType(
    {
        SubscriptionKind.QURAN: "QSE",
        SubscriptionKind.ACADEMIC: "ASE",
        SubscriptionKind.INTERACTIVE: "ICS",
    }
)

# Digits only, no sign, no leading zero for the academy; at least six for the
# sequence, which simply grows past 999999.
_CODE = re.compile(r"(QSE|ASE|ICS)-([1-9][0-9]*)-([0-9]{6,})")


def is_individual(session_type: SessionType) -> bool:
    """One teacher and one student, as opposed to a roster."""
    return SessionType(session_type).value.endswith("_individual")


def types_named(name: str) -> tuple[SessionType, ...]:
    """The session types a `type` filter names: one type, or `individual` / `group`
    for every type of that shape (the seed's `individual()` and `circle()` scopes)."""
    if name == "individual":
        return tuple(t for t in SessionType if is_individual(t))
    if name == "group":
        return tuple(t for t in SessionType if not is_individual(t))
    return (SessionType(name),)


def kind_of(session_type: SessionType) -> SubscriptionKind:
    """The subscription kind a session of this type is charged to."""
    return _KIND[SessionType(session_type)]


def prefix_of(session_type: SessionType) -> str:
    return _PREFIX[kind_of(session_type)]


def format_session_code(prefix: str, academy_id: int, seq: int) -> str:
    """``QSE-1-000001``; raises ``ValueError`` for an unknown prefix or bad numbers."""
    if prefix not in _PREFIX.values():
        raise ValueError(f"unknown session code prefix {prefix!r}")
    if academy_id < 1:
        raise ValueError(f"academy id must be positive, got {academy_id}")
    if seq < 1:
        raise ValueError(f"session sequence must be positive, got {seq}")
    return f"{prefix}-{academy_id}-{seq:06d}"


def parse_session_code(code: str) -> tuple[str, int, int] | None:
    """``(prefix, academy_id, seq)`` of a well-formed code, else ``None``.

    Exactly the inverse of ``format_session_code``: a room name that merely looks
    close (lower case, short sequence, sequence 0) is not one of ours.
    """
    match = _CODE.fullmatch(code)
    if match is None:
        return None
    prefix, academy, seq = match.group(1), int(match.group(2)), int(match.group(3))
    # Reject non-canonical forms such as "QSE-1-0000001" so parse∘format is a
    # bijection and a code maps to exactly one room.
    if seq < 1 or format_session_code(prefix, academy, seq) != code:
        return None
    return prefix, academy, seq
