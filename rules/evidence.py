"""LiveKit evidence -> presence intervals (CONTRACT 3).

Webhooks arrive late, twice, or out of order, so ``build_intervals`` is defined
on the *set* of events, never as a fold over their arrival order: every field of
an interval is a minimum over the events that bear on it. Any permutation and any
number of repeats of the same events therefore give the same intervals.

Per participant ``sid`` (unique per connection in LiveKit):

* ``joined_at`` is the earliest join, else the earliest ``joined_at`` carried by a
  leave (the join webhook may be lost, the leave still says when it started);
* ``left_at`` is the earliest of: its leaves and aborted connections; the end of
  its room; the end of the session; and the next join of the same identity under
  another sid (a reconnect or a second device replaces the older connection).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Protocol, TypeAlias, TypeVar

from rules._utc import require_utc

__all__ = [
    "ConnectionAborted",
    "Evidence",
    "EvidenceKind",
    "EvidenceSource",
    "Interval",
    "ParticipantJoined",
    "ParticipantLeft",
    "RoomFinished",
    "SessionClosed",
    "build_intervals",
    "canonical",
    "joined_members",
    "parse_identity",
]


class EvidenceKind(StrEnum):
    """What one piece of evidence says; one per evidence type below."""

    JOINED = "joined"
    LEFT = "left"
    ABORTED = "aborted"
    ROOM_FINISHED = "room_finished"
    SESSION_CLOSED = "session_closed"
    TRACK_PUBLISHED = "track_published"
    TRACK_UNPUBLISHED = "track_unpublished"


class EvidenceSource(StrEnum):
    """Where a piece of evidence came from: only webhook evidence is re-derived by a rebuild."""

    WEBHOOK = "webhook"  # a LiveKit webhook in the inbox
    RECONCILED = "reconciled"  # a repair from RoomService.ListParticipants
    SYSTEM = "system"  # the session itself (its close)


@dataclass(frozen=True, slots=True)
class ParticipantJoined:
    """A participant connected; ``at`` is its joinedAtMs (else joinedAt, createdAt)."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.JOINED

    event_id: str
    room_sid: str
    at: datetime
    sid: str
    identity: str
    # False for observers and non-STANDARD participants: kept, never decisive.
    decisive: bool

    def __post_init__(self) -> None:
        require_utc("at", self.at)


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    """A participant left at ``at`` (the event's createdAt)."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.LEFT

    event_id: str
    room_sid: str
    at: datetime
    sid: str
    identity: str
    decisive: bool
    # The participant's own joinedAt, so a leave whose join was lost still
    # yields an interval.
    joined_at: datetime | None

    def __post_init__(self) -> None:
        require_utc("at", self.at)
        require_utc("joined_at", self.joined_at)


@dataclass(frozen=True, slots=True)
class ConnectionAborted:
    """A connection failed; closes the sid's interval but never opens one."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.ABORTED

    event_id: str
    room_sid: str
    at: datetime
    sid: str
    identity: str
    decisive: bool

    def __post_init__(self) -> None:
        require_utc("at", self.at)


@dataclass(frozen=True, slots=True)
class RoomFinished:
    """The LiveKit room ``room_sid`` ended: everyone in it is out from ``at``."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.ROOM_FINISHED

    event_id: str
    room_sid: str
    at: datetime

    def __post_init__(self) -> None:
        require_utc("at", self.at)


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """Synthetic: the session ended at ``at``, closing every interval in any room."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.SESSION_CLOSED

    event_id: str
    at: datetime

    def __post_init__(self) -> None:
        require_utc("at", self.at)


Evidence: TypeAlias = (
    ParticipantJoined | ParticipantLeft | ConnectionAborted | RoomFinished | SessionClosed
)


@dataclass(frozen=True, slots=True)
class Interval:
    """One stretch of presence of one connection; ``left_at`` None while still in."""

    sid: str
    identity: str
    user_id: int | None
    room_sid: str
    joined_at: datetime
    left_at: datetime | None
    decisive: bool


_IDENTITY = re.compile(r"([0-9]+)(?:_.*)?", re.DOTALL)


def parse_identity(identity: str) -> int | None:
    """The platform user id in a LiveKit identity (``"10"``, ``"10_Mohamed"``)."""
    match = _IDENTITY.fullmatch(identity)
    return int(match.group(1)) if match else None


