"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from store.db import Database
from tests.support.clock import ManualClock
from tests.support.databases import (
    BACKENDS,
    fresh_postgres,
    fresh_sqlite,
    migrate_postgres,
    migrate_template,
    require_postgres,
)

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("default")


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
