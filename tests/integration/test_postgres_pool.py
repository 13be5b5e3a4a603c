"""PostgreSQL's pool pings a connection only after it sat idle (store/database.py): one
the server dropped while idle is replaced before the caller sees it; one in steady use
is not pinged, so a drop shows once, as a database fault, and the pool then starts
afresh."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from store.database import Database
from store.faults import DATABASE_FAULTS

pytestmark = [pytest.mark.postgres]


async def _read(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT 1")) or 0)


async def _drop_the_pools_connections(database: Database, postgres_url: str) -> int:
    """The server ends every connection `database` holds, as a restart would."""
    async with database.engine.connect() as connection:
        ours = await connection.scalar(text("SELECT pg_backend_pid()"))
    killer = Database(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        async with killer.engine.connect() as connection:
            return int(
                await connection.scalar(
                    text("SELECT count(*) FROM (SELECT pg_terminate_backend(:pid)) t"),
                    {"pid": ours},
                )
                or 0
            )
    finally:
        await killer.dispose()


@pytest.fixture(name="open_database")
async def fixture_open_database(postgres_url: str) -> AsyncIterator[list[Database]]:
    opened: list[Database] = []
    yield opened
    for database in opened:
        await database.dispose()


async def test_an_idle_connection_the_server_dropped_is_replaced_unseen(
    postgres_url: str, open_database: list[Database]
) -> None:
    """Idle past the threshold (here at once): pinged, found dead, replaced."""
    database = Database(postgres_url, pool_size=1, ping_after_idle=0.0)
    open_database.append(database)
    assert await _read(database) == 1
    assert await _drop_the_pools_connections(database, postgres_url) == 1

    assert await _read(database) == 1


async def test_a_connection_in_steady_use_is_not_pinged(
    postgres_url: str, open_database: list[Database]
) -> None:
    """Used within the threshold: no ping, so the drop fails one read as a database
    fault (a 503 to a caller), and the next read has a new connection."""
    database = Database(postgres_url, pool_size=1, ping_after_idle=3600.0)
    open_database.append(database)
    assert await _read(database) == 1
    assert await _drop_the_pools_connections(database, postgres_url) == 1

    with pytest.raises(DATABASE_FAULTS):
        await _read(database)
    assert await _read(database) == 1
