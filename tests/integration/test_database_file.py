"""A database that cannot keep what it is given is not acknowledged, nor ready.

SQLite: the file at the configured path must be the one the service opened; while
it is removed or replaced every write and `/readyz` answer 503, and once a file is
back at the path the service opens it and answers 200 again. A database that
cannot take writes (a read-only SQLite file, a read-only PostgreSQL) is not ready.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from engine.app import create_app
from store.database import Database
from tests.support.auth import app_settings, auth
from tests.support.clock import ManualClock
from tests.support.databases import fresh_sqlite, sqlite_url
from tests.support.livekit import joined
from tests.support.signed_requests import post_webhook, stored

AT = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"
ACADEMY = {"name": "Noor", "timezone": "Africa/Cairo", "locale": "ar"}
SUFFIXES = ("", "-wal", "-shm")


def event_body(n: int) -> bytes:
    return joined(ROOM, f"PA_{n}", "10", AT + timedelta(minutes=n), event_id=f"EV_file{n:04d}")


@pytest.fixture(name="sqlite_file")
async def fixture_sqlite_file(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    database = await fresh_sqlite(sqlite_template, tmp_path)
    yield database
    await database.dispose()


@pytest.fixture(name="file_client")
async def fixture_file_client(aiohttp_client: Any, sqlite_file: Database) -> TestClient:
    app = create_app(app_settings(sqlite_file.url), clock=ManualClock(), database=sqlite_file)
    return await aiohttp_client(app)


def db_path(database: Database) -> Path:
    return Path(database.url.split(":///", 1)[1])


def delete(path: Path) -> None:
    """hudur.db, -wal and -shm removed, as `rm hudur.db*` would."""
    for suffix in SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def move_away(path: Path, to: Path) -> None:
    """Every file of the database at `path` moved into `to` (gone from the path)."""
    to.mkdir(exist_ok=True)
    for suffix in SUFFIXES:
        if Path(f"{path}{suffix}").exists():
            os.rename(f"{path}{suffix}", to / f"{path.name}{suffix}")


def move_back(path: Path, frm: Path) -> None:
    for suffix in SUFFIXES:
        if (frm / f"{path.name}{suffix}").exists():
            os.rename(frm / f"{path.name}{suffix}", f"{path}{suffix}")


async def statuses(client: TestClient, n: int) -> tuple[int, int, int]:
    """(webhook, API write, /readyz) statuses, the webhook being event `n`."""
    webhook = await post_webhook(client, event_body(n))
    write = await client.put("/v1/academies/3", json=ACADEMY, headers=auth())
    ready = await client.get("/readyz")
    return webhook.status, write.status, ready.status


async def inbox_rows(path: Path) -> int:
    database = Database(sqlite_url(path))
    try:
        return (await stored(database))["inbox"]
    finally:
        await database.dispose()


async def inbox_ids(path: Path) -> list[str]:
    database = Database(sqlite_url(path))
    try:
        async with database.reading() as uow:
            return [row.event_id for row in await uow.inbox.all()]
    finally:
        await database.dispose()


class TestADeletedDatabaseFile:
    async def test_nothing_is_acknowledged_while_the_file_is_deleted(
        self, file_client: TestClient, sqlite_file: Database, tmp_path: Path
    ) -> None:
        """With hudur.db, -wal and -shm removed: webhook, API write and /readyz all
        answer 503, and an event accepted before is not answered `duplicate`."""
        path = db_path(sqlite_file)
        assert (200, 200, 200) == await statuses(file_client, 1)
        delete(path)

        assert (503, 503, 503) == await statuses(file_client, 2)
        again = await post_webhook(file_client, event_body(1))
        body = await again.json()
        assert (503, "unavailable") == (again.status, body["error"]["code"])
        assert not path.exists()  # no new, empty database was made there meanwhile

    async def test_a_fresh_migrated_file_put_back_is_opened_and_takes_writes(
        self, file_client: TestClient, sqlite_file: Database, sqlite_template: Path
    ) -> None:
        """After the deletion, a migrated file at the path: 200 again, and what is
        acknowledged from then on is in that file (the refused event is not). The
        event acknowledged before the deletion is moved into it too: the intake's
        spool still holds it (store/spool.py), and the new file has no mark of it."""
        path = db_path(sqlite_file)
        assert (200, 200, 200) == await statuses(file_client, 1)
        delete(path)
        assert (503, 503, 503) == await statuses(file_client, 2)

        shutil.copyfile(sqlite_template, path)
        assert (200, 200, 200) == await statuses(file_client, 3)
        assert ["EV_file0001", "EV_file0003"] == await inbox_ids(path)

    async def test_the_original_file_moved_back_is_served_again(
        self, file_client: TestClient, sqlite_file: Database, tmp_path: Path
    ) -> None:
        """Moved away: 503; moved back: 200, and the file holds both acknowledged events."""
        path = db_path(sqlite_file)
        assert (200, 200, 200) == await statuses(file_client, 1)
        move_away(path, tmp_path / "elsewhere")
        assert (503, 503, 503) == await statuses(file_client, 2)

        move_back(path, tmp_path / "elsewhere")
        assert (200, 200, 200) == await statuses(file_client, 3)
        assert 2 == await inbox_rows(path)


class TestADatabaseThatCannotTakeWrites:
    async def test_a_read_only_sqlite_file_is_not_ready(
        self, aiohttp_client: Any, sqlite_file: Database
    ) -> None:
        """Opened with SQLite's own read-only URI mode (`?mode=ro&uri=true`: tests run
        as root, whom chmod 0444 does not stop): reads work, /readyz answers 503."""
        url = f"sqlite+aiosqlite:///file:{db_path(sqlite_file)}?mode=ro&uri=true"
        read_only = Database(url)
        try:
            client = await aiohttp_client(
                create_app(app_settings(url), clock=ManualClock(), database=read_only)
            )
            assert 0 == (await stored(read_only))["inbox"]
            response = await client.get("/readyz")
            body = await response.json()
            assert (503, "unavailable") == (response.status, body["error"]["code"])
        finally:
            await read_only.dispose()

    @pytest.mark.postgres
    async def test_a_read_only_postgres_is_not_ready(
        self, aiohttp_client: Any, postgres_url: str
    ) -> None:
        """A server whose transactions are read-only (as on a standby): /readyz 503."""
        database = Database(
            postgres_url,
            connect_args={"server_settings": {"default_transaction_read_only": "on"}},
        )
        try:
            client = await aiohttp_client(
                create_app(app_settings(postgres_url), clock=ManualClock(), database=database)
            )
            assert 503 == (await client.get("/readyz")).status
        finally:
            await database.dispose()
