"""The inbox's group-commit appends, off the ORM: on SQLite one plain `sqlite3`
connection owned by one thread, a whole batch handed to it in one hop; on PostgreSQL
one statement per batch over a connection held for it (`PostgresAppender`, below).

Through SQLAlchemy-asyncio and aiosqlite a group commit took ~6.6 ms on the benchmark
machine against ~1.6 ms of fsync: every statement (BEGIN, INSERT, COMMIT) is a
round trip between the event loop and aiosqlite's thread, each waiting for a busy
loop. Here the batch crosses once: the thread runs BEGIN IMMEDIATE, one multi-row
`INSERT … ON CONFLICT DO NOTHING RETURNING event_id` and COMMIT, and the loop
resumes once with the ids stored now.

The connection is set up like the engine's (WAL, synchronous=FULL, busy_timeout)
and answers to the same `FileGuard`: it opens only the file the engine opened, it
checks before and after each commit that the path still holds that file, and a file
put back at the path (a new guard generation) makes it reopen.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.repositories.inbox import APPEND_LOCK_KEY, NewEvent
from store.schema import WebhookEvent
from store.sqlite_file import FileGuard, set_pragmas
from store.types import UTCDateTime

_INBOX = cast(Table, WebhookEvent.__table__)
_FIELDS = (
    "event_id",
    "event",
    "room_name",
    "room_sid",
    "occurred_at",
    "received_at",
    "body",
    "state",
)
_DIALECT = sqlite_dialect.dialect()
# The stored text of a datetime, exactly as the ORM writes it (store.types).
_DATETIME = UTCDateTime().bind_processor(_DIALECT)


def _append_sql(rows: int) -> str:
    """`INSERT … VALUES (…), … ON CONFLICT DO NOTHING RETURNING event_id` of `rows`
    rows, with positional parameters in _FIELDS order, row after row."""
    values: list[dict[str, Any]] = [
        {name: bindparam(f"{name}_{n}") for name in _FIELDS} for n in range(rows)
    ]
    statement = (
        sqlite_dialect.insert(_INBOX)
        .values(values)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_INBOX.c.event_id)
    )
    compiled = statement.compile(dialect=_DIALECT)
    expected = [f"{name}_{n}" for n in range(rows) for name in _FIELDS]
    assert compiled.positiontup == expected  # the order `append` lays parameters out in
    return str(compiled)


class SqliteAppender:
    """Appends batches of inbox rows to one SQLite file from a thread of its own."""

    def __init__(self, path: Path, guard: FileGuard | None, busy_timeout_ms: int) -> None:
        self._path = path
        self._guard = guard
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        # How a connection is opened: a seam for tests that make the file unreachable.
        self.connect: Callable[..., sqlite3.Connection] = sqlite3.connect
        self._connection: sqlite3.Connection | None = None
        self._generation = -1
        self._statements: dict[int, str] = {}

    async def append(self, events: Sequence[NewEvent], generation: int) -> set[str]:
        """Store each event whose id is new, in one transaction; the ids stored now.
        Ids must be distinct within `events` (the writer decides repeats in a batch)."""
        if not events:
            return set()
        assert _DATETIME is not None
        params: list[Any] = []
        for e in events:
            params += (
                e.event_id,
                e.event,
                e.room_name,
                e.room_sid,
                _DATETIME(e.occurred_at),
                _DATETIME(e.received_at),
                e.body,
                "pending",
            )
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hudur-inbox")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._commit, len(events), params, generation
        )

    def reopen_with(self, connect: Callable[..., sqlite3.Connection]) -> None:
        """Open the next connection with `connect` (tests: a file that fails)."""
        self.connect = connect
        self._generation = -1

    async def close(self) -> None:
        """Close the connection and let the thread go (the next append opens both)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
            executor.shutdown(wait=True)

    # In the appender's thread only, from here on.

    def _commit(self, rows: int, params: list[Any], generation: int) -> set[str]:
        connection = self._open(generation)
        self._check(generation)
        connection.execute("BEGIN IMMEDIATE")
        try:
            stored: set[str] = set()
            done = 0
            # In chunks of a power of two rows: a handful of statements to compile
            # and cache, whatever the batch sizes.
            while done < rows:
                chunk = 1 << ((rows - done).bit_length() - 1)
                statement = self._statements.get(chunk)
                if statement is None:
                    statement = self._statements[chunk] = _append_sql(chunk)
                part = params[done * len(_FIELDS) : (done + chunk) * len(_FIELDS)]
                stored.update(row[0] for row in connection.execute(statement, part))
                done += chunk
            self._check(generation)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._check(generation)  # displaced while committing: that commit will not last
        return stored

    def _check(self, generation: int) -> None:
        if self._guard is not None:
            self._guard.check(generation)

    def _open(self, generation: int) -> sqlite3.Connection:
        if self._connection is not None and generation == self._generation:
            return self._connection
        self._close()
        if self._guard is not None:
            self._guard.before_connect()
        connection = self.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=0
        )
        try:
            set_pragmas(connection, self._busy_timeout_ms)
        except BaseException:
            connection.close()
            raise
        if self._guard is not None:
            self._guard.connected()
        self._connection, self._generation = connection, generation
        return connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# PostgreSQL: the whole batch in ONE statement between BEGIN and COMMIT (not in
