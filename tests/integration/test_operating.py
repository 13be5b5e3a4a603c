"""What an operator watches: request latency, backlogs, the lines per move and charge,
and readiness with LiveKit beside the database."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from engine.app import create_app
from engine.settings import Settings
from store.database import Database
from tests.integration.api_world import NOW, call, seed_two_academies
from tests.integration.attendance_world import S, finish
from tests.support.clock import ManualClock
from tests.support.databases import write_lock_held
from tests.support.fake_livekit import (  # noqa: F401 (fixtures)
    FakeLiveKit,
    fixture_livekit,
)


async def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The scrape, as {(sample name, labels): value}."""
    response = await client.get("/metrics")
    assert 200 == response.status
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(await response.text())
        for s in family.samples
    }


def count_of(scrape: dict[Any, float], **labels: str) -> float:
    key = ("hudur_http_request_duration_seconds_count", frozenset(labels.items()))
    return scrape.get(key, 0.0)


class TestRequestLatency:
    async def test_requests_are_timed_under_their_route_template(
        self, client: TestClient, database: Database
    ) -> None:
        """A GET of session 3 counts under `/v1/sessions/{id}`; no raw id ever becomes a label."""
        ids = await seed_two_academies(database)
        route = {"route": "/v1/sessions/{id}", "method": "GET", "status": "200"}
        before = count_of(await samples(client), **route)
        assert 200 == (await call(client, "GET", f"/v1/sessions/{ids.ready}"))[0]
        scrape = await samples(client)
        assert before + 1 == count_of(scrape, **route)
        raw = f"/v1/sessions/{ids.ready}"
        assert [] == [k for k in scrape if ("route", raw) in k[1]]

    async def test_a_path_no_route_takes_counts_as_unmatched(self, client: TestClient) -> None:
        """Scanners' paths would make a label per path: they all share `unmatched`."""
        labels = {"route": "unmatched", "method": "GET", "status": "404"}
        before = count_of(await samples(client), **labels)
        await client.get("/wp-admin/setup-config.php")
        await client.get("/no/such/thing")
        assert before + 2 == count_of(await samples(client), **labels)

    async def test_an_invented_method_is_labelled_other(self, client: TestClient) -> None:
        """A method beyond the known few (WebDAV's PROPFIND) is labelled `other`, so callers
        cannot grow the label set."""
        await client.request("PROPFIND", "/healthz")
        scrape = await samples(client)
        assert count_of(scrape, route="unmatched", method="other", status="405") >= 1