def joined_members(intervals: Iterable[Interval], members: Collection[int]) -> frozenset[int]:
    """Which of `members` (a session's teacher and roster students) have joined its
    room: a decisive interval of theirs exists. Observers, agents and strangers count
    for nobody."""
    return frozenset(
        i.user_id
        for i in intervals
        if i.decisive and i.user_id is not None and i.user_id in members
    )


@dataclass(frozen=True, slots=True)
class _Opening:
    """What one sid's interval starts from, before anything closes it."""

    sid: str
    identity: str
    room_sid: str
    joined_at: datetime
    decisive: bool

    @property
    def person(self) -> str:
        # Exactly LiveKit's notion of a duplicate: the same identity string. The
        # same user on two devices ("10_laptop", "10_phone") keeps both intervals;
        # `measure` merges their overlap, so nothing is counted twice.
        return self.identity


class _Identified(Protocol):
    @property
    def event_id(self) -> str: ...


E = TypeVar("E", bound=_Identified)


def canonical(events: Iterable[E]) -> list[E]:
    """One event per event_id (repeats are one event); if two differ under one id, a
    fixed choice, whatever their order."""
    by_id: dict[str, E] = {}
    for event in events:
        kept = by_id.get(event.event_id)
        if kept is None or _tiebreak(event) < _tiebreak(kept):
            by_id[event.event_id] = event
    return list(by_id.values())


def _tiebreak(event: _Identified) -> tuple[str, str]:
    return type(event).__name__, repr(event)


def _openings(events: list[Evidence]) -> list[_Opening]:
    """Where each sid's interval starts: its earliest join, else a leave's joined_at."""
    best: dict[str, tuple[tuple[bool, datetime, str], _Opening]] = {}
    for event in events:
        if isinstance(event, ParticipantJoined):
            at: datetime = event.at
        elif isinstance(event, ParticipantLeft) and event.joined_at is not None:
            at = event.joined_at
        else:
            continue
        # A real join outranks a joined_at recovered from a leave; among equals
        # the earliest time, then the event id, so the choice is order-free.
        key = (not isinstance(event, ParticipantJoined), at, event.event_id)
        kept = best.get(event.sid)
        if kept is None or key < kept[0]:
            opening = _Opening(event.sid, event.identity, event.room_sid, at, event.decisive)
            best[event.sid] = (key, opening)
    return [opening for _, opening in best.values()]


def build_intervals(events: Iterable[Evidence]) -> tuple[Interval, ...]:
    """The intervals the events prove, sorted by ``(joined_at, sid)``.

    A pure function of the set of events: order and repeats do not matter.
    """
    unique = canonical(events)
    ends_by_sid: dict[str, list[datetime]] = defaultdict(list)
    room_ends: dict[str, list[datetime]] = defaultdict(list)
    session_ends: list[datetime] = []
    for event in unique:
        if isinstance(event, ParticipantLeft | ConnectionAborted):
            ends_by_sid[event.sid].append(event.at)
        elif isinstance(event, RoomFinished):
            room_ends[event.room_sid].append(event.at)
        elif isinstance(event, SessionClosed):
            session_ends.append(event.at)
    for times in room_ends.values():
        times.sort()
    session_ends.sort()

    openings = sorted(_openings(unique), key=lambda o: (o.joined_at, o.sid))
    # The next join of the same person under another sid, in (joined_at, sid) order.
    superseded_at: dict[str, datetime] = {}
    last_of_person: dict[str, _Opening] = {}
    for opening in openings:
        previous = last_of_person.get(opening.person)
        if previous is not None:
            superseded_at[previous.sid] = opening.joined_at
        last_of_person[opening.person] = opening

    intervals = []
    for opening in openings:
        candidates = list(ends_by_sid.get(opening.sid, ()))
        candidates += _first_at_or_after(room_ends.get(opening.room_sid, []), opening.joined_at)
        candidates += _first_at_or_after(session_ends, opening.joined_at)
        if opening.sid in superseded_at:
            candidates.append(superseded_at[opening.sid])
        # joinedAtMs can trail the leave's createdAt by a fraction of a second:
        # never let an interval end before it began.
        left_at = max(min(candidates), opening.joined_at) if candidates else None
        intervals.append(
            Interval(
                sid=opening.sid,
                identity=opening.identity,
                user_id=parse_identity(opening.identity),
                room_sid=opening.room_sid,
                joined_at=opening.joined_at,
                left_at=left_at,
                decisive=opening.decisive,
            )
        )
    return tuple(intervals)


def _first_at_or_after(sorted_times: list[datetime], moment: datetime) -> list[datetime]:
    index = bisect_left(sorted_times, moment)
    return sorted_times[index : index + 1]
