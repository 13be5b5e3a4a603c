"""One sweep: `tick(db, now, rooms=...)` moves every due session and runs pending room work.

Due sessions are found through the `(status, scheduled_at)` index: SCHEDULED ones
starting within the preparation horizon, READY/ONGOING ones whose end has passed.
So a tick costs in proportion to the sessions that are due (or running), not to
all sessions ever planned. Candidates are read without locks, page by page in
`(scheduled_at, id)` order; each is then handled in its own transaction with its
row locked `FOR UPDATE SKIP LOCKED` and its status re-checked, so any number of
replicas may sweep one PostgreSQL database at once: a row another replica (or an
API call) holds is skipped and looked at again next tick. The charges' unique
(session, student) key stays the last line of defence. The steps themselves are
`engine.operations.sweep`'s; this module drives them.

SQLite has no row locks: there every write transaction takes the database lock
(`BEGIN IMMEDIATE`), which serialises sweeps of one process; run one replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog

from engine.operations import sweep
from engine.operations.sweep import Due, TransitionReport
from engine.wire import iso_z
from rules.lifecycle import PREPARABLE, RUNNING
from scheduler.due import DEFAULT_BATCH_SIZE, candidates
from scheduler.metrics import SWEEPS
from scheduler.recovery import reconcile_rooms
from scheduler.recurring import generate
from scheduler.rooms import RoomGateway, run_room_operations
from store.database import Database
from store.faults import connection_lost

log = structlog.get_logger("hudur.sweeper")

__all__ = ["DEFAULT_BATCH_SIZE", "tick"]
# Session transactions a tick runs at once on PostgreSQL (SQLite has one writer: 1).
POSTGRES_CONCURRENCY = 4

Step = Callable[..., Awaitable[tuple[TransitionReport, ...]]]


async def tick(
    database: Database,
    now: datetime,
    *,
    rooms: RoomGateway,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int | None = None,
    reconcile: bool = True,
    academy_id: int | None = None,
) -> list[TransitionReport]:
    """Run one sweep as of `now`; the transitions it made, in order. With
    `academy_id`, every step touches that academy's schedules, sessions and rooms only
    (a replay's `as_of` must not move another academy's lessons).

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
    await generate(database, now, academy_id=academy_id)
    if reconcile and rooms.enabled:
        reports += await reconcile_rooms(
            database, now, rooms=rooms, batch_size=batch_size, academy_id=academy_id
        )
    reports += await _prepare_due(
        database,
        now,
        rooms=rooms,
        batch_size=batch_size,
        concurrency=concurrency,
        academy_id=academy_id,
    )
    reports += await _finish_due(
        database, now, batch_size=batch_size, concurrency=concurrency, academy_id=academy_id
    )
    await run_room_operations(database, rooms, now, batch_size=batch_size, academy_id=academy_id)
    if reports:
        log.info("sweep", at=iso_z(now), transitions=len(reports))
    return reports


async def _prepare_due(
    database: Database,
    now: datetime,
    *,
    rooms: RoomGateway,
    batch_size: int,
    concurrency: int,
    academy_id: int | None,
) -> list[TransitionReport]:
    async with database.uow() as uow:
        due_by = now + await sweep.preparation_horizon(uow)
    reports: list[TransitionReport] = []
    async for batch in candidates(
        database, sorted(PREPARABLE), due_by, batch_size=batch_size, academy_id=academy_id
    ):
        due = sweep.preparing([Due.of(row) for row in batch], now)
        reports += await _each(
            database, due, sweep.prepare, concurrency, now=now, meeting_link=rooms.meeting_link
        )
    return reports


async def _finish_due(
    database: Database, now: datetime, *, batch_size: int, concurrency: int, academy_id: int | None
) -> list[TransitionReport]:
    reports: list[TransitionReport] = []
    async for batch in candidates(
        database, sorted(RUNNING), now, batch_size=batch_size, ended=True, academy_id=academy_id
    ):
        maybe_due = sweep.maybe_finishing([Due.of(row) for row in batch], now)
        if not maybe_due:
            continue
        async with database.uow() as uow:
            due = await sweep.finishing(uow, maybe_due, now)
        reports += await _each(database, due, sweep.finish, concurrency, now=now)
    return reports


async def _each(
    database: Database, due: list[Due], step: Step, concurrency: int, **kwargs: Any
) -> list[TransitionReport]:
    """`step` for each due session, up to `concurrency` transactions at once; the
    reports in the order of `due`."""
    if concurrency <= 1:
        return [r for d in due for r in await _one(database, d, step, **kwargs)]
    limit = asyncio.Semaphore(concurrency)

    async def limited(candidate: Due) -> tuple[TransitionReport, ...]:
        async with limit:
            return await _one(database, candidate, step, **kwargs)

    done = await asyncio.gather(*(limited(d) for d in due))
    return [r for reports in done for r in reports]


async def _one(
    database: Database, due: Due, step: Step, **kwargs: Any
) -> tuple[TransitionReport, ...]:
    """Run one session's step in its own transaction, its row locked; a session
    that fails is logged and left for the next tick, the others go on."""
    try:
        async with database.uow() as uow:
            session = await uow.sessions.get(due.session_id, skip_locked=True)
            if session is None:
                return ()
            reports = await step(uow, session, due=due, **kwargs)
            await uow.commit()
            return reports
    except (OSError, ConnectionError):
        raise
    except Exception as exc:
        if connection_lost(exc):
            raise
        log.exception("sweep_session_failed", session_id=due.session_id)
        return ()
