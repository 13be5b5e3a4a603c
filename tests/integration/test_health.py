"""Liveness and readiness over HTTP."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from store.database import Database


class TestHealth:
    async def test_healthz_answers_ok(self, client: TestClient) -> None:
        """The process is alive."""
        response = await client.get("/healthz")
        assert 200 == response.status
        assert {"status": "ok"} == await response.json()

    async def test_readyz_answers_ready_when_the_database_is_reachable(
        self, client: TestClient
    ) -> None:
        """Readiness checks the database with a real query."""
        response = await client.get("/readyz")
        assert 200 == response.status

    async def test_readyz_answers_503_in_the_error_shape_when_the_database_is_gone(
        self, client: TestClient, database: Database
    ) -> None:
        """A database that cannot be reached makes the service not ready."""
        await database.engine.dispose()
        database.engine.pool._creator = _refuse  # type: ignore[attr-defined]
        response = await client.get("/readyz")
        body = await response.json()
        assert 503 == response.status
        assert "unavailable" == body["error"]["code"]


def _refuse(*args: object, **kwargs: object) -> object:
    raise OSError("connection refused")
