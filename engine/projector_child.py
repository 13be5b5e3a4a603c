"""`hudur serve`'s live projector in a child process: its CPU is not the intake's.

Where: by default on either database (`HUDUR_PROJECTOR_PROCESS`, `false` keeps the
projector in the serving process's loop; the measured reasons are in the README). On
SQLite the intake appends to its own spool (store/spool.py), so the child does not
take turns with it. `hudur serve` spawns `hudur project --follow`
once its app runs, restarts it should it die, and stops it (SIGTERM, then SIGKILL)
on shutdown. The child asks for SIGTERM when its parent dies (Linux's
PR_SET_PDEATHSIG, set as it starts). The serving process keeps `catch_up` for its
fresh reads and sweeps.

On SQLite both processes take the database's turn to write as a `flock` on a file beside the
database (engine/writer_turn.py), never SQLite's busy handler. Nothing is woken
across the processes: the child polls the inbox every `FOLLOW_POLL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from engine.logging import configure_logging
from engine.projector import Projector
from engine.settings import Settings
from store.database import Database

if TYPE_CHECKING:  # the child process imports nothing of the web app
    from aiohttp import web

log = structlog.get_logger("hudur.projector")

FOLLOW_POLL_SECONDS = 0.05
RESTART_SECONDS = 0.5  # after a crash, before the next child
STOP_SECONDS = 5.0  # from SIGTERM to SIGKILL
PARENT_ENV = "HUDUR_PROJECTOR_PARENT"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ProjectorChild:
    """Runs, restarts and stops one `hudur project --follow`."""

    def __init__(self, command: list[str] | None = None) -> None:
        # `hudur project --follow` through a slim entry point (`main` below): the
        # child does not import the web app, its API or Alembic, a third of its memory.
        self._command = command or [sys.executable, "-m", "engine.projector_child"]
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self.restarts = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="hudur-projector-child")

    async def _supervise(self) -> None:
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        while True:
            self._process = await asyncio.create_subprocess_exec(*self._command, env=env)
            code = await self._process.wait()
            self.restarts += 1
            log.error("projector_child_exited", code=code)
            await asyncio.sleep(RESTART_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


def setup(app: web.Application, child: ProjectorChild) -> None:
    async def child_ctx(_app: web.Application) -> AsyncIterator[None]:
        child.start()
        yield
        await child.stop()

    app.cleanup_ctx.append(child_ctx)


async def follow(settings: Settings) -> None:
    """`hudur project --follow`: project batch after batch until SIGTERM, or until
    the `hudur serve` that started it is gone."""
    database = Database(settings.database_url)
    projector = Projector(
        lambda: database,
        clock=lambda: datetime.now(UTC),
        allow_as_of=settings.allow_as_of,
        poll=FOLLOW_POLL_SECONDS,
        shared_turn=True,
    )
    loop = asyncio.get_running_loop()
    following = asyncio.ensure_future(projector.follow())
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, following.cancel)
    parent = os.environ.get(PARENT_ENV)
    if parent:
        _die_with_parent()
        if os.getppid() != int(parent):
            # The parent died before PR_SET_PDEATHSIG was set: nobody would stop us.
            following.cancel()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await following
    finally:
        await database.dispose()


def main() -> None:
    """`python -m engine.projector_child`: `hudur project --follow`, loading only
    what projecting needs."""
    settings = Settings()
    configure_logging(settings.log_format)
    # Nicer than `serve` (Settings.projector_nice): under the ingest benchmark's peak
    # the intake's commits waited for a core after each fsync, behind this process.
    os.nice(settings.projector_nice)
    asyncio.run(follow(settings))


if __name__ == "__main__":
    main()