class TestBacklogGauges:
    async def test_pending_room_operations_are_counted_at_each_scrape(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Two pending calls queued 90 s ago: the gauge says 2, the oldest 90 s; done ones
        do not count."""
        clock.set(NOW)
        async with database.uow() as uow:
            uow.rooms.enqueue("delete_room", "QSE-1-000001", now=NOW)
            uow.rooms.enqueue("delete_room", "QSE-1-000002", now=NOW)
            uow.rooms.enqueue("delete_room", "QSE-1-000003", now=NOW).state = "done"
            await uow.commit()
        clock.set(NOW + timedelta(seconds=90))
        scrape = await samples(client)
        assert 2 == scrape[("hudur_room_operations_pending", frozenset())]
        assert 90 == scrape[("hudur_room_operations_oldest_pending_seconds", frozenset())]

    async def test_no_backlog_reads_zero(self, client: TestClient) -> None:
        """An empty queue is 0 and 0, not absent."""
        scrape = await samples(client)
        assert 0 == scrape[("hudur_room_operations_pending", frozenset())]
        assert 0 == scrape[("hudur_room_operations_oldest_pending_seconds", frozenset())]

    async def test_metrics_still_answer_when_the_database_is_gone(
        self, client: TestClient, database: Database
    ) -> None:
        """No database: the scrape answers 200 and the gauges say NaN (unknown), not a
        stale count."""
        await database.engine.dispose()
        database.engine.pool._creator = _refuse  # type: ignore[attr-defined]
        scrape = await samples(client)
        assert math.isnan(scrape[("hudur_room_operations_pending", frozenset())])

    async def test_a_scrape_takes_no_write_lock(
        self, client: TestClient, database: Database, backend: str
    ) -> None:
        """Prometheus scrapes every few seconds, and at the top of the hour the projector
        writes the database without pause: a scrape only reads. While another
        connection holds SQLite's write lock, the scrape still reads the backlogs (a
        scrape that began a write would wait for the lock, then answer NaN)."""
        if backend != "sqlite":
            pytest.skip("SQLite's file-wide write lock")
        file = database.sqlite_file
        assert file is not None
        async with database.uow() as uow:
            uow.rooms.enqueue("delete_room", "QSE-1-000001", now=NOW)
            await uow.commit()
        with write_lock_held(file):
            scrape = await samples(client)
        assert 1 == scrape[("hudur_room_operations_pending", frozenset())]
        assert 0 == scrape[("hudur_projection_lag_rows", frozenset())]


class TestOperatorLog:
    async def test_each_committed_transition_and_charge_gets_one_line(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Completing an individual session nobody joined: one `transition` line ready ->
        absent by the service, and one `charge` line for its student."""
        ids = await seed_two_academies(database)
        with capture_logs() as logs:
            await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        moves = [e for e in logs if e["event"] == "transition"]
        assert [(ids.ready, "ready", "absent", "mark_absent", "service")] == [
            (e["session_id"], e["from_status"], e["to_status"], e["lifecycle_event"], e["actor"])
            for e in moves
        ]
        assert re.fullmatch(r"QSE-1-\d{6}", moves[0]["session_code"])
        charges = [e for e in logs if e["event"] == "charge"]
        assert [(ids.ready, 10, None, "charged", "absent", None)] == [
            (
                e["session_id"],
                e["student_id"],
                e["from_status"],
                e["status"],
                e["reason"],
                e["actor"],
            )
            for e in charges
        ]

    async def test_a_hand_set_charge_says_who_changed_it_from_what(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """An admin's waiver logs charged -> waived with the admin as actor."""
        ids = await seed_two_academies(database)
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))
        with capture_logs() as logs:
            status, _ = await call(
                client,
                "PUT",
                f"/v1/sessions/{ids.ready}/charges/10",
                role="admin_a",
                json={"counts": False, "reason": "outage"},
            )
        assert 200 == status
        assert [("charged", "waived", "hand_set", "user:1")] == [
            (e["from_status"], e["status"], e["reason"], e["actor"])
            for e in logs
            if e["event"] == "charge"
        ]

    async def test_a_refused_move_logs_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """A 409 rolls back, so no line claims a move that never happened."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "x"})
        with capture_logs() as logs:
            status, _ = await call(
                client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "x"}
            )
        assert 409 == status
        assert [] == [e for e in logs if e["event"] in ("transition", "charge")]


class TestReadiness:
    async def test_without_a_livekit_url_livekit_is_not_configured(
        self, client: TestClient
    ) -> None:
        """Ready, and the body says LiveKit is not checked."""
        response = await client.get("/readyz")
        assert 200 == response.status
        assert "not_configured" == (await response.json())["checks"]["livekit"]

    async def test_a_livekit_that_answers_is_ok(
        self, aiohttp_client: Any, settings: Settings, database: Database, livekit: FakeLiveKit
    ) -> None:
        """RoomService answers a ListRooms: `ok`."""
        client = await _client(aiohttp_client, settings, database, livekit.url)
        response = await client.get("/readyz")
        assert (200, "ok") == (response.status, (await response.json())["checks"]["livekit"])
        assert 1 == len(livekit.calls_of("ListRooms"))

    async def test_a_livekit_that_is_down_is_reported_but_the_service_stays_ready(
        self, aiohttp_client: Any, settings: Settings, database: Database, livekit: FakeLiveKit
    ) -> None:
        """Room work waits in its queue, so LiveKit down is said, not a 503."""
        client = await _client(aiohttp_client, settings, database, livekit.url)
        livekit.fail(503)
        response = await client.get("/readyz")
        body = await response.json()
        assert 200 == response.status
        assert body["checks"]["livekit"].startswith("unreachable: ")


async def _client(
    aiohttp_client: Any, settings: Settings, database: Database, url: str
) -> TestClient:
    with_livekit = settings.model_copy(update={"livekit_url": url})
    return await aiohttp_client(create_app(with_livekit, database=database))  # type: ignore[no-any-return]


def _refuse(*args: object, **kwargs: object) -> object:
    raise OSError("connection refused")
