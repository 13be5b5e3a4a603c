"""The sweep's steps: make a due session READY, and finish one that is due.

`scheduler.tick` drives them. It reads candidates without locks and turns each into
a `Due` (its frozen settings parsed once), keeps those the cheap look finds due, and
runs `prepare` or `finish` on each in its own transaction with the row locked. A
step re-checks the status and the due rule under the lock, reusing the candidate's
parsed settings while the row still carries the same ones, and never commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.operations.lifecycle import transition
from engine.operations.settings import settings_of
from engine.operations.verdicts import finalise
from engine.wire import iso_z
from rules import sweep as rule
from rules.actors import SWEEPER
from rules.lifecycle import LifecycleEvent, is_running, may_be_prepared
from rules.rooms import RoomOperationKind
from rules.settings import RuleSettings
from store.schema import Session
from store.uow import UnitOfWork

__all__ = [
    "Due",
    "TransitionReport",
    "finish",
    "finishing",
    "maybe_finishing",
    "preparation_horizon",
    "prepare",
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
    frozen: dict[str, Any] | None
    settings: RuleSettings | None

    @classmethod
    def of(cls, row: Session) -> Due:
        assert row.scheduled_at is not None  # candidates are scheduled
        return cls(
            session_id=row.id,
            teacher_id=row.teacher_id,
            starts_at=row.scheduled_at,
            ends_at=row.ends_at,
            frozen=row.settings or None,
            settings=_parsed(row.settings),
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
    session: Session,
    *,
    now: datetime,
    meeting_link: Callable[[str], str | None],
    due: Due | None = None,
) -> tuple[TransitionReport, ...]:
    """SCHEDULED -> READY: room name, link and expiry set, CreateRoom queued; a
    session whose whole window was missed is finished in the same pass."""
    if not may_be_prepared(session.status) or session.scheduled_at is None:
        return ()
    settings = await _settings(uow, session, due)
    if not rule.preparation_due(session.scheduled_at, settings, now):
        return ()
    end = _end(session)
    session.meeting_room_name = session.session_code
    session.meeting_link = meeting_link(session.session_code)
    session.meeting_expires_at = rule.meeting_expires_at(end, settings)
    reports = [await _move(uow, session, LifecycleEvent.PREPARE, now)]
    roster = await uow.sessions.roster(session.id)
    if await _still_due(uow, session, settings, roster, now):
        # Too late for anyone to meet: no room is opened just to be closed again.
        reports.append(await _close(uow, session, roster, settings, now))
        return tuple(reports)
    uow.rooms.enqueue(
        RoomOperationKind.CREATE_ROOM,
        session.session_code,
        now=now,
        session_id=session.id,
        payload=rule.room_payload(
            roster_size=len(roster), now=now, expires_at=session.meeting_expires_at
        ),
    )
    return tuple(reports)


async def finish(
    uow: UnitOfWork, session: Session, *, now: datetime, due: Due | None = None
) -> tuple[TransitionReport, ...]:
    """READY/ONGOING -> COMPLETED/ABSENT, if still due with the row locked."""
    if not is_running(session.status) or session.scheduled_at is None:
        return ()
    settings = await _settings(uow, session, due)
    roster = await uow.sessions.roster(session.id)
    if not await _still_due(uow, session, settings, roster, now):
        return ()
    return (await _close(uow, session, roster, settings, now),)


async def _settings(uow: UnitOfWork, session: Session, due: Due | None) -> RuleSettings:
    """The session's settings: the candidate's, parsed already, while the locked row
    carries the same frozen ones; else read as any other step would."""
    if due is not None and due.settings is not None and session.settings == due.frozen:
        return due.settings
    return await settings_of(uow, session)


async def _still_due(
    uow: UnitOfWork, session: Session, settings: RuleSettings, roster: list[int], now: datetime
) -> bool:
    """The finishing rule with the row locked: the room's open intervals read now."""
    still_open = (await uow.sessions.open_presence([session.id])).get(session.id, [])
    busy = rule.occupied(still_open, {session.teacher_id, *roster})
    return rule.finish_due(_end(session), settings, now, is_occupied=busy)


async def _close(
    uow: UnitOfWork, session: Session, roster: list[int], settings: RuleSettings, now: datetime
) -> TransitionReport:
    before = session.status
    await finalise(uow, session, at=now, actor=SWEEPER, roster=roster, settings=settings)
    return _report(session, before, now)


async def _move(
    uow: UnitOfWork, session: Session, event: LifecycleEvent, now: datetime
) -> TransitionReport:
    before = session.status
    await transition(uow, session, event, at=now, actor=SWEEPER)
    return _report(session, before, now)


def _report(session: Session, before: str, at: datetime) -> TransitionReport:
    return TransitionReport(session.id, session.session_code, before, session.status, at)


def _parsed(frozen: dict[str, Any] | None) -> RuleSettings | None:
    if not frozen:
        return None
    try:
        return RuleSettings.from_dict(frozen)
    except ValueError:
        return None


def _end(session: Session) -> datetime:
    assert session.ends_at is not None  # set with scheduled_at, always
    return session.ends_at
