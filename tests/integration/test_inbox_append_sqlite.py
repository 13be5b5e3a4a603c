"""SQLite's inbox appender (store/appender.py) and its spool (store/spool.py): the
event loop commits each batch to the spool itself; what would block it, waiting for
the spool's lock and tidying (moved rows deleted, checkpoints), happens in the
appender's thread; the projector's moves carry the spool into the inbox exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from store.appender import SqliteAppender
from store.database import Database
from store.spool import Spool
from tests.integration.test_inbox_append import event
from tests.support.conditions import until
from tests.support.databases import fresh_sqlite, sqlite_url


def _waits() -> float:
    return REGISTRY.get_sample_value("hudur_inbox_append_waits_total") or 0.0


async def _move(database: Database) -> int:
    async with database.uow() as uow:
        newest = await uow.inbox.move_spooled()
        await uow.commit()
    return newest


async def _inbox(database: Database) -> list[str]:
    async with database.reading() as uow:
        return [row.event_id for row in await uow.inbox.page(after=0, limit=100)]


def _frames_in_wal(path: Path) -> int:
    """The pages written to the file's WAL since it last started over."""
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        connection.close()


def _remove_spool(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}-spool{suffix}")


def _spool_exists(path: Path) -> bool:
    return os.path.exists(f"{path}-spool")


def _spooled(path: Path) -> list[str]:
    connection = sqlite3.connect(f"{path}-spool")
    try:
        return [row[0] for row in connection.execute("SELECT event_id FROM spooled ORDER BY id")]
    finally:
        connection.close()


async def test_a_batch_finding_the_spool_locked_waits_off_the_loop_and_is_stored(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Another connection holds the spool's write lock: the batch is not refused,
    the loop goes on serving while it waits, and it is stored once the lock is let go."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    try:
        await database.append_inbox([event(0)])  # the loop's connection is open
        other = sqlite3.connect(tmp_path / "hudur.db-spool", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        before = _waits()
        appending = asyncio.create_task(database.append_inbox([event(1), event(0)]))
        await until(lambda: _waits() > before)  # the loop runs on meanwhile: this test does
        assert not appending.done()
        other.execute("COMMIT")
        other.close()
        assert {event(1).event_id} == await appending
        assert 1 == _waits() - before
        await _move(database)
        assert [event(0).event_id, event(1).event_id] == await _inbox(database)
    finally:
        await database.dispose()


async def test_the_database_locked_by_its_writer_does_not_hold_the_intake_up(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The database's write lock held (the projector's turn, another process): a
    batch goes to the spool on the loop at once, without waiting."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    try:
        await database.append_inbox([event(0)])
        other = sqlite3.connect(tmp_path / "hudur.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        before = _waits()
        try:
            assert {event(1).event_id} == await database.append_inbox([event(1)])
        finally:
            other.execute("COMMIT")
            other.close()
        assert 0 == _waits() - before
    finally:
        await database.dispose()


async def test_an_id_moved_and_gone_from_the_spool_is_still_seen_before(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Exactly once across the two files: rows leave the spool only once the inbox
    holds them, and the append looks in both, so an id delivered again after its
    row was moved and deleted is not stored twice."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    appender = database.appender
    assert appender is not None
    try:
        assert {event(0).event_id, event(1).event_id} == await database.append_inbox(
            [event(0), event(1)]
        )
        await _move(database)
        assert {event(2).event_id} == await database.append_inbox([event(2)])
        appender.tidy(0)
        assert appender.tidying is not None
        await asyncio.wrap_future(appender.tidying)
        # Rows 0 and 1 were moved before the tidying: gone from the spool; 2 waits.
        assert [event(2).event_id] == _spooled(tmp_path / "hudur.db")
        again = [event(0), event(1), event(2), event(3)]
        assert {event(3).event_id} == await database.append_inbox(again)
        await _move(database)
        assert [event(n).event_id for n in range(4)] == await _inbox(database)
        assert 0 == await _move(database)  # nothing left to move: nothing moved twice
        assert [event(n).event_id for n in range(4)] == await _inbox(database)
    finally:
        await database.dispose()


async def test_a_spool_made_anew_is_moved_from_its_own_start(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The mark belongs to one spool (its identity): a spool file made anew, its ids
    from 1 again, is moved whole instead of being taken for already moved."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    try:
        await database.append_inbox([event(n) for n in range(3)])
        await _move(database)
    finally:
        await database.dispose()
    _remove_spool(tmp_path / "hudur.db")
    database = Database(sqlite_url(tmp_path / "hudur.db"))
    try:
        assert {event(3).event_id} == await database.append_inbox([event(3)])
        assert 4 == await _move(database)
        assert [event(n).event_id for n in range(4)] == await _inbox(database)
    finally:
        await database.dispose()


async def test_a_spool_removed_under_the_service_takes_nothing_more(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The spool's files deleted while open: the next append fails (the endpoint
    answers 503) instead of acknowledging into a deleted file, and no empty spool
    is made in its place."""
    database = await fresh_sqlite(sqlite_template, tmp_path)
    try:
        await database.append_inbox([event(0)])
        _remove_spool(tmp_path / "hudur.db")
        with pytest.raises(Exception, match="not the one that was opened"):
            await database.append_inbox([event(1)])
        assert not _spool_exists(tmp_path / "hudur.db")
    finally:
        await database.dispose()


@pytest.mark.parametrize(("every", "bounded"), [(4, True), (10**9, False)])
async def test_the_appender_tidies_the_spool_every_so_many_commits(
    sqlite_template: Path, tmp_path: Path, every: int, bounded: bool
) -> None:
    """The loop's connection never checkpoints; the appender's thread does, every
    `every` commits, so the spool's WAL starts over instead of growing with every
    commit, and the rows already moved leave the spool."""
    database = await fresh_sqlite(sqlite_template, tmp_path)  # migrated, WAL mode
    path = tmp_path / "hudur.db"
    appender = SqliteAppender(path, None, Spool(path), 5000, tidy_every=every)
    body = b"x" * 20_000
    try:
        for n in range(40):
            await appender.append([event(n)._replace(body=body)], generation=0)
            if n == 19:
                await _move(database)
            if appender.tidying is not None:
                await asyncio.wrap_future(appender.tidying)
        wal = _frames_in_wal(Path(f"{path}-spool"))
    finally:
        await appender.close()
    assert (wal < 200) is bounded, wal  # 40 commits of ~9 pages each: ~360 untidied
    assert (len(_spooled(path)) < 40) is bounded
    await _move(database)
    try:
        assert [event(n).event_id for n in range(40)] == await _inbox(database)
    finally:
        await database.dispose()
