"""An accepted webhook is durable before 200, stored once under concurrency, and
all-or-nothing when the database fails. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from rules.errors import Conflict
from rules.lifecycle import Status
from store.database import Database
from store.schema import Session
from store.spool import SPOOLED
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import joined
from tests.support.signed_requests import auth_headers, post_webhook, stored
from webhooks.writer import GroupWriter

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"


def at(minutes: float) -> datetime:
    """START plus `minutes`."""
    return START + timedelta(minutes=minutes)


async def _session(database: Database) -> Session:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=START)
        await uow.commit()
    return session


async def _reload(database: Database, session_id: int) -> Session:
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        uow.session.expunge(session)
        return session


class TestDurability:
    async def test_the_same_event_posted_twenty_times_at_once_is_stored_once(
        self, client: TestClient, database: Database
    ) -> None:
        """One delivery wins (accepted), the other nineteen see it (duplicate)."""
        session = await _session(database)
        moves = (await stored(database))["transitions"]  # scheduling it
        body = joined(ROOM, "PA_1", "10", at(1))
        responses = await asyncio.gather(*(post_webhook(client, body) for _ in range(20)))
        answers = sorted([(r.status, (await r.json())["status"]) for r in responses])
        assert [(200, "accepted")] + [(200, "duplicate")] * 19 == answers
        counts = await stored(database)
        assert (1, 1, 1, 1) == (
            counts["inbox"],
            counts["evidence"],
            counts["intervals"],
            counts["transitions"] - moves,
        )
        assert Status.ONGOING == (await _reload(database, session.id)).status

    async def test_a_failure_after_the_inbox_insert_rolls_everything_back_and_answers_503(
        self, client: TestClient, database: Database
    ) -> None:
        """The evidence insert fails inside the transaction that already wrote the
        inbox row: 503 in the error shape, and not a row of it is left behind;
        LiveKit's retry of the same bytes is then accepted."""
        session = await _session(database)
        moves = (await stored(database))["transitions"]  # scheduling it
        body = joined(ROOM, "PA_1", "10", at(1))
        headers = _signed(body)
        async with _failing(database, "INSERT INTO webhook_events"):
            response = await post_webhook(client, body, headers=headers)
            error = await response.json()
        assert 503 == response.status
        assert "unavailable" == error["error"]["code"]
        empty = {"inbox": 0, "evidence": 0, "intervals": 0, "transitions": moves}
        assert empty == {k: v for k, v in (await stored(database)).items() if k in empty}
        assert Status.SCHEDULED == (await _reload(database, session.id)).status

        retry = await post_webhook(client, body, headers=headers)
        assert {"status": "accepted"} == await retry.json()
        assert {"inbox": 1, "evidence": 1, "intervals": 1, "transitions": moves + 1} == {
            k: v for k, v in (await stored(database)).items() if k in empty
        }

    async def test_a_refusal_after_verification_is_a_500_never_a_4xx(
        self, client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A domain error raised after everything was written (a bug, say) rolls it
        all back and answers 500, which LiveKit retries, instead of a final 4xx."""
        await _session(database)
        moves = (await stored(database))["transitions"]  # scheduling it

        async def commit_then_conflict(*args: Any, **kwargs: Any) -> Any:
            raise Conflict("something clashed")

        monkeypatch.setattr(GroupWriter, "_commit", commit_then_conflict)
        response = await post_webhook(client, joined(ROOM, "PA_1", "10", at(1)))
        error = await response.json()
        assert (500, "internal_error") == (response.status, error["error"]["code"])
        counts = await stored(database)
        assert (0, 0, 0, 0) == (
            counts["inbox"],
            counts["evidence"],
            counts["intervals"],
            counts["transitions"] - moves,
        )

    async def test_an_unreachable_database_answers_503_and_the_retry_is_accepted(
        self, client: TestClient, database: Database
    ) -> None:
        """No connection at all: 503 (LiveKit retries 5xx); back again: accepted."""
        body = joined(ROOM, "PA_1", "10", at(1))
        headers = _signed(body)
        pool = database.engine.pool
        await database.engine.dispose()
        creator = pool._creator  # type: ignore[attr-defined]
        database.engine.pool._creator = _refuse  # type: ignore[attr-defined]
        appender = database.appender
        opened = appender.connect if appender is not None else None
        if appender is not None:
            appender.reopen_with(_refuse)
        try:
            response = await post_webhook(client, body, headers=headers)
            error = await response.json()
        finally:
            database.engine.pool._creator = creator  # type: ignore[attr-defined]
            if appender is not None and opened is not None:
                appender.reopen_with(opened)
        assert (503, "unavailable") == (response.status, error["error"]["code"])
        assert 0 == (await stored(database))["inbox"]
        retry = await post_webhook(client, body, headers=headers)
        assert {"status": "accepted"} == await retry.json()


def _signed(body: bytes) -> dict[str, str]:
    """Headers signed once, so a retry resends the very same token, as LiveKit does."""
    return auth_headers(body)


@asynccontextmanager
async def _failing(database: Database, statement_prefix: str) -> AsyncIterator[None]:
    """Make every statement starting with `statement_prefix` fail as a lost
    connection would, for as long as the block runs."""

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_prefix.upper()):
            raise OperationalError(statement, {}, ConnectionError("connection lost"))

    event.listen(database.engine.sync_engine, "before_cursor_execute", fail)
    # PostgreSQL's inbox appends go to asyncpg itself (store/postgres_appender.py): a
    # trigger makes the server refuse the rows, as it would refuse them on a full disk.
    table = statement_prefix.split()[-1]
    refuses = database.dialect == "postgresql" and statement_prefix.upper().startswith("INSERT")
    if refuses:
        await _execute(database, _REFUSE_INSERTS.format(table=table))
    # SQLite's inbox appends go through their own connection to the intake's spool
    # (store/appender.py, store/spool.py): its authorizer refuses to prepare the
    # statement, as a failing disk would fail it.
    appender = database.appender
    opened = appender.connect if appender is not None else None
    refused = {table, SPOOLED.name} if table == "webhook_events" else {table}

    def refusing(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        assert opened is not None
        connection = opened(*args, **kwargs)
        connection.set_authorizer(
            lambda action, table, *_: (
                sqlite3.SQLITE_DENY
                if action == sqlite3.SQLITE_INSERT and table in refused
                else sqlite3.SQLITE_OK
            )
        )
        return connection

    try:
        if appender is not None:
            appender.reopen_with(refusing)
        yield
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", fail)
        if refuses:
            await _execute(database, _ACCEPT_INSERTS.format(table=table))
        if appender is not None and opened is not None:
            appender.reopen_with(opened)


_REFUSE_INSERTS = """
CREATE FUNCTION hudur_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
CREATE TRIGGER hudur_test_refuse BEFORE INSERT ON {table}
FOR EACH ROW EXECUTE FUNCTION hudur_test_refuse();
"""
_ACCEPT_INSERTS = """
DROP TRIGGER hudur_test_refuse ON {table};
DROP FUNCTION hudur_test_refuse();
"""


async def _execute(database: Database, script: str) -> None:
    async with database.engine.begin() as connection:
        for statement in filter(str.strip, script.split(";\n")):
            await connection.execute(text(statement))


def _refuse(*args: object, **kwargs: object) -> object:
    raise OSError("connection refused")
