"""The report's walk over sessions: a fixed number of queries per chunk, whatever the
number of sessions in it, and chunks that together hold every row once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from engine.operations.attendance_report import ReportFilter, report_rows
from rules.codes import SessionType
from store.database import Database
from tests.operations.world import END, scheduled, world


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def _sessions(database: Database, n: int) -> None:
    await world(database)
    async with database.uow() as uow:
        for k in range(n):
            group = k % 2 == 1
            await scheduled(
                uow,
                session_type=SessionType.QURAN_CIRCLE if group else SessionType.QURAN_INDIVIDUAL,
                students=(10, 11, 12) if group else (10,),
            )
        await uow.commit()


async def _walk(database: Database, chunk: int) -> tuple[list[Any], int, list[str]]:
    chunks = 0
    rows: list[Any] = []
    with counted(database) as statements:
        async for part in report_rows(database.uow, ReportFilter(), now=END, chunk=chunk):
            chunks += 1
            rows.extend(part)
    return rows, chunks, statements


class TestTheWalk:
    @pytest.mark.parametrize("n", [3, 30])
    async def test_a_chunk_costs_the_same_queries_however_many_sessions_it_holds(
        self, database: Database, n: int
    ) -> None:
        """One chunk of 3 or of 30 sessions: the same seven reads (sessions, rosters,
        written verdicts, intervals, track evidence, reports, charges), no query per
        session."""
        await _sessions(database, n)
        rows, chunks, statements = await _walk(database, chunk=200)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert (1, 7) == (chunks, len(selects))
        assert n // 2 * 4 + (n - n // 2) * 2 == len(rows)

    async def test_small_chunks_give_the_same_rows_in_the_same_order(
        self, database: Database
    ) -> None:
        """Chunks of 4 sessions walk the same rows as one chunk, each once."""
        await _sessions(database, 11)
        whole, _, _ = await _walk(database, chunk=200)
        parts, chunks, _ = await _walk(database, chunk=4)
        assert (whole, 3) == (parts, chunks)
        assert sorted(r.key for r in whole) == [r.key for r in whole]
