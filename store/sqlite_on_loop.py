"""A SQLite connection for SQLAlchemy-asyncio that runs each statement on the calling
thread, the event loop's, instead of handing it to aiosqlite's thread.

Why: on a loaded loop each aiosqlite statement waits twice, once for its thread to
win the GIL back from the loop and once for the loop to pick its answer up. On the
ingest benchmark the projector's turn to write (a dozen statements, ~100 events)
took 34 ms at the median that way, 19 ms here, and the intake's appends wait for
the turn; one session's attendance read went from 3.4 to 1.5 ms of server CPU.
Statements here are awaited without suspending: no turn of the loop, no thread.

What must not run here: a statement that can wait for long. So the engine built on
it (`Database.on_loop`) never waits for the write lock (busy timeout 0: another
process's lock is an immediate `SQLITE_BUSY`, and its user falls back to the
threaded engine, which waits), never checkpoints (the inbox appender's thread does,
store/appender.py), and serves only short, bounded units of work: the projector's
turns, the fresh-reads check, one session's attendance read (`on_loop_first`).

It speaks the part of aiosqlite's connection that SQLAlchemy's aiosqlite dialect
uses (`async_creator`); the errors are sqlite3's own, as aiosqlite's are.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


class LoopCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> LoopCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> LoopCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """aiosqlite's queue of calls for its thread, which the dialect's isolation-level
    setter puts a call on: here the call runs at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class LoopConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _RunNow()

    @property
    def _connection(self) -> sqlite3.Connection:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def cursor(self) -> LoopCursor:
        return LoopCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> LoopCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


# Prepared statements `sqlite3` keeps per connection (its default: 128). The
# projector's statements carry IN lists as long as each batch makes them, so most
# of them are new text every turn: a deep cache only kept the last hundred-odd of
# those, each with its SQLite program, ~15 MB of the projector child's memory on
# the ingest benchmark (110–113 MB against 94–97 MB with 8 to 32). 32 holds the
# statements that do repeat (the position, the page, the move, an attendance read).
CACHED_STATEMENTS = 32


def on_loop_creator(path: Path) -> Callable[[], Any]:
    """`async_creator` for `create_async_engine("sqlite+aiosqlite:///…")`."""

    async def connect() -> LoopConnection:
        return LoopConnection(
            sqlite3.connect(path, check_same_thread=False, cached_statements=CACHED_STATEMENTS)
        )

    return connect
