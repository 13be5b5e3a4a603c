"""PostgreSQL's group-commit appends of the inbox: one statement per batch over a
connection held for the purpose, straight to asyncpg (SQLite's: store/appender.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.faults import DriverFault
from store.repositories.inbox import APPEND_LOCK_KEY, NewEvent

# PostgreSQL: the whole batch in ONE statement, its own transaction (autocommit): all
# of it is stored or none. BEGIN and COMMIT around it were two more round trips a
# batch, a tenth of the serving process's CPU; without them the peak rose from
# 0.28-0.29x of a bare handler to 0.31-0.33x (three interleaved pairs, BENCHMARKS.md).
# A process killed while the statement runs may leave its batch stored unanswered:
# LiveKit resends each unanswered event, and the unique key answers it `duplicate`,
# as for a COMMIT whose answer was lost. The inbox's advisory lock
# (repositories.inbox.APPEND_LOCK_KEY) is taken by the one-row subquery every output
# row is joined to, so it is held before the first id is drawn and until the commit:
# appends from every replica commit in id order, as the projector needs.
_PG_APPEND = (
    "INSERT INTO webhook_events"
    " (event_id, event, room_name, room_sid, occurred_at, received_at, body, state)"
    " SELECT e.event_id, e.event, e.room_name, e.room_sid, e.occurred_at, e.received_at,"
    " e.body, 'pending'"
    " FROM (SELECT pg_advisory_xact_lock($1) AS held OFFSET 0) AS appending"
    " CROSS JOIN unnest("
    " $2::VARCHAR[], $3::VARCHAR[], $4::VARCHAR[], $5::VARCHAR[],"
    " $6::TIMESTAMPTZ[], $7::TIMESTAMPTZ[], $8::BYTEA[]"
    " ) WITH ORDINALITY"
    " AS e(event_id, event, room_name, room_sid, occurred_at, received_at, body, n)"
    " ORDER BY e.n"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


def _is_asyncpg_error(exc: BaseException) -> bool:
    # asyncpg is loaded by then (SQLAlchemy's dialect connected with it); imported
    # here, not at the top, so that a SQLite service never loads it (~3 MB a process).
    import asyncpg

    return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError)


class PostgresAppender:
    """Appends batches of inbox rows over one connection held for the purpose (no
    checkout and no ping per batch: one statement, in autocommit). The statement goes
    to asyncpg itself (prepared once, cached by the connection): through SQLAlchemy's
    execution and its greenlet it cost a tenth of the serving process's CPU."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._pool: object = None

    async def append(self, events: Sequence[NewEvent]) -> set[str]:
        """Store each event whose id is new, in one statement; the ids stored now. Ids
        must be distinct within `events` (the writer decides repeats in a batch)."""
        if not events:
            return set()
        driver = await self._driver()
        try:
            rows = await driver.fetch(
                _PG_APPEND,
                APPEND_LOCK_KEY,
                [e.event_id for e in events],
                [e.event for e in events],
                [e.room_name for e in events],
                [e.room_sid for e in events],
                [e.occurred_at for e in events],
                [e.received_at for e in events],
                [e.body for e in events],
            )
        except BaseException as exc:
            await self.close()  # the next batch starts on a fresh connection
            if _is_asyncpg_error(exc):
                raise DriverFault(f"{type(exc).__name__}: {exc}") from exc
            raise
        return {row[0] for row in rows}

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _driver(self) -> Any:
        """asyncpg's connection under the held one."""
        # A disposed engine (a new pool) means: let go of what was open, reconnect.
        if self._connection is None or self._pool is not self._engine.pool:
            await self.close()
            self._pool = self._engine.pool
            self._connection = await self._engine.connect()
        raw = await self._connection.get_raw_connection()
        return raw.driver_connection
