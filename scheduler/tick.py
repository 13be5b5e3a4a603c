"""One sweep: `tick(db, now, rooms=...)` moves every due session and runs pending room work.

Due sessions are found through the `(status, scheduled_at)` index: SCHEDULED ones
starting within the preparation horizon, READY/ONGOING ones whose end has passed.
So a tick costs in proportion to the sessions that are due (or running), not to
all sessions ever planned. Candidates are read without locks, page by page in
`(scheduled_at, id)` order; each page's due sessions are then handled as one batch
in one transaction, their rows locked `FOR UPDATE SKIP LOCKED` and their statuses
re-checked: one read of what the batch needs, the decisions in memory, one write of
each kind (`engine.operations.sweep.prepare_many` / `finish_many`). Any number of
replicas may sweep one PostgreSQL database at once: rows another replica (or an
API call) holds are skipped and looked at again next tick, so replicas split a
backlog page by page. A batch that fails is retried one session at a time, so a
bad session is logged and left while the others go on. The charges' unique
(session, student) key stays the last line of defence. The steps themselves are
`engine.operations.sweep`'s; this module drives them.

SQLite has no row locks: there every write transaction takes the database lock
(`BEGIN IMMEDIATE`), which serialises sweeps of one process; run one replica.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog

from engine.operations import sweep
from engine.operations.sweep import Due, TransitionReport
from engine.wire import iso_z
from rules.lifecycle import PREPARABLE, RUNNING
from scheduler.collection import fewer_collections
from scheduler.due import DEFAULT_BATCH_SIZE, candidates
from scheduler.metrics import BATCH_SECONDS, SWEEPS
from scheduler.recovery import reconcile_rooms
from scheduler.recurring import generate
from scheduler.rooms import RoomGateway, run_room_operations
from store.database import Database
from store.faults import connection_lost

log = structlog.get_logger("hudur.sweeper")

__all__ = ["DEFAULT_BATCH_SIZE", "tick"]

Step = Callable[..., Awaitable[list[TransitionReport]]]


async def tick(
    database: Database,
    now: datetime,
    *,
    rooms: RoomGateway,
    batch_size: int = DEFAULT_BATCH_SIZE,
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
    with fewer_collections():
        return await _tick(
            database,
            now,
            rooms=rooms,
            batch_size=batch_size,
            reconcile=reconcile,
            academy_id=academy_id,
        )


async def _tick(
    database: Database,
    now: datetime,
    *,
    rooms: RoomGateway,
    batch_size: int,
    reconcile: bool,
    academy_id: int | None,
) -> list[TransitionReport]:
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
        academy_id=academy_id,
    )
    reports += await _finish_due(database, now, batch_size=batch_size, academy_id=academy_id)
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
    academy_id: int | None,
) -> list[TransitionReport]:
    async with database.uow() as uow:
        due_by = now + await sweep.preparation_horizon(uow)
    reports: list[TransitionReport] = []
    async for batch in candidates(
        database, sorted(PREPARABLE), due_by, batch_size=batch_size, academy_id=academy_id
    ):
        due = sweep.preparing([Due.of(row) for row in batch], now)
        reports += await _batch(
            database, due, sweep.prepare_many, now=now, meeting_link=rooms.meeting_link
        )
    return reports


async def _finish_due(
    database: Database, now: datetime, *, batch_size: int, academy_id: int | None
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
        reports += await _batch(database, due, sweep.finish_many, now=now)
    return reports


async def _batch(
    database: Database, due: list[Due], step: Step, **kwargs: Any
) -> list[TransitionReport]:
    """`step` over a batch of due sessions in one transaction, their rows locked
    (`SKIP LOCKED`: rows another replica or an API call holds are left for the next
    tick). If the batch fails, each session is tried alone, so one bad session is
    logged and left while the others go on."""
    if not due:
        return []
    try:
        return await _locked(database, due, step, **kwargs)
    except Exception as exc:
        if _fatal(exc):
            raise
        if len(due) == 1:
            log.exception("sweep_session_failed", session_id=due[0].session_id)
            return []
        log.warning("sweep_batch_failed", sessions=len(due), error=type(exc).__name__)
    return [r for d in due for r in await _batch(database, [d], step, **kwargs)]


async def _locked(
    database: Database, due: list[Due], step: Step, **kwargs: Any
) -> list[TransitionReport]:
    with BATCH_SECONDS.time():
        async with database.uow() as uow:
            locked = {
                s.id: s
                for s in await uow.sessions.lock_rows([d.session_id for d in due], skip_locked=True)
            }
            sessions = [locked[d.session_id] for d in due if d.session_id in locked]
            reports = await step(uow, sessions, dues={d.session_id: d for d in due}, **kwargs)
            await uow.commit()
            return reports


def _fatal(exc: Exception) -> bool:
    """A fault of the database itself, which the tick's caller handles, not a session's."""
    return isinstance(exc, OSError | ConnectionError) or connection_lost(exc)
