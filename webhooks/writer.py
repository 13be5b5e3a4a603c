"""Group commit of the inbox: one writer task, one transaction per batch of deliveries.

Each request hands its event to `GroupWriter.append` and waits. The writer takes
whatever is waiting (up to `bound` events), stores them in ONE transaction with
one multi-row INSERT … ON CONFLICT DO NOTHING (SQLite with synchronous=FULL, so
the commit is on disk), and only then answers every one of them: `accepted` for
an id stored now, `duplicate` for one stored before or repeated earlier in the same
batch (the unique key decides, not a prior read). If the commit fails, every
request of the batch gets the same error (the endpoint answers 503) and nothing of
the batch is stored. The next batch forms while one commits, so the rate grows
with the load instead of one fsync per event. A batch is taken once a pass of the
event loop adds nothing to it: on SQLite the loop is blocked in each commit's fsync,
and the requests that arrived meanwhile are read over the next few passes. Taking
only the first pass's split them into several commits (~15 events each at the
ingest benchmark's peak); waiting out the passes lifted the peak from 0.29–0.30×
of a bare handler to 0.36–0.44× (BENCHMARKS.md, "Stop 26").

With one writer per process, appends in a process never race each other; across
replicas on PostgreSQL the inbox's advisory lock orders them (inbox.py), which
is what lets the projector read by position.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import structlog

from store.database import Database
from store.repositories.inbox import NewEvent
from webhooks.metrics import GROUP_COMMITS

log = structlog.get_logger("hudur.webhooks")

Status = Literal["accepted", "duplicate"]
BOUND = 512


@dataclass(slots=True)
class _Waiting:
    event: NewEvent
    answer: asyncio.Future[Status] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupWriter:
    def __init__(
        self,
        database: Callable[[], Database],
        *,
        bound: int = BOUND,
        on_commit: Callable[[], None] | None = None,
        lock: Callable[[], contextlib.AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        self._database = database
        self._bound = bound
        self._on_commit = on_commit
        # SQLite's single writer, shared with this process's projector (see
        # engine.projector): waiting here beats polling SQLite's busy handler.
        self._lock = lock or contextlib.nullcontext
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._task: asyncio.Task[None] | None = None

    async def append(self, event: NewEvent) -> Status:
        """Store `event` durably (or find it stored); raises what the commit raised."""
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(), name="hudur-inbox-writer")
        assert self._queue is not None
        waiting = _Waiting(event)
        self._queue.put_nowait(waiting)
        return await waiting.answer

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            batch = [await queue.get()]
            try:
                await self._fill(batch, queue)
                await self._commit(batch)
            except asyncio.CancelledError:
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.cancel()
                raise
            except BaseException as exc:  # every request of the batch shares the failure
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(exc)

    async def _fill(self, batch: list[_Waiting], queue: asyncio.Queue[_Waiting]) -> None:
        """Add what waits to `batch`, pass after pass of the loop while requests keep
        coming: the bodies it has read by then join this batch instead of waiting for
        the next commit, whose fsync each pass would otherwise pay for."""
        while len(batch) < self._bound:
            while len(batch) < self._bound and not queue.empty():
                batch.append(queue.get_nowait())
            await asyncio.sleep(0)
            if queue.empty():
                return

    async def _commit(self, batch: list[_Waiting]) -> None:
        started = time.perf_counter()
        first: dict[str, NewEvent] = {}
        for waiting in batch:
            first.setdefault(waiting.event.event_id, waiting.event)
        async with self._lock():
            stored = await self._database().append_inbox(list(first.values()))
        accepted = duplicate = 0
        for waiting in batch:
            event = waiting.event
            # Only the first of a repeated id in one batch may be the one stored now.
            if event.event_id in stored and first[event.event_id] is event:
                status: Status = "accepted"
                accepted += 1
            else:
                status = "duplicate"
                duplicate += 1
            if not waiting.answer.done():
                waiting.answer.set_result(status)
        GROUP_COMMITS.observe(len(batch))
        if accepted and self._on_commit is not None:
            self._on_commit()
        log.debug(
            "inbox_commit",
            events=len(batch),
            accepted=accepted,
            duplicate=duplicate,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
