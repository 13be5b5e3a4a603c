"""The sweeper of `hudur serve`: `tick` every HUDUR_SWEEP_INTERVAL_SECONDS.

A background task owned by the app's cleanup_ctx. A failed tick is logged and
the loop goes on; shutdown lets a running tick finish (within a grace period) and
then cancels the task. `wake()` starts the next tick at once and `wait_for_ticks()`
lets a caller await progress, so nothing needs to sleep to observe the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog

from scheduler.rooms import RoomGateway
from scheduler.tick import tick
from store.database import Database

log = structlog.get_logger("hudur.sweeper")

Tick = Callable[..., Awaitable[Any]]
STOP_GRACE_SECONDS = 10.0


class Sweeper:
    def __init__(
        self,
        database: Database,
        rooms: RoomGateway,
        *,
        clock: Callable[[], datetime],
        interval: float,
        run_tick: Tick = tick,
    ) -> None:
        self.database = database
        self.rooms = rooms
        self.clock = clock
        self.interval = interval
        self.ticks = 0
        self.failures = 0
        self._run_tick = run_tick
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="hudur-sweeper")

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let a running tick end, then stop; cancel it if it takes longer than `grace`."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Sweep now instead of at the end of the interval."""
        self._wake.set()

    async def wait_for_ticks(self, count: int) -> None:
        """Return once `count` ticks (failed or not) have ended since start."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.ticks >= count)

    async def _loop(self) -> None:
        log.info("sweeper_started", interval_seconds=self.interval)
        while not self._stopping:
            await self._once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
        log.info("sweeper_stopped", ticks=self.ticks, failures=self.failures)

    async def _once(self) -> None:
        try:
            await self._run_tick(self.database, self.clock(), rooms=self.rooms)
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad tick must not stop the sweeping; the next one retries
            self.failures += 1
            log.exception("sweep_failed")
        async with self._progress:
            self.ticks += 1
            self._progress.notify_all()
