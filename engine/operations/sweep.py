"""The sweep's steps: make a due session READY, and finish one that is due.

`scheduler.tick` drives them. It reads candidates without locks and turns each into
a `Due` (its frozen settings parsed once), keeps those the cheap look finds due, and
runs `prepare` or `finish` on each in its own transaction with the row locked. A
step re-checks the status and the due rule under the lock, reusing the candidate's
parsed settings while the row still carries the same ones, and never commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.operations.lifecycle import transition_all
from engine.operations.settings import settings_of
from engine.operations.verdicts import finalise_many
from engine.wire import iso_z
from rules import sweep as rule
from rules.actors import SWEEPER
from rules.lifecycle import LifecycleEvent, is_running, may_be_prepared
from rules.rooms import RoomOperationKind
from rules.settings import RuleSettings
from rules.sweep import OpenInterval
from store.repositories.due import Candidate, LockedSession, SessionLike
from store.repositories.rooms import Queued
from store.uow import UnitOfWork

ROOM_COLUMNS = ("meeting_room_name", "meeting_link", "meeting_expires_at")

__all__ = [
    "Due",
    "TransitionReport",
    "finish",
    "finish_many",
    "finishing",
    "maybe_finishing",
    "preparation_horizon",
    "prepare",
    "prepare_many",
    "preparing",
]


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
class Due:
    """A session that looks due, as read without a lock. `settings` is None when it has
    none frozen, or unreadable ones: the locked step then decides (and fails loudly)."""

    session_id: int
    teacher_id: int
    starts_at: datetime
    ends_at: datetime | None
    frozen: str | None  # as stored (JSON text)
    settings: RuleSettings | None

    @classmethod
    def of(cls, row: Candidate) -> Due:
        assert row.scheduled_at is not None  # candidates are scheduled
        return cls(
            session_id=row.id,
            teacher_id=row.teacher_id,
            starts_at=row.scheduled_at,
            ends_at=row.ends_at,
            frozen=row.frozen,
            settings=_parsed(row.frozen),
        )

    @property
    def end(self) -> datetime:
        assert self.ends_at is not None  # set with scheduled_at, always
        return self.ends_at


async def preparation_horizon(uow: UnitOfWork) -> timedelta:
    """How far ahead of its start a session may be due for preparation."""
    return rule.preparation_horizon(await uow.academies.rule_tables())


def preparing(batch: Sequence[Due], now: datetime) -> list[Due]:
    """The candidates due for preparation at `now` (by their frozen settings)."""
    return [
        d for d in batch if d.settings is None or rule.preparation_due(d.starts_at, d.settings, now)
    ]


def maybe_finishing(batch: Sequence[Due], now: datetime) -> list[Due]:
    """The candidates whose time alone may make them due to finish at `now`."""
    return [
        d for d in batch if d.settings is None or rule.may_be_finish_due(d.end, d.settings, now)
    ]


async def finishing(uow: UnitOfWork, batch: Sequence[Due], now: datetime) -> list[Due]:
    """Those of `batch` due to finish, by one unlocked read of the batch's open
    intervals and rosters: occupied rooms before the hard close wait without a lock."""
    ids = [d.session_id for d in batch]
    open_by_session = await uow.sessions.open_presence(ids)
    rosters = await uow.sessions.rosters(ids)
    due = []
    for candidate in batch:
        if candidate.settings is not None:
            busy = rule.occupied(
                open_by_session.get(candidate.session_id, ()),
                {candidate.teacher_id, *rosters[candidate.session_id]},
            )
            if not rule.finish_due(candidate.end, candidate.settings, now, is_occupied=busy):
                continue
        due.append(candidate)
    return due


async def prepare(
    uow: UnitOfWork,
    session: SessionLike,
    *,
    now: datetime,
    meeting_link: Callable[[str], str | None],
    due: Due | None = None,
) -> tuple[TransitionReport, ...]:
    """`prepare_many` for one session."""
    dues = {} if due is None else {session.id: due}
    return tuple(await prepare_many(uow, [session], now=now, meeting_link=meeting_link, dues=dues))


async def prepare_many(
    uow: UnitOfWork,
    sessions: Sequence[SessionLike],
    *,
    now: datetime,
    meeting_link: Callable[[str], str | None],
    dues: Mapping[int, Due],
) -> list[TransitionReport]:
    """SCHEDULED -> READY for each of `sessions` (locked) still due: room name, link
    and expiry set, CreateRoom queued; a session whose whole window was missed is
    finished in the same pass. Reports in the order of `sessions`."""
    chosen = []
    for session in sessions:
        if not may_be_prepared(session.status) or session.scheduled_at is None:
            continue
        settings = await _settings(uow, session, dues.get(session.id))
        if rule.preparation_due(session.scheduled_at, settings, now):
            chosen.append((session, settings))
    if not chosen:
        return []
    ids = [s.id for s, _ in chosen]
    rosters = await uow.sessions.rosters(ids)
    still_open = await uow.sessions.open_presence(ids)
    befores = {s.id: s.status for s, _ in chosen}
    expires = {s.id: rule.meeting_expires_at(_end(s), settings) for s, settings in chosen}
    for session, _ in chosen:
        session.meeting_room_name = session.session_code
        session.meeting_link = meeting_link(session.session_code)
        session.meeting_expires_at = expires[session.id]
    await transition_all(
        uow,
        [(s, LifecycleEvent.PREPARE) for s, _ in chosen],
        at=now,
        actor=SWEEPER,
        columns=ROOM_COLUMNS,
    )
    reports = {s.id: [_report(s, befores[s.id], now)] for s, _ in chosen}
    missed, rooms = [], []
    for session, settings in chosen:
        roster = rosters[session.id]
        if _due(session, settings, roster, still_open, now):
            # Too late for anyone to meet: no room is opened just to be closed again.
            missed.append((session, settings))
            continue
        payload = rule.room_payload(
            roster_size=len(roster), now=now, expires_at=expires[session.id]
        )
        rooms.append(
            Queued(RoomOperationKind.CREATE_ROOM, session.session_code, session.id, payload=payload)
        )
    await uow.rooms.enqueue_many(rooms, now=now)
    for report in await _close(uow, missed, rosters, now):
        reports[report.session_id].append(report)
    return [r for s, _ in chosen for r in reports[s.id]]


async def finish(
    uow: UnitOfWork, session: SessionLike, *, now: datetime, due: Due | None = None
) -> tuple[TransitionReport, ...]:
    """`finish_many` for one session."""
    dues = {} if due is None else {session.id: due}
    return tuple(await finish_many(uow, [session], now=now, dues=dues))


async def finish_many(
    uow: UnitOfWork, sessions: Sequence[SessionLike], *, now: datetime, dues: Mapping[int, Due]
) -> list[TransitionReport]:
    """READY/ONGOING -> COMPLETED/ABSENT for each of `sessions` (locked) still due by
    the finishing rule, its room's open intervals read under the lock."""
    running = [s for s in sessions if is_running(s.status) and s.scheduled_at is not None]
    if not running:
        return []
    ids = [s.id for s in running]
    rosters = await uow.sessions.rosters(ids)
    still_open = await uow.sessions.open_presence(ids)
    due = []
    for session in running:
        settings = await _settings(uow, session, dues.get(session.id))
        if _due(session, settings, rosters[session.id], still_open, now):
            due.append((session, settings))
    return await _close(uow, due, rosters, now)


