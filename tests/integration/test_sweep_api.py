"""`POST /v1/sweeps` and `hudur sweep`: one sweep on demand, reporting its transitions."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from engine.app import create_app
from engine.settings import Settings
from rules.lifecycle import Status
from store.database import Database
from tests.support.auth import auth, user_token
from tests.support.clock import ManualClock
from tests.support.databases import sqlite_url
from tests.support.factories import scheduled_session, seed_world

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)


async def _plan(database: Database, start: datetime = START) -> tuple[int, str]:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=start)
        await uow.commit()
        return session.id, session.session_code


class TestPostSweeps:
    async def test_a_sweep_as_of_a_time_reports_its_transitions(
        self, client: TestClient, database: Database
    ) -> None:
        """The service sweeps as of 09:45: the session becomes READY, reported in full."""
        session_id, code = await _plan(database)
        response = await client.post(
            "/v1/sweeps", json={"as_of": "2025-12-01T09:45:00Z"}, headers=auth()
        )
        assert 200 == response.status
        assert {
            "transitions": [
                {
                    "session_id": session_id,
                    "session_code": code,
                    "from": "scheduled",
                    "to": "ready",
                    "at": "2025-12-01T09:45:00Z",
                }
            ]
        } == await response.json()

    async def test_without_a_body_the_sweep_runs_at_the_service_s_time(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """No body: the app's clock decides; at 09:00 nothing is due yet."""
        await _plan(database)
        clock.set(NOW)
        response = await client.post("/v1/sweeps", headers=auth())
        assert (200, {"transitions": []}) == (response.status, await response.json())
        clock.set(START)
        response = await client.post("/v1/sweeps", headers=auth())
        assert ["2025-12-01T10:00:00Z"] == [t["at"] for t in (await response.json())["transitions"]]

    async def test_only_the_service_may_sweep(self, client: TestClient, database: Database) -> None:
        """No token: 401; an admin's token: 403; nothing moves."""
        session_id, _ = await _plan(database)
        anonymous = await client.post("/v1/sweeps")
        admin = await client.post("/v1/sweeps", headers=auth(user_token(1, "admin", 1)))
        assert (401, 403) == (anonymous.status, admin.status)
        assert "forbidden" == (await admin.json())["error"]["code"]
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id)
            assert session is not None and Status.SCHEDULED.value == session.status

    async def test_as_of_is_refused_where_it_is_not_allowed(
        self, aiohttp_client: Any, settings: Settings, database: Database
    ) -> None:
        """HUDUR_ALLOW_AS_OF false: a sweep with as_of answers 403 and changes nothing."""
        await _plan(database)
        strict = settings.model_copy(update={"allow_as_of": False})
        client = await aiohttp_client(create_app(strict, clock=ManualClock(), database=database))
        response = await client.post(
            "/v1/sweeps", json={"as_of": "2025-12-01T12:00:00Z"}, headers=auth()
        )
        assert 403 == response.status
        assert "forbidden" == (await response.json())["error"]["code"]

    async def test_a_bad_as_of_is_named_in_a_422(self, client: TestClient) -> None:
        """An as_of without a zone, not a time, or at datetime's edges (where the sweep's
        own arithmetic would overflow) is invalid: 422 naming the field."""
        for bad in (
            "2025-12-01T10:00:00",
            "tomorrow",
            5,
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59Z",
        ):
            response = await client.post("/v1/sweeps", json={"as_of": bad}, headers=auth())
            body = await response.json()
            assert (422, "validation_failed") == (response.status, body["error"]["code"])
            assert ["as_of"] == list(body["error"]["details"])

    async def test_a_body_that_is_not_json_is_a_400(self, client: TestClient) -> None:
        """Malformed JSON is a bad request."""
        response = await client.post("/v1/sweeps", data=b"{as_of", headers=auth())
        assert 400 == response.status


class TestTheSweepCommand:
    def test_hudur_sweep_as_of_prints_the_transitions(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        """`hudur sweep --as-of` sweeps the configured database once and prints each move."""
        target = tmp_path / "hudur.db"
        shutil.copyfile(sqlite_template, target)
        url = sqlite_url(target)

        async def plan() -> None:
            database = Database(url)
            await _plan(database)
            await database.dispose()

        asyncio.run(plan())
        env = {
            **os.environ,
            "HUDUR_DATABASE_URL": url,
            "HUDUR_LOG_FORMAT": "json",
        }
        env.pop("HUDUR_LIVEKIT_URL", None)
        hudur = [sys.executable, "-m", "engine.cli"]
        done = subprocess.run(
            [*hudur, "sweep", "--as-of", "2025-12-01T09:45:00Z"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 0 == done.returncode, done.stderr
        assert [
            "QSE-1-000001 (session 1): scheduled -> ready at 2025-12-01T09:45:00Z",
            "hudur: sweep as of 2025-12-01T09:45:00Z made 1 transition(s)",
        ] == done.stdout.splitlines()

        again = subprocess.run(
            [*hudur, "sweep", "--as-of", "yesterday"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 2 == again.returncode
        assert "--as-of" in again.stderr
