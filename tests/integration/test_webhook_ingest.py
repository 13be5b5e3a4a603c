"""Issue 11 at the endpoint: what a verified event's fields can never refuse, fresh
reads right after a `200` under load, and the projection's metrics. SQLite and
PostgreSQL.

(A `kill -9` of `hudur serve` under load: test_webhook_crash.py; a projector batch
racing a session's create: test_webhook_adoption.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from engine.fresh_reads import PROJECTOR
from rules.lifecycle import Status
from store.database import Database
from store.schema import Session
from tests.support.auth import call
from tests.support.clock import ManualClock
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import (
    encode,
    joined,
    left,
    participant_info,
    room_info,
    webhook_event,
)
from tests.support.signed_requests import post_webhook, stored

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"
NOTHING = {"inbox": 0, "evidence": 0, "intervals": 0, "transitions": 0, "room_operations": 0}


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def _session(database: Database, **kwargs: Any) -> Session:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=START, **kwargs)
        await uow.commit()
    return session


async def _inbox(database: Database) -> list[tuple[str, bytes, str | None, int | None, str]]:
    """(event id, body, room, session, state) of each stored event."""
    async with database.uow() as uow:
        return [
            (r.event_id, r.body, r.room_name, r.session_id, r.state) for r in await uow.inbox.all()
        ]


async def _status(database: Database, session_id: int) -> Status:
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        return Status(session.status)


def _join_body(
    *,
    identity: str = "5",
    room: str = ROOM,
    event_id: str | None = None,
    at_: datetime | None = None,
) -> bytes:
    """A teacher's participant_joined in the preparation window: it would start the
    session, so a body that starts nothing shows that nothing was decided."""
    at_ = at(-5) if at_ is None else at_
    message = webhook_event(
        "participant_joined",
        created_at=at_ + timedelta(seconds=1),
        event_id=event_id,
        room=room_info(room),
        participant=participant_info("PA_1", identity, joined_at=at_),
    )
    return encode(message)


def _nested(depth: int) -> bytes:
    """A WebhookEvent whose `room` holds objects nested `depth` levels in all."""
    inner = b'{"a":' * (depth - 2) + b"1" + b"}" * (depth - 2)
    return b'{"id":"EV_deep","event":"room_started","createdAt":"1764583200","room":{"x":' + (
        inner + b"}}"
    )


class TestAVerifiedEventIsNeverRefusedForItsFields:
    @pytest.mark.parametrize(
        ("identity", "evidence"),
        [("", 0), ("5" * 100_000, 0), ("the-teacher", 1), ("9" * 30, 0), ("5_" + "x" * 240, 1)],
        ids=["empty", "100kB", "not-a-user-id", "user-id-out-of-range", "roster-but-long"],
    )
    async def test_an_odd_identity_is_stored_raw_answered_200_and_decides_nothing(
        self, client: TestClient, database: Database, identity: str, evidence: int
    ) -> None:
        """The body is kept byte for byte; no identity here names the teacher within
        255 characters, so the session stays SCHEDULED (the last case, a roster id in a
        long but legal identity, is the control: it does start it)."""
        session = await _session(database)
        before = await stored(database)
        body = _join_body(identity=identity)
        response = await post_webhook(client, body)
        assert (200, {"status": "accepted"}) == (response.status, await response.json())
        ((_, raw, *_),) = await _inbox(database)
        assert body == raw
        counts = await stored(database)
        assert (1, evidence) == (counts["inbox"], counts["evidence"])
        if identity.startswith("5_"):
            assert Status.ONGOING == await _status(database, session.id)
        else:
            assert before["transitions"] == counts["transitions"]
            assert Status.SCHEDULED == await _status(database, session.id)

    async def test_a_five_thousand_character_room_name_is_stored_raw_and_decides_nothing(
        self, client: TestClient, database: Database
    ) -> None:
        """Too long for the room column: kept with no room, attached to no session."""
        session = await _session(database)
        before = await stored(database)
        body = _join_body(room="Q" * 5_000)
        response = await post_webhook(client, body)
        assert (200, {"status": "accepted"}) == (response.status, await response.json())
        ((_, *row),) = await _inbox(database)
        assert [body, None, None, "ignored"] == row
        assert {**before, "inbox": 1} == await stored(database)
        assert Status.SCHEDULED == await _status(database, session.id)

    async def test_an_event_id_over_64_characters_is_stored_raw_and_its_retry_is_a_duplicate(
        self, client: TestClient, database: Database
    ) -> None:
        """Keyed by its digest, so LiveKit's retry of the same bytes is a duplicate;
        the teacher's join in it decides nothing."""
        session = await _session(database)
        before = await stored(database)
        body = _join_body(event_id="EV_" + "x" * 97)
        first = await post_webhook(client, body)
        again = await post_webhook(client, body)
        assert [(200, {"status": "accepted"}), (200, {"status": "duplicate"})] == [
            (first.status, await first.json()),
            (again.status, await again.json()),
        ]
        ((key, raw, _, _, state),) = await _inbox(database)
        assert key.startswith("sha256:") and len(key) <= 64
        assert (body, "ignored") == (raw, state)
        assert {**before, "inbox": 1} == await stored(database)
        assert Status.SCHEDULED == await _status(database, session.id)

    @pytest.mark.parametrize("depth", [65, 100_000], ids=["65-levels", "100000-levels"])
    async def test_a_body_nested_deeper_than_64_levels_is_a_400_in_the_error_shape(
        self, client: TestClient, database: Database, depth: int
    ) -> None:
        """Refused before it is decoded (no RecursionError, no plain-text 500)."""
        response = await post_webhook(client, _nested(depth))
        assert 400 == response.status
        assert response.content_type == "application/json"
        assert {
            "error": {
                "code": "bad_request",
                "message": "the body is not a WebhookEvent",
                "details": {"body": "nested deeper than 64 levels"},
            }
        } == await response.json()
        assert NOTHING == await stored(database)

    async def test_a_body_nested_exactly_64_levels_is_accepted(
        self, client: TestClient, database: Database
    ) -> None:
        """The limit itself is allowed (brackets inside strings do not count)."""
        body = _nested(64).replace(b'"x"', b'"[[[[{{{{"')
        response = await post_webhook(client, body)
        assert (200, {"status": "accepted"}) == (response.status, await response.json())


