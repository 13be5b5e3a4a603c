"""Real databases for tests: a migrated SQLite file per test, and PostgreSQL when given.

`HUDUR_TEST_POSTGRES_URL` names a PostgreSQL database the suite may wipe; without
it the PostgreSQL variants are skipped, unless `HUDUR_REQUIRE_POSTGRES=1` (CI), where
they fail instead so that a missing server can never pass silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database
from store.schema import Base

POSTGRES_URL = os.environ.get("HUDUR_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("HUDUR_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgres"]


def run_blocking(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine to the end on its own loop, even when called from inside one
    (session fixtures are first requested from async tests)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def migrate_template(directory: Path) -> Path:
    """Migrate one SQLite file with Alembic; tests copy it instead of migrating again."""
    template = directory / "template.db"

    async def run() -> None:
        database = Database(sqlite_url(template))
        await database.migrate()
        await database.dispose()

    run_blocking(run)
    return template


def require_postgres() -> str:
    if POSTGRES_URL:
        return worker_database(POSTGRES_URL)
    if REQUIRE_POSTGRES:
        pytest.fail("HUDUR_REQUIRE_POSTGRES=1 but HUDUR_TEST_POSTGRES_URL is not set")
    pytest.skip("HUDUR_TEST_POSTGRES_URL not set")


def worker_database(url: str) -> str:
    """Under pytest-xdist each worker wipes a database of its own, named after the given
    one plus the worker's id and created on first use; a serial run uses the given one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    given = make_url(url)
    name = f"{given.database}_{worker}"

    async def create() -> None:
        database = Database(url, isolation_level="AUTOCOMMIT")
        async with database.engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await database.dispose()

    run_blocking(create)
    return given.set(database=name).render_as_string(hide_password=False)


def migrate_postgres(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        async with database.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await database.migrate()
        await database.dispose()

    run_blocking(run)


async def fresh_sqlite(template: Path, directory: Path) -> Database:
    target = directory / "hudur.db"
    shutil.copyfile(template, target)
    return Database(sqlite_url(target))


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """SQLite's write lock on the file at `path`, held by another connection for the
    block (another process's writer, as far as the code under test can tell)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.close()


async def fresh_postgres(url: str, **engine_kwargs: object) -> Database:
    database = Database(url, **engine_kwargs)
    async with database.engine.begin() as conn:
        await empty_postgres(conn)
    return database


async def empty_postgres(conn: AsyncConnection) -> None:
    """TRUNCATE ... RESTART IDENTITY, but only of the tables that hold rows (it costs
    a new file per table and index); every sequence starts again at 1 either way."""
    probe = " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})"
        for t in Base.metadata.sorted_tables
    )
    filled = [row[0] for row in await conn.execute(text(probe))]
    if filled:
        await conn.execute(text(f"TRUNCATE {', '.join(filled)} RESTART IDENTITY CASCADE"))
    await conn.execute(
        text(
            "SELECT setval(s.seq, 1, false) FROM ("
            " SELECT pg_get_serial_sequence(c.table_name, c.column_name) AS seq"
            " FROM information_schema.columns c"
            " WHERE c.table_schema = 'public' AND c.column_default LIKE 'nextval%'"
            ") s WHERE s.seq IS NOT NULL"
        )
    )