# autocommit: a process killed while the statement waits must leave the batch
# uncommitted, not stored unanswered). The inbox's advisory lock
# (repositories.inbox.APPEND_LOCK_KEY) is taken by the one-row subquery every output
# row is joined to, so it is held before the first id is drawn and until the commit:
# appends from every replica commit in id order, as the projector needs.
_PG_APPEND = text(
    "INSERT INTO webhook_events"
    " (event_id, event, room_name, room_sid, occurred_at, received_at, body, state)"
    " SELECT e.event_id, e.event, e.room_name, e.room_sid, e.occurred_at, e.received_at,"
    " e.body, 'pending'"
    " FROM (SELECT pg_advisory_xact_lock(:lock_key) AS held OFFSET 0) AS appending"
    " CROSS JOIN unnest("
    " CAST(:event_ids AS VARCHAR[]), CAST(:events AS VARCHAR[]),"
    " CAST(:room_names AS VARCHAR[]), CAST(:room_sids AS VARCHAR[]),"
    " CAST(:occurred_ats AS TIMESTAMPTZ[]), CAST(:received_ats AS TIMESTAMPTZ[]),"
    " CAST(:bodies AS BYTEA[])"
    " ) WITH ORDINALITY"
    " AS e(event_id, event, room_name, room_sid, occurred_at, received_at, body, n)"
    " ORDER BY e.n"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


class PostgresAppender:
    """Appends batches of inbox rows over one connection held for the purpose (no
    checkout and no ping per batch: BEGIN, the statement, COMMIT)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._pool: object = None

    async def append(self, events: Sequence[NewEvent]) -> set[str]:
        """Store each event whose id is new, in one statement; the ids stored now. Ids
        must be distinct within `events` (the writer decides repeats in a batch)."""
        if not events:
            return set()
        connection = await self._connected()
        try:
            result = await connection.execute(
                _PG_APPEND,
                {
                    "lock_key": APPEND_LOCK_KEY,
                    "event_ids": [e.event_id for e in events],
                    "events": [e.event for e in events],
                    "room_names": [e.room_name for e in events],
                    "room_sids": [e.room_sid for e in events],
                    "occurred_ats": [e.occurred_at for e in events],
                    "received_ats": [e.received_at for e in events],
                    "bodies": [e.body for e in events],
                },
            )
            stored = set(result.scalars())
            await connection.commit()
        except BaseException:
            await self.close()  # the next batch starts on a fresh connection
            raise
        return stored

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _connected(self) -> AsyncConnection:
        # A disposed engine (a new pool) means: let go of what was open, reconnect.
        if self._connection is not None and self._pool is self._engine.pool:
            return self._connection
        await self.close()
        self._pool = self._engine.pool
        self._connection = await self._engine.connect()
        return self._connection