# --- fresh reads under load ------------------------------------------------------


@contextlib.asynccontextmanager
async def _background_load(client: TestClient, workers: int = 4) -> AsyncIterator[list[int]]:
    """Signed, distinct joins to other rooms, posted back to back by `workers` tasks
    (each posting one at a time, as LiveKit's per-room senders do) until the block
    ends; yields the running count of their 200s."""
    answered = [0]
    stop = asyncio.Event()

    async def worker(w: int) -> None:
        n = 0
        while not stop.is_set():
            room = f"QSE-9-{w:03d}{n % 50:03d}"
            body = encode(
                webhook_event(
                    "participant_joined",
                    created_at=at(-1),
                    room=room_info(room, sid=f"RM_load{w}"),
                    participant=participant_info(f"PA_{w}_{n}", f"{10 + n % 3}", joined_at=at(-1)),
                )
            )
            response = await post_webhook(client, body, project=False)
            assert 200 == response.status
            answered[0] += 1
            n += 1

    tasks = [asyncio.create_task(worker(w)) for w in range(workers)]
    try:
        while answered[0] < 2 * workers:  # the load is flowing before the test acts
            await asyncio.sleep(0)
            if any(t.done() for t in tasks):
                break
        yield answered
    finally:
        stop.set()
        await asyncio.gather(*tasks)