async def _settings(uow: UnitOfWork, session: SessionLike, due: Due | None) -> RuleSettings:
    """The session's settings: the candidate's, parsed already, while the locked row
    carries the same frozen ones; else those parsed for another row of the same text;
    else read as any other step would."""
    if isinstance(session, LockedSession):
        if due is not None and due.settings is not None and session.frozen == due.frozen:
            return due.settings
        if (parsed := _parsed(session.frozen)) is not None:
            return parsed
    return await settings_of(uow, session)


def _due(
    session: SessionLike,
    settings: RuleSettings,
    roster: list[int],
    still_open: Mapping[int, list[OpenInterval]],
    now: datetime,
) -> bool:
    """The finishing rule with the row locked, on the room's open intervals."""
    busy = rule.occupied(still_open.get(session.id, ()), {session.teacher_id, *roster})
    return rule.finish_due(_end(session), settings, now, is_occupied=busy)


async def _close(
    uow: UnitOfWork,
    due: Sequence[tuple[SessionLike, RuleSettings]],
    rosters: Mapping[int, list[int]],
    now: datetime,
) -> list[TransitionReport]:
    befores = {s.id: s.status for s, _ in due}
    await finalise_many(
        uow,
        [s for s, _ in due],
        at=now,
        actor=SWEEPER,
        rosters=rosters,
        settings={s.id: settings for s, settings in due},
    )
    return [_report(s, befores[s.id], now) for s, _ in due]


def _report(session: SessionLike, before: str, at: datetime) -> TransitionReport:
    return TransitionReport(session.id, session.session_code, before, session.status, at)


_PARSED: dict[str, RuleSettings | None] = {}  # frozen settings (as stored) -> parsed


def _parsed(frozen: str | None) -> RuleSettings | None:
    """Frozen settings (their stored JSON text) parsed: most sessions freeze the same
    few, so each distinct text is decoded and validated once (RuleSettings is
    immutable). None for none frozen, or unreadable ones."""
    if not frozen:
        return None
    if frozen not in _PARSED:
        if len(_PARSED) >= 256:
            _PARSED.clear()
        try:
            decoded = json.loads(frozen)
            _PARSED[frozen] = RuleSettings.from_dict(decoded) if decoded else None
        except ValueError:
            _PARSED[frozen] = None
    return _PARSED[frozen]


def _end(session: SessionLike) -> datetime:
    assert session.ends_at is not None  # set with scheduled_at, always
    return session.ends_at
