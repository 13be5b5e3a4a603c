"""One sweep: `tick(db, now, rooms=...)` moves every due session and runs pending room work.

Due sessions are found through the `(status, scheduled_at)` index: SCHEDULED ones
starting within the preparation horizon, READY/ONGOING ones whose end has passed.
So a tick costs in proportion to the sessions that are due (or running), not to
all sessions ever planned. Candidates are read without locks, page by page in
`(scheduled_at, id)` order; each is then handled in its own transaction with its
row locked `FOR UPDATE SKIP LOCKED` and its status re-checked, so any number of
replicas may sweep one PostgreSQL database at once: a row another replica (or an
API call) holds is skipped and looked at again next tick. The usage ledger's
unique (session, student) key stays the last line of defence.

SQLite has no row locks: there every write transaction takes the database lock
(`BEGIN IMMEDIATE`), which serialises sweeps of one process; run one replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.operations.lifecycle import transition
from engine.operations.settings import settings_of
from engine.operations.verdicts import finalise as finish_session
from engine.wire import iso_z
from rules.actors import SWEEPER
from rules.lifecycle import LifecycleEvent, Status
from rules.settings import RuleSettings, resolve_settings
from scheduler import plan
from scheduler.due import DEFAULT_BATCH_SIZE, candidates, due_statement
from scheduler.metrics import SWEEPS
from scheduler.plan import OpenInterval, TransitionReport
from scheduler.recovery import reconcile_rooms
from scheduler.recurring import generate
from scheduler.rooms import RoomGateway, run_room_operations
from store.database import Database
from store.schema import Academy, Interval, Session
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.sweeper")

ACTOR = SWEEPER
__all__ = ["DEFAULT_BATCH_SIZE", "due_statement", "tick"]
# Session transactions a tick runs at once on PostgreSQL (SQLite has one writer: 1).
POSTGRES_CONCURRENCY = 4


async def tick(
    database: Database,
    now: datetime,
    *,
    rooms: RoomGateway,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int | None = None,
    reconcile: bool = True,
) -> list[TransitionReport]:
    """Run one sweep as of `now`; the transitions it made, in order.

    0. create the due sessions of recurring schedules (`scheduler.recurring`);
    1. repair what lost webhooks left wrong (ListParticipants), when LiveKit is set;
    2. SCHEDULED -> READY from `S - preparation` (finishing it too if its whole
       window was missed);
    3. READY/ONGOING -> COMPLETED/ABSENT when due;
    4. pending room operations (create, delete, remove participant)."""
    SWEEPS.inc()
    if concurrency is None:
        concurrency = POSTGRES_CONCURRENCY if database.dialect == "postgresql" else 1
    reports: list[TransitionReport] = []
    await generate(database, now)
    if reconcile and rooms.enabled:
        reports += await reconcile_rooms(database, now, rooms=rooms, batch_size=batch_size)
    reports += await _prepare_due(
        database, now, rooms=rooms, batch_size=batch_size, concurrency=concurrency
    )
    reports += await _finish_due(database, now, batch_size=batch_size, concurrency=concurrency)
    await run_room_operations(database, rooms, now, batch_size=batch_size)
    if reports:
        log.info("sweep", at=iso_z(now), transitions=len(reports))
    return reports


async def _prepare_due(
    database: Database, now: datetime, *, rooms: RoomGateway, batch_size: int, concurrency: int
) -> list[TransitionReport]:
    async with database.uow() as uow:
        horizon = await _preparation_horizon(uow)
    due_by = now + horizon
    reports: list[TransitionReport] = []
    async for batch in candidates(database, (Status.SCHEDULED,), due_by, batch_size=batch_size):
        due = [
            c.id
            for c in batch
            if (frozen := _frozen(c)) is None or plan.preparation_due(_start(c), frozen, now)
        ]
        reports += await _each(database, due, _prepare, concurrency, now=now, rooms=rooms)
    return reports


async def _finish_due(
    database: Database, now: datetime, *, batch_size: int, concurrency: int
) -> list[TransitionReport]:
    reports: list[TransitionReport] = []
    async for batch in candidates(
        database, (Status.READY, Status.ONGOING), now, batch_size=batch_size, ended=True
    ):
        maybe_due = [
            c
            for c in batch
            if (frozen := _frozen(c)) is None or plan.may_be_finish_due(_end(c), frozen, now)
        ]
        if not maybe_due:
            continue
        # A cheap unlocked look first: occupied rooms before the hard close wait.
        async with database.uow() as uow:
            open_by_session = await _open_intervals(uow, [c.id for c in maybe_due])
            rosters = await uow.sessions.rosters([c.id for c in maybe_due])
        due = []
        for candidate in maybe_due:
            frozen = _frozen(candidate)
            if frozen is not None:
                busy = plan.occupied(
                    open_by_session.get(candidate.id, ()),
                    {candidate.teacher_id, *rosters[candidate.id]},
                )
                if not plan.finish_due(_end(candidate), frozen, now, is_occupied=busy):
                    continue
            due.append(candidate.id)
        reports += await _each(database, due, _finish, concurrency, now=now)
    return reports


async def _each(
    database: Database, session_ids: list[int], step: Any, concurrency: int, **kwargs: Any
) -> list[TransitionReport]:
    """`step` for each session, up to `concurrency` transactions at once; the reports
    in the order of `session_ids`."""
    if concurrency <= 1:
        return [r for sid in session_ids for r in await _one(database, sid, step, **kwargs)]
    limit = asyncio.Semaphore(concurrency)

    async def limited(session_id: int) -> list[TransitionReport]:
        async with limit:
            return await _one(database, session_id, step, **kwargs)

    done = await asyncio.gather(*(limited(sid) for sid in session_ids))
    return [r for reports in done for r in reports]


async def _one(database: Database, session_id: int, step: Any, **kwargs: Any) -> list[Any]:
    """Run one session's step in its own transaction, its row locked; a session
    that fails is logged and left for the next tick, the others go on."""
    try:
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id, skip_locked=True)
            if session is None:
                return []
            reports: list[TransitionReport] = await step(uow, session, **kwargs)
            await uow.commit()
            return reports
    except (OSError, ConnectionError):
        raise
    except Exception as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise
        log.exception("sweep_session_failed", session_id=session_id)
        return []


async def _prepare(
    uow: UnitOfWork, session: Session, *, now: datetime, rooms: RoomGateway
) -> list[TransitionReport]:
    """SCHEDULED -> READY: room name, link and expiry set, CreateRoom queued; a
    session whose whole window was missed is finished in the same pass."""
    if session.status != Status.SCHEDULED or session.scheduled_at is None:
        return []
    settings = await settings_of(uow, session)
    if not plan.preparation_due(session.scheduled_at, settings, now):
        return []
    end = _end(session)
    session.meeting_room_name = session.session_code
    session.meeting_link = rooms.meeting_link(session.session_code)
    session.meeting_expires_at = plan.meeting_expires_at(end, settings)
    reports = [await _move(uow, session, LifecycleEvent.PREPARE, now)]
    roster = await uow.sessions.roster(session.id)
    if await _still_due(uow, session, settings, roster, now):
        # Too late for anyone to meet: no room is opened just to be closed again.
        reports.append(await _close(uow, session, roster, now))
        return reports
    uow.rooms.enqueue(
        "create_room",
        session.session_code,
        now=now,
        session_id=session.id,
        payload=plan.room_payload(
            roster_size=len(roster), now=now, expires_at=session.meeting_expires_at
        ),
    )
    return reports


async def _finish(uow: UnitOfWork, session: Session, *, now: datetime) -> list[TransitionReport]:
    """READY/ONGOING -> COMPLETED/ABSENT, if still due with the row locked."""
    if session.status not in (Status.READY, Status.ONGOING) or session.scheduled_at is None:
        return []
    settings = await settings_of(uow, session)
    roster = await uow.sessions.roster(session.id)
    if not await _still_due(uow, session, settings, roster, now):
        return []
    return [await _close(uow, session, roster, now)]


async def _still_due(
    uow: UnitOfWork, session: Session, settings: RuleSettings, roster: list[int], now: datetime
) -> bool:
    """The finishing rule with the row locked: the room's open intervals read now."""
    still_open = (await _open_intervals(uow, [session.id])).get(session.id, [])
    busy = plan.occupied(still_open, {session.teacher_id, *roster})
    return plan.finish_due(_end(session), settings, now, is_occupied=busy)