class TestNoStaleReadsUnderLoad:
    async def test_a_read_right_after_a_teachers_join_shows_the_session_ongoing(
        self, client: TestClient, database: Database
    ) -> None:
        """The background projector is running and other rooms keep it busy; the GET
        issued right after the join's 200 already sees ONGOING."""
        session = await _session(database)
        async with _background_load(client) as answered:
            response = await post_webhook(client, _join_body(), project=False)
            assert 200 == response.status
            status, shape = await call(client, "GET", f"/v1/sessions/{session.id}")
            under_load = answered[0]
        assert 200 == status
        assert ("ongoing", at(-5)) == (
            shape["status"],
            datetime.fromisoformat(shape["started_at"].replace("Z", "+00:00")),
        )
        assert under_load > 8  # the read did happen while the other rooms were posting

    async def test_an_attendance_read_right_after_a_leave_shows_that_interval(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The student's leave at S+30, read at once: the interval ends there."""
        session = await _session(database)
        clock.set(at(31))
        async with _background_load(client):
            for body in (
                _join_body(),
                joined(ROOM, "PA_2", "10", at(1)),
                left(ROOM, "PA_2", "10", at(30), joined_at=at(1)),
            ):
                response = await post_webhook(client, body, project=False)
                assert 200 == response.status
            status, attendance = await call(client, "GET", f"/v1/sessions/{session.id}/attendance")
        assert 200 == status
        (student,) = attendance["students"]
        assert [{"joined_at": "2025-12-01T10:01:00Z", "left_at": "2025-12-01T10:30:00Z"}] == (
            student["intervals"]
        )


class TestAttendanceReadsCheckTheirOwnFreshness:
    """`GET /v1/sessions/{id}/attendance` reads the projection's position in its own
    query instead of the middleware's check: with the background projector stopped,
    only that check can bring what was acknowledged into the answer."""

    async def test_an_ongoing_read_shows_the_join_and_leave_acknowledged_before_it(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The join and leave of a student, acknowledged and not yet projected, are the
        interval of the very next read."""
        session = await _session(database)
        await client.app[PROJECTOR].stop()
        clock.set(at(31))
        for body in (
            _join_body(),
            joined(ROOM, "PA_2", "10", at(1)),
            left(ROOM, "PA_2", "10", at(30), joined_at=at(1)),
        ):
            assert 200 == (await post_webhook(client, body, project=False)).status
        status, attendance = await call(client, "GET", f"/v1/sessions/{session.id}/attendance")
        assert 200 == status, attendance
        assert "ongoing" == attendance["status"]
        (student,) = attendance["students"]
        assert [{"joined_at": "2025-12-01T10:01:00Z", "left_at": "2025-12-01T10:30:00Z"}] == (
            student["intervals"]
        )

    async def test_a_finished_read_projects_what_was_acknowledged_before_it(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A finished session's kept answer is one query; when the inbox is ahead of
        the projection that query says so, and the read projects the rest first."""
        session = await _session(database)
        for body in (_join_body(), joined(ROOM, "PA_2", "10", at(1))):
            assert 200 == (await post_webhook(client, body)).status
        clock.set(at(55))
        assert 200 == (await call(client, "POST", f"/v1/sessions/{session.id}/complete"))[0]
        await client.app[PROJECTOR].stop()
        other = joined("QSE-1-000999", "PA_9", "11", at(50))
        assert 200 == (await post_webhook(client, other, project=False)).status
        async with database.reading() as uow:
            position, newest = await uow.projection.positions()
        assert position < newest

        status, attendance = await call(client, "GET", f"/v1/sessions/{session.id}/attendance")

        assert (200, "completed") == (status, attendance["status"])
        async with database.reading() as uow:
            assert (newest, newest) == await uow.projection.positions()


# --- metrics ---------------------------------------------------------------------


def _sample(text_: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text_, re.MULTILINE)
    assert match is not None, f"{name} is not in /metrics"
    return float(match.group(1))


class TestMetrics:
    async def test_projection_lag_ingest_latency_and_group_commit_size_are_exposed(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """With the projector stopped, three stored events are three rows and (the
        clock moved 7 s) seven seconds behind; once projected, nothing is behind. Each
        answer is one ingest observation and one event in a group commit."""
        await client.app[PROJECTOR].stop()
        before = await (await client.get("/metrics")).text()
        ingested = _sample(before, "hudur_webhook_ingest_seconds_count")
        committed = _sample(before, "hudur_inbox_group_commit_events_sum")
        for n in range(3):
            response = await post_webhook(
                client, joined(ROOM, f"PA_{n}", "10", at(n)), project=False
            )
            assert 200 == response.status
        clock.advance(seconds=7)
        behind = await (await client.get("/metrics")).text()
        assert (3, 7) == (
            _sample(behind, "hudur_projection_lag_rows"),
            _sample(behind, "hudur_projection_lag_seconds"),
        )
        assert 3 == _sample(behind, "hudur_webhook_ingest_seconds_count") - ingested
        assert 3 == _sample(behind, "hudur_inbox_group_commit_events_sum") - committed
        latency = _sample(behind, "hudur_webhook_ingest_seconds_sum")
        assert 0 < latency < 60 * _sample(behind, "hudur_webhook_ingest_seconds_count")

        await client.app[PROJECTOR].catch_up()
        caught_up = await (await client.get("/metrics")).text()
        assert (0, 0) == (
            _sample(caught_up, "hudur_projection_lag_rows"),
            _sample(caught_up, "hudur_projection_lag_seconds"),
        )
