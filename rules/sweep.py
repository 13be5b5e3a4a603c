"""When the sweep moves a session, and what its room looks like (CONTRACT 4.1).

Time is always a parameter. The sweep loads rows, asks these functions, and
performs what they decide:

* SCHEDULED -> READY at or after ``S - preparation``;
* READY/ONGOING -> COMPLETED/ABSENT at or after ``E + buffer`` once no roster user
  is in the room, and at ``E + hard_close`` regardless.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.settings import RuleSettings, resolve_settings

__all__ = [
    "MIN_EMPTY_TIMEOUT_SECONDS",
    "ROOM_SEAT_MARGIN",
    "OpenInterval",
    "finish_due",
    "may_be_finish_due",
    "meeting_expires_at",
    "occupied",
    "preparation_due",
    "preparation_horizon",
    "room_payload",
]

# Seats beyond the roster and the teacher: observers, a supervisor, a recorder.
ROOM_SEAT_MARGIN = 5
# LiveKit closes a room nobody joined after `empty_timeout`; never less than this.
MIN_EMPTY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True, slots=True)
class OpenInterval:
    """What the due rule needs of an interval still open: whose, and whether decisive."""

    user_id: int | None
    decisive: bool


def preparation_due(scheduled_at: datetime, settings: RuleSettings, now: datetime) -> bool:
    """A scheduled session is made READY from `S - preparation` on."""
    return now >= settings.opens_at(scheduled_at)


def preparation_horizon(
    rule_tables: Iterable[Mapping[str, Mapping[str, float | int]] | None],
) -> timedelta:
    """How far ahead a session may be due for preparation: the longest preparation in
    force in any of the academies' rule tables (an unreadable entry counts for nothing)."""
    minutes = RuleSettings().preparation_minutes
    for rules in rule_tables:
        for session_type in {"default", *(rules or {})}:
            try:
                settings = resolve_settings(rules or {}, session_type)
            except ValueError:
                continue
            minutes = max(minutes, settings.preparation_minutes)
    return timedelta(minutes=minutes)


def occupied(intervals: Iterable[OpenInterval], roster: Collection[int]) -> bool:
    """Whether a roster user (teacher or student) is among the open decisive intervals."""
    return any(i.decisive and i.user_id is not None and i.user_id in roster for i in intervals)


def finish_due(end: datetime, settings: RuleSettings, now: datetime, *, is_occupied: bool) -> bool:
    """Finish at `E + buffer` once the room holds no roster user, at `E + hard_close` anyway."""
    if now >= end + timedelta(minutes=settings.hard_close_minutes):
        return True
    return now >= end + timedelta(minutes=settings.buffer_minutes) and not is_occupied


def may_be_finish_due(end: datetime, settings: RuleSettings, now: datetime) -> bool:
    """The time half of `finish_due`: cheap to ask before anything is loaded."""
    return now >= end + timedelta(minutes=min(settings.buffer_minutes, settings.hard_close_minutes))


def meeting_expires_at(end: datetime, settings: RuleSettings) -> datetime:
    """Joining ends at `E + buffer` (`can_join` turns false then)."""
    return end + timedelta(minutes=settings.buffer_minutes)


def room_payload(*, roster_size: int, now: datetime, expires_at: datetime) -> dict[str, int]:
    """CreateRoom's limits: the room stays open, even empty, until joining ends;
    seats for the roster, the teacher and a small margin."""
    open_for = int((expires_at - now).total_seconds())
    return {
        "empty_timeout": max(MIN_EMPTY_TIMEOUT_SECONDS, open_for),
        "max_participants": roster_size + 1 + ROOM_SEAT_MARGIN,
    }
