"""The turn to write a SQLite file, shared by every writer that takes it.

In one process an asyncio lock: waiting in the event loop beats SQLite's busy
handler, which polls with sleeps of up to 100 ms. When the live projector runs in a
child process of `hudur serve` (engine/projector_child.py), both processes also take
an exclusive `flock` on a file beside the database: first without blocking, in the
event loop (the common case costs one system call), else in a thread, so the loop
never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType


class WriterTurn:
    def __init__(self, lock_file: Path | None = None) -> None:
        self._lock = asyncio.Lock()
        self._lock_file = lock_file
        self._fd: int | None = None

    async def __aenter__(self) -> WriterTurn:
        await self._lock.acquire()
        try:
            if self._lock_file is not None:
                await self._take_file()
        except BaseException:
            self._lock.release()
            raise
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        try:
            if self._fd is not None and self._lock_file is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    async def _take_file(self) -> None:
        assert self._lock_file is not None
        if self._fd is None:
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        taking = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(taking)
        except asyncio.CancelledError:
            # The thread still takes the lock: give it back as soon as it has.
            taking.add_done_callback(lambda done: _give_back(fd, done))
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _give_back(fd: int, taken: asyncio.Future[None]) -> None:
    if not taken.cancelled() and taken.exception() is None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


def lock_file_of(database_file: Path) -> Path:
    """The file whose `flock` is the turn to write `database_file`."""
    return database_file.with_name(database_file.name + ".writer")
