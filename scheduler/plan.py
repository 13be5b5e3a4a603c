"""When a session is due, and what its room looks like: pure decisions for the sweeper.

Time is always a parameter. The sweeper loads rows, asks these functions, and
performs what they decide (CONTRACT 4.1):

* SCHEDULED -> READY at or after ``S - preparation``;
* READY/ONGOING -> COMPLETED/ABSENT at or after ``E + buffer`` once no roster user
  is in the room, and at ``E + hard_close`` regardless.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.wire import iso_z
from rules.settings import RuleSettings

# Seats beyond the roster and the teacher: observers, a supervisor, a recorder.
ROOM_SEAT_MARGIN = 5
# LiveKit closes a room nobody joined after `empty_timeout`; never less than this.
MIN_EMPTY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True, slots=True)
class TransitionReport:
    """One status change a sweep made (the answer of `POST /v1/sweeps`)."""

    session_id: int
    session_code: str
    from_status: str
    to_status: str
    at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "session_code": self.session_code,
            "from": self.from_status,
            "to": self.to_status,
            "at": iso_z(self.at),
        }


@dataclass(frozen=True, slots=True)
class OpenInterval:
    """What the due rule needs of an interval still open: whose, and whether decisive."""

    user_id: int | None
    decisive: bool


def preparation_due(scheduled_at: datetime, settings: RuleSettings, now: datetime) -> bool:
    """A scheduled session is made READY from `S - preparation` on."""
    return now >= settings.opens_at(scheduled_at)


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


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a failed room call: 10 s, 20 s, 40 s, … at most 10 min."""
    return timedelta(seconds=min(2 ** min(attempts, 16) * 5, 600))