async def _close(
    uow: UnitOfWork, session: Session, roster: list[int], now: datetime
) -> TransitionReport:
    before = session.status
    await finish_session(uow, session, at=now, actor=ACTOR, roster=roster)
    return _report(session, before, now)


async def _move(
    uow: UnitOfWork, session: Session, event: LifecycleEvent, now: datetime
) -> TransitionReport:
    before = session.status
    await transition(uow, session, event, at=now, actor=ACTOR)
    return _report(session, before, now)


def _report(session: Session, before: str, at: datetime) -> TransitionReport:
    return TransitionReport(session.id, session.session_code, before, session.status, at)


async def _preparation_horizon(uow: UnitOfWork) -> timedelta:
    """How far ahead a session may be due for preparation: the longest preparation
    in force in any academy (the rule tables are small)."""
    minutes = RuleSettings().preparation_minutes
    for rules in await uow.session.scalars(select(Academy.rules)):
        for session_type in {"default", *(rules or {})}:
            try:
                settings = resolve_settings(rules or {}, session_type)
            except ValueError:
                continue
            minutes = max(minutes, settings.preparation_minutes)
    return timedelta(minutes=minutes)


async def _open_intervals(
    uow: UnitOfWork, session_ids: Sequence[int]
) -> dict[int, list[OpenInterval]]:
    result: dict[int, list[OpenInterval]] = {}
    if not session_ids:
        return result
    rows = await uow.session.execute(
        select(Interval.session_id, Interval.user_id, Interval.decisive).where(
            Interval.session_id.in_(session_ids), Interval.left_at.is_(None)
        )
    )
    for session_id, user_id, decisive in rows:
        result.setdefault(session_id, []).append(OpenInterval(user_id, decisive))
    return result


def _frozen(session: Session) -> RuleSettings | None:
    """The settings frozen on a candidate row, for a cheap look before locking; None
    when there are none (or unreadable ones: the locked step decides and logs)."""
    if not session.settings:
        return None
    try:
        return RuleSettings.from_dict(session.settings)
    except ValueError:
        return None


def _start(session: Session) -> datetime:
    assert session.scheduled_at is not None
    return session.scheduled_at


def _end(session: Session) -> datetime:
    assert session.ends_at is not None  # set with scheduled_at, always
    return session.ends_at
