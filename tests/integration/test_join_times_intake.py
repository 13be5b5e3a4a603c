"""Absurd event times decide nothing through the real endpoint (CONTRACT 3): a join
time more than 10 min from its event's createdAt gives way to createdAt, and where
`as_of` is not allowed an event dated over 5 min after its receipt is stored
(200 accepted) but decides nothing; `hudur rebuild` derives the same again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from engine.app import create_app
from engine.operations.attendance import session_attendance
from engine.operations.rebuild import rebuild
from engine.settings import Settings
from rules.attendance import AttendanceStatus
from rules.lifecycle import Status
from store.database import Database
from store.schema import Session
from tests.support.clock import ManualClock
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import joined
from tests.support.signed_requests import post_webhook, stored

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
ROOM = "QSE-1-000001"
YEAR_2150 = datetime(2150, 1, 1, tzinfo=UTC)
YEAR_1971 = datetime(1971, 6, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


async def _session(database: Database, **kwargs: Any) -> Session:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        session = await scheduled_session(uow, now=NOW, starts_at=START, **kwargs)
        await uow.commit()
    return session


async def _reload(database: Database, session_id: int) -> Session:
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        uow.session.expunge(session)
        return session


async def _accept(client: TestClient, body: bytes) -> None:
    response = await post_webhook(client, body)
    assert (200, {"status": "accepted"}) == (response.status, await response.json())


class TestJoinTimesFarFromCreatedAt:
    async def test_a_join_dated_2150_starts_the_session_at_its_created_at(
        self, client: TestClient, database: Database
    ) -> None:
        """The teacher's joinedAtMs says 2150, the event was created at S+1:
        started_at is S+1, not 2150."""
        session = await _session(database)
        await _accept(client, joined(ROOM, "PA_T", "5", YEAR_2150, created_at=at(1)))
        reloaded = await _reload(database, session.id)
        assert (Status.ONGOING, at(1)) == (reloaded.status, reloaded.started_at)

    async def test_a_late_join_dated_1971_does_not_make_the_student_present(
        self, client: TestClient, database: Database
    ) -> None:
        """A 30-min lesson: the student joins 25 min in with joinedAtMs in 1971 and
        never leaves: 5 of 30 min from S+25, not present for the whole lesson."""
        session = await _session(database, duration_minutes=30)
        await _accept(client, joined(ROOM, "PA_T", "5", at(0), created_at=at(0)))
        await _accept(client, joined(ROOM, "PA_S", "10", YEAR_1971, created_at=at(25)))
        async with database.uow() as uow:
            reloaded = await uow.sessions.get(session.id)
            assert reloaded is not None
            attendance = await session_attendance(uow, reloaded, now=at(60), finished=True)
            intervals = await uow.intervals.for_session(session.id)
        student = attendance.student(10)
        assert AttendanceStatus.PRESENT != student.verdict.status
        assert [at(25)] == [i.joined_at for i in intervals if i.identity == "10"]


class TestEventsDatedAfterTheirReceipt:
    async def test_where_as_of_is_not_allowed_a_future_event_is_stored_and_decides_nothing(
        self, aiohttp_client: Any, settings: Settings, database: Database
    ) -> None:
        """Received at 9:00, created at S+1 (an hour ahead): 200 accepted and kept in
        the inbox (ignored), but no evidence, no interval, and the session not started.
        One created 5 min after its receipt still counts. A rebuild derives the same."""
        session = await _session(database)
        clock = ManualClock(NOW)
        strict = settings.model_copy(update={"allow_as_of": False})
        client = await aiohttp_client(create_app(strict, clock=clock, database=database))
        await _accept(client, joined(ROOM, "PA_T", "5", at(1), created_at=at(1)))
        counts = await stored(database)
        assert (1, 0, 0) == (counts["inbox"], counts["evidence"], counts["intervals"])
        assert Status.SCHEDULED == (await _reload(database, session.id)).status

        clock.set(at(0))
        await _accept(client, joined(ROOM, "PA_S", "10", at(5), created_at=at(5)))
        async with database.uow() as uow:
            states = sorted(row.state for row in await uow.inbox.all())
            await rebuild(uow, now=at(10), allow_as_of=False)
            rebuilt = await uow.evidence.for_session(session.id)
            await uow.commit()
        assert ["ignored", "processed"] == states
        assert [("10", at(5))] == [(e.identity, e.at) for e in rebuilt]
        reloaded = await _reload(database, session.id)
        assert (Status.ONGOING, at(5)) == (reloaded.status, reloaded.started_at)
