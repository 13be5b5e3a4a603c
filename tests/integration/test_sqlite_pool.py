"""SQLite connections go back to the pool out of any transaction, rolled back once.

A unit of work rolls its transaction back and then closes its session; the pool then
rolls back only a connection still in a transaction (`store.database._on_reset`), so
a read pays one round trip to the driver's thread for it, not two, and a connection
left inside a transaction behind SQLAlchemy's back is still rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from store.database import Database
from tests.support.databases import fresh_sqlite


@pytest.fixture(name="sqlite_db")
async def fixture_sqlite_db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_sqlite(sqlite_template, tmp_path)
    yield database
    await database.dispose()


@pytest.fixture(name="rollbacks")
def fixture_rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the rollbacks sent to aiosqlite's thread."""
    counted = [0]
    original = aiosqlite.Connection.rollback

    async def rollback(self: aiosqlite.Connection) -> Any:
        counted[0] += 1
        return await original(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", rollback)
    return counted


async def _in_transaction(database: Database) -> bool:
    async with database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        return bool(raw.driver_connection.in_transaction)


class TestReturningAConnection:
    async def test_a_read_is_rolled_back_once(
        self, sqlite_db: Database, rollbacks: list[int]
    ) -> None:
        """A reading unit of work (deferred BEGIN, one SELECT) ends with one rollback,
        and its connection is back in the pool out of any transaction."""
        assert not await _in_transaction(sqlite_db)  # the connection opened and set up
        rollbacks[0] = 0
        async with sqlite_db.reading() as uow:
            await uow.projection.positions()
        assert 1 == rollbacks[0]
        assert not await _in_transaction(sqlite_db)

    async def test_a_connection_left_in_a_transaction_is_rolled_back(
        self, sqlite_db: Database, rollbacks: list[int]
    ) -> None:
        """A transaction begun on the driver's connection behind SQLAlchemy's back is
        rolled back when the connection is returned: the next user holds no write
        lock and sees no half-made transaction."""
        assert not await _in_transaction(sqlite_db)  # the connection opened and set up
        rollbacks[0] = 0
        async with sqlite_db.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("BEGIN IMMEDIATE")
            assert raw.driver_connection.in_transaction
        assert 1 == rollbacks[0]
        assert not await _in_transaction(sqlite_db)
        async with sqlite_db.uow() as uow:  # takes the write lock at once
            await uow.projection.hold()
            await uow.commit()
