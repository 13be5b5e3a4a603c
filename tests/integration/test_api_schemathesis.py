"""schemathesis over `/openapi.json` against the live app on loopback, with every check.

The app runs in a thread of its own (its own event loop, a seeded SQLite
database, the tests' clock) and schemathesis calls it over real HTTP with the
service token: no response may be a 5xx or break the document.

One setting departs from schemathesis' defaults: `positive_data_acceptance` also
accepts 422. Some rules cannot be said in JSON Schema (a subscription's `ends_at`
after its `starts_at`, a partial bar at most the full one, report fields that
depend on the session's type, moments between 1970 and 2200) and are, rightly,
422s for requests the schema alone would let through.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from schemathesis.engine import Status, events

from engine.app import create_app
from store.database import Database
from tests.integration.api_world import seed_two_academies
from tests.support.auth import SERVICE_TOKEN, app_settings
from tests.support.clock import ManualClock
from tests.support.databases import sqlite_url

MAX_EXAMPLES = 12


class LiveApp:
    """The whole app served on 127.0.0.1 from a background thread."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""

    def __enter__(self) -> LiveApp:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _start(self) -> None:
        self.database = Database(self.database_url)
        await seed_two_academies(self.database)
        settings = app_settings(self.database_url)
        app = create_app(settings, clock=ManualClock(), database=self.database)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        await self.runner.cleanup()
        await self.database.dispose()


@pytest.fixture(name="live_app")
def fixture_live_app(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveApp]:
    target = tmp_path / "hudur.db"
    shutil.copyfile(sqlite_template, target)
    with LiveApp(sqlite_url(target)) as live:
        yield live


def run(schema: schemathesis.BaseSchema) -> tuple[set[str], list[str]]:
    """Run every phase; answer the operations exercised and every failed check or
    engine error, one line each."""
    tested, found = set(), []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.status != Status.SKIP:
                tested.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status != Status.SUCCESS and check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(f"{event.recorder.label}: {check.name}: {failure.title}")
                        found.append(f"    {check.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError):
            found.append(f"{event.label}: error: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            found.append(f"fatal: {event.exception!r}")
    return tested, found


def test_every_operation_conforms_to_its_document(live_app: LiveApp) -> None:
    """No 5xx, and every response matches the status, media type and schema documented,
    over every operation of `/openapi.json`, every phase and every check."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": live_app.url,
            "headers": {"Authorization": f"Bearer {SERVICE_TOKEN}"},
            # Like Hypothesis (tests/conftest.py): the same examples on every CI run.
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": bool(os.environ.get("CI")),
            },
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
                }
            },
        }
    )
    schema = schemathesis.openapi.from_url(f"{live_app.url}/openapi.json", config=config)
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    tested, failures = run(schema)
    assert [] == failures
    # schemathesis leaves out the URL it loaded the document from; the stateful
    # phase reports as one scenario of its own.
    assert operations - {"GET /openapi.json"} == tested - {"Stateful tests"}
