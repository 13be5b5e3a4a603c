"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from engine.app import create_app
from engine.settings import Settings
from store.database import Database
from tests.support.auth import app_settings
from tests.support.clock import ManualClock
from tests.support.databases import (
    BACKENDS,
    fresh_postgres,
    fresh_sqlite,
    migrate_postgres,
    migrate_template,
    require_postgres,
)

hypothesis_settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# CI explores the same examples every run, so a landing never hangs on a lucky draw;
# developers' runs keep exploring new ones (and print the seed of any failure).
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("default"), derandomize=True, print_blob=True
)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session", name="sqlite_template")
def fixture_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrate_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session", name="postgres_url")
def fixture_postgres_url() -> str:
    url = require_postgres()
    migrate_postgres(url)
    return url


@pytest.fixture(name="backend", params=BACKENDS)
def fixture_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        request.node.add_marker(pytest.mark.postgres)
    return str(request.param)


@pytest.fixture(name="database")
async def fixture_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated, empty database of each backend."""
    if backend == "postgres":
        database = await fresh_postgres(request.getfixturevalue("postgres_url"))
    else:
        database = await fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    yield database
    await database.dispose()


@pytest.fixture(name="clock")
def fixture_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="settings")
def fixture_settings(database: Database) -> Settings:
    return app_settings(database.url)


@pytest.fixture(name="client")
async def fixture_client(
    aiohttp_client: Any, settings: Settings, database: Database, clock: ManualClock
) -> TestClient:
    """The whole app over real HTTP on loopback, sharing the test's database and clock."""
    return await aiohttp_client(create_app(settings, clock=clock, database=database))
