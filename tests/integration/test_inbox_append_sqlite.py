"""SQLite's inbox appender (store/appender.py): the event loop commits each batch
itself, and what would block it, waiting for another process's write lock and
checkpointing the WAL, happens in the appender's thread."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from store.appender import SqliteAppender
from store.database import Database
from tests.integration.test_inbox_append import event
from tests.support.conditions import until
from tests.support.databases import fresh_sqlite, sqlite_url


def _waits() -> float:
    return REGISTRY.get_sample_value("hudur_inbox_append_waits_total") or 0.0


async def test_a_batch_finding_the_file_locked_waits_off_the_loop_and_is_stored(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Another process holds the write lock: the batch is not refused, the loop goes
    on serving while it waits, and it is stored once the lock is let go."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    try:
        await database.append_inbox([event(0)])  # the loop's connection is open
        other = sqlite3.connect(tmp_path / "hudur.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        before = _waits()
        appending = asyncio.create_task(database.append_inbox([event(1), event(0)]))
        await until(lambda: _waits() > before)  # the loop runs on meanwhile: this test does
        assert not appending.done()
        other.execute("COMMIT")
        other.close()
        assert {event(1).event_id} == await appending
        assert 1 == _waits() - before
        async with database.reading() as uow:
            rows = await uow.inbox.page(after=0, limit=10)
        assert [event(0).event_id, event(1).event_id] == [r.event_id for r in rows]
    finally:
        await database.dispose()


@pytest.mark.parametrize(("every", "bounded"), [(4, True), (10**9, False)])
async def test_the_appender_checkpoints_the_wal_every_so_many_commits(
    sqlite_template: Path, tmp_path: Path, every: int, bounded: bool
) -> None:
    """The loop's connection never checkpoints; the appender's thread does, every
    `every` commits, so the WAL starts over instead of growing with every commit."""
    database = await fresh_sqlite(sqlite_template, tmp_path)  # migrated, WAL mode
    await database.dispose()
    path = tmp_path / "hudur.db"
    appender = SqliteAppender(path, None, 5000, checkpoint_every=every)
    body = b"x" * 20_000
    try:
        for n in range(40):
            await appender.append([event(n)._replace(body=body)], generation=0)
            if appender.checkpointing is not None:
                await asyncio.wrap_future(appender.checkpointing)
        wal = os.stat(f"{path}-wal").st_size
    finally:
        await appender.close()
    assert (wal < 10 * len(body)) is bounded, wal
    check = Database(sqlite_url(path))
    try:
        async with check.reading() as uow:
            assert 40 == len(await uow.inbox.page(after=0, limit=100))
    finally:
        await check.dispose()
