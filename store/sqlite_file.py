"""Whether an SQLite database is still the file at its configured path.

A process keeps the files it opened: remove `hudur.db` (and its `-wal`, `-shm`)
under a running service and every connection goes on writing to the deleted
inodes, gone at the next restart. So the file's identity (device, inode) is
recorded when the first connection opens it, and before anything is acknowledged
(a unit of work's commit, `/readyz`) the path is looked at again. While it holds
no file, or another one, the database is `Displaced` (a fault the edges answer
with 503) and no new connection may open (it would create an empty file there).
Once a file is back at the path, the pool is let go so new connections open that
file; units of work begun before that belong to the old generation and may not
commit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from store.faults import Displaced

Identity = tuple[int, int]


def set_pragmas(connection: Any, busy_timeout_ms: int) -> None:
    """What every connection to the file runs first, the engine's and the inbox
    appender's alike (a DB-API connection in autocommit)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # FULL: a 200 to LiveKit promises the event survives a power loss, not only a
    # crash of this process (WAL with NORMAL may lose the last commits to the OS).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def set_loop_pragmas(connection: Any) -> None:
    """`set_pragmas` for a connection the event loop itself drives (the inbox
    appender's, `Database.on_loop`'s): it never waits for a lock (busy timeout 0:
    SQLITE_BUSY at once, and its user goes to a thread that waits) and never
    checkpoints (the appender's thread does, store/appender.py)."""
    set_pragmas(connection, 0)
    cursor = connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def identity_of(path: Path) -> Identity | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


class FileGuard:
    """The identity of one SQLite file, as its connections opened it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0  # bumped each time the pool is let go for a file put back
        self._opened: Identity | None = None  # None until a connection opens the file
        self._ever_opened = False
        self._displaced = False

    def before_connect(self) -> None:
        """Refuse to open (and so create) a missing file once one was opened: a fresh
        empty database there would take writes meant for the lost one."""
        if self._ever_opened and identity_of(self.path) is None:
            self._displaced = True
            raise Displaced(f"the database file {self.path} is gone")

    def connected(self) -> None:
        current = identity_of(self.path)
        if self._opened is None:
            self._opened, self._ever_opened = current, current is not None
        elif current != self._opened:  # a new connection of the pool opened another file
            self._displaced = True

    def check(self, generation: int | None = None) -> None:
        """Raise `Displaced` unless the path still holds the file the connections opened
        (and, given a unit of work's generation, the pool it drew from is current)."""
        if self._opened is None:
            return
        if identity_of(self.path) != self._opened:
            self._displaced = True
        if self._displaced:
            raise Displaced(f"the database file {self.path} is not the one that was opened")
        if generation is not None and generation != self.generation:
            raise Displaced("this work began on a database file that has since been replaced")

    def needs_reopen(self) -> bool:
        """Displaced, and a file is at the path again."""
        return self._displaced and identity_of(self.path) is not None

    def reopened(self) -> None:
        """The pool was let go: the next connection records the file it opens."""
        self._opened, self._displaced = None, False
        self.generation += 1

    def writable(self) -> bool:
        """Whether the filesystem lets this process write the files (false when they are
        immutable, `chattr +i`, or read-only to a user who is not root)."""
        files = [self.path, *(Path(f"{self.path}{s}") for s in ("-wal", "-shm"))]
        return all(os.access(f, os.W_OK) for f in files if f.exists())
