"""The projector of `hudur serve`: the inbox projected off the request path.

A background task runs `projection.project` batch after batch until the inbox is
read, then waits: woken by each commit of the webhook intake, and polling (another
replica's or process's appends wake nobody here). On PostgreSQL `hudur serve` runs
that loop in a child process by default (`hudur project --follow`,
engine/projector_child.py: `follow`; `HUDUR_PROJECTOR_PROCESS` decides); the serving
process's Projector is then not `live` and only catches up for its reads.

`catch_up()` is the one hook for fresh reads (CONTRACT 3: no stale reads): it
projects inline, in the caller's task, every row stored before it was called, so a
read that follows sees every event acknowledged before the read began. Every HTTP
request except the webhook intake and the probes passes through it
(engine/fresh_reads.py), and so does every sweep of the background sweeper. This
module imports nothing of the web app, so the projector's child process loads none
of it.

On SQLite the intake's writer and this projector take turns on one asyncio lock:
both write, and waiting in the event loop beats SQLite's busy handler, which polls
with sleeps of up to 100 ms. The projector reads and derives a batch before its turn
(a snapshot read, the events parsed, yielding to the loop every few dozen rows) and
holds the turn only for the batch's writes and the reads they rest on (the rooms'
sessions, the touched intervals), checking first that the position has not moved.
Its statements run on the loop itself (`Database.uow(on_loop=True)`,
store/sqlite_on_loop.py): through aiosqlite's thread each one waited for the busy
loop twice, and on the ingest benchmark a turn (~100 events) took 34 ms at the median
against 19 ms on the loop, while the intake waited. When
another process holds the file's write lock, the turn does not wait on the loop: it
starts again through the threaded engine, which waits
(`hudur_sqlite_on_loop_fallbacks_total`).

A batch costs mostly the same whatever its size (about 15 ms on the benchmark
machine, then some 0.4 ms an event), so once the projector has read the inbox to its
end it lingers 50 ms before the next batch: under load the batches grow (hundreds
of events) instead of one small batch after each group commit, and the lag stays
well under a second. Readers never wait for that: `catch_up` projects inline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime

import structlog

from engine.operations.projection import Projected, apply, project, read_rows
from engine.writer_turn import WriterTurn, lock_file_of
from store.database import Database

log = structlog.get_logger("hudur.projector")

LIVE_BATCH = 1000
POLL_SECONDS = 0.5
# After the inbox is read to its end, wait this long for more before the next batch.
LINGER_SECONDS = 0.05


class Projector:
    def __init__(
        self,
        database: Callable[[], Database],
        *,
        clock: Callable[[], datetime],
        allow_as_of: bool,
        batch: int = LIVE_BATCH,
        poll: float = POLL_SECONDS,
        linger: float = LINGER_SECONDS,
        live: bool = True,
        shared_turn: bool = False,
    ) -> None:
        self._database = database
        self._clock = clock
        self._allow_as_of = allow_as_of
        self._batch = batch
        self._poll = poll
        self._linger = linger
        # One batch at a time in this process (the loop's or a fresh read's), so two
        # never derive the same rows only for one of them to be dropped.
        self._projecting = asyncio.Lock()
        # `live`: run the batch loop here (False: a child process runs it, and this
        # process only catches up for its reads). `shared_turn`: the turn to write
        # is shared with another process (engine/writer_turn.py).
        self._live = live
        self._shared_turn = shared_turn
        self._turn: WriterTurn | None = None
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.position = 0
        self.failures = 0

    def writer_lock(self) -> AbstractAsyncContextManager[object]:
        """The turn to write, for the intake's writer and this projector (SQLite only)."""
        database = self._database()
        if database.dialect != "sqlite":
            return nullcontext()
        if self._turn is None:
            file = database.sqlite_file
            shared = self._shared_turn and file is not None
            self._turn = WriterTurn(lock_file_of(file) if shared and file else None)
        return self._turn

    def intake_lock(self) -> AbstractAsyncContextManager[object]:
        """What the intake's group commits take: nothing once they go to SQLite's
        spool (a lock of its own, store/spool.py), else the turn to write."""
        if self._database().spool is not None:
            return nullcontext()
        return self.writer_lock()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._live:
            self._task = asyncio.create_task(self._loop(), name="hudur-projector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._turn is not None:
            self._turn.close()
            self._turn = None

    async def follow(self) -> None:
        """Run the batch loop in this task until cancelled (`hudur project --follow`)."""
        try:
            await self._loop()
        finally:
            if self._turn is not None:
                self._turn.close()
                self._turn = None

    async def catch_up(self) -> None:
        """Project every event acknowledged before this call (inline, batch by batch)."""
        database = self._database()
        position, newest = await database.on_loop_first(self._positions, name="freshness_check")
        if position < newest and database.spool is not None:
            # Rows waiting in SQLite's spool take their inbox ids now: up to the newest
            # of them is what this call must project.
            newest = max(newest, await database.on_loop_first(self._move, name="spool_move"))
        while position < newest:
            batch = await self._one()
            if batch is None:  # another replica took the rest
                break
            position = batch.position

    async def _move(self, on_loop: bool) -> int:
        """Move the spool's waiting rows into the inbox; the newest inbox id after."""
        database = self._database()
        async with self.writer_lock(), database.uow(on_loop=on_loop) as uow:
            newest = await uow.inbox.move_spooled()
            await uow.commit()
        return newest

    async def _positions(self, on_loop: bool) -> tuple[int, int]:
        # One statement, no write lock: what was committed before this call began.
        async with self._database().reading(snapshot=False, on_loop=on_loop) as uow:
            return await uow.projection.positions()

    async def wait_for(self, position: int) -> None:
        """Return once this process has projected up to inbox id `position`."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.position >= position)

    async def _one(self) -> Projected | None:
        database = self._database()
        if database.dialect == "sqlite":
            batch = await self._one_sqlite(database)
        else:
            async with database.uow() as uow:
                batch = await project(
                    uow, now=self._clock(), allow_as_of=self._allow_as_of, limit=self._batch
                )
                if batch is not None:
                    await uow.commit()
        if batch is not None:
            async with self._progress:
                self.position = max(self.position, batch.position)
                self._progress.notify_all()
        return batch

    async def _one_sqlite(self, database: Database) -> Projected | None:
        """One batch read and derived outside the turn to write, then written in a
        short turn: the intake's writer waits only for the writes. In this process
        one batch at a time (the loop's or a fresh read's). Should the position have
        moved meanwhile (another process projected those rows: `hudur sweep`, a
        rebuild), what was derived is dropped and the next rows are read again."""
        async with self._projecting:
            return await self._one_sqlite_turn(database)

    async def _one_sqlite_turn(self, database: Database) -> Projected | None:
        async def turn(on_loop: bool) -> Projected | None:
            while True:
                async with database.reading(on_loop=on_loop) as reader:
                    position, newest = await reader.projection.positions()
                    rows = await reader.inbox.page(after=position, limit=self._batch)
                if not rows:
                    # Nothing in the inbox past the position, yet not projected: rows
                    # wait in SQLite's spool (an idle poll takes no write lock).
                    if position < newest and await self._move(on_loop):
                        continue  # what the spool held is in the inbox now
                    return None
                staged = await read_rows(rows, allow_as_of=self._allow_as_of)
                async with self.writer_lock(), database.uow(on_loop=on_loop) as uow:
                    if await uow.projection.hold() != position:
                        continue
                    batch = await apply(uow, staged, now=self._clock())
                    # The next batch's rows, from the spool, in the same commit.
                    await uow.inbox.move_spooled()
                    await uow.commit()
                    return batch

        return await database.on_loop_first(turn, name="projector_turn")

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                while (batch := await self._one()) is not None:
                    if batch.events < self._batch:
                        break  # read up to the newest row: linger before the next
            except asyncio.CancelledError:
                raise
            except Exception:  # the next wake-up or poll tries the same batch again
                self.failures += 1
                log.exception("projection_failed")
            with contextlib.suppress(TimeoutError):
                if not self._wake.is_set():
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                # Let the next commits join this batch: one batch's cost is mostly
                # fixed, so a few milliseconds here buy throughput under load.
                await asyncio.sleep(self._linger)
